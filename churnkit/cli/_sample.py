"""``churnkit sample`` and ``churnkit sample-status``: draw an interview sample, track fielding.

``register(app)`` adds both commands to the ``churnkit`` Typer app (see :mod:`churnkit.cli`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from churnkit.cli._common import (
    AsOfOpt,
    CustomerMapOpt,
    DateFormatOpt,
    EncodingOpt,
    MapOpt,
    SepOpt,
    _guarded,
    _load,
    _parse_mapping,
    _print_table,
    _steps,
    out_console,
)
from churnkit.core._errors import ChurnkitError, ConfigError

__all__ = ["register"]

ScoresArg = Annotated[
    Path, typer.Argument(help="Scores (ChurnModel.score output) as CSV or Parquet.")
]
QuotaOpt = Annotated[
    list[str],
    typer.Option(
        "--quota",
        "-q",
        help="Interviews: a total (300), or per stratum 'loyal|high=100' (repeatable).",
    ),
]


def read_scores(path: Path) -> Any:
    """Scores from CSV or Parquet, with ``customer_id`` as text and ``scored_at`` as a date."""
    import pandas as pd

    if path.suffix.lower() in (".parquet", ".pq") or path.is_dir():
        scores = pd.read_parquet(path)
    else:
        scores = pd.read_csv(path, dtype={"customer_id": str, "segment": str})
    scores["customer_id"] = scores["customer_id"].astype(str)
    if "scored_at" in scores.columns:
        scores["scored_at"] = pd.to_datetime(scores["scored_at"])
    return scores


def parse_quotas(values: list[str]) -> int | dict[str, int]:
    """``["300"]`` -> 300; ``["loyal|high=100", ...]`` -> ``{"loyal|high": 100, ...}``.

    Examples
    --------
    >>> parse_quotas(["loyal|high=100", "first_time|high=50"])
    {'loyal|high': 100, 'first_time|high': 50}
    """
    if len(values) == 1 and values[0].strip().isdigit():
        return int(values[0])
    out: dict[str, int] = {}
    for value in values:
        stratum, sep, number = value.rpartition("=")
        if not sep or not stratum.strip() or not number.strip().isdigit():
            raise ConfigError(
                f"--quota {value!r}: give one total (--quota 300) or one stratum=number per "
                "option (--quota 'loyal|high=100' --quota 'first_time|high=50')."
            )
        out[stratum.strip()] = int(number)
    return out


def register(app: typer.Typer) -> None:
    """Add ``sample`` and ``sample-status`` to ``app``."""
    app.command("sample")(sample)
    app.command("sample-status")(sample_status)


def sample(
    scores: ScoresArg,
    customers: Annotated[
        Path, typer.Option(help="Customers file (CSV/Parquet): consent, contacts.")
    ],
    quota: QuotaOpt,
    customer_maps: CustomerMapOpt = None,
    orders: Annotated[
        Path | None, typer.Option(help="Orders file, for the interviewer context (optional).")
    ] = None,
    maps: MapOpt = None,
    strata: Annotated[
        str, typer.Option(help="Comma-separated strata columns.")
    ] = "population,risk_band",
    allocation: Annotated[
        str, typer.Option(help="How a total is split: proportional or equal.")
    ] = "proportional",
    reserve_ratio: Annotated[float, typer.Option(help="Reserves per quota case.")] = 3.0,
    populations: Annotated[str, typer.Option(help="Comma-separated populations.")] = (
        "loyal,first_time"
    ),
    segments: Annotated[
        str | None,
        typer.Option(help="Comma-separated lifecycle segments to sample from (default: all)."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Predicted churner: p_churn >= this.")
    ] = None,
    top_share: Annotated[
        float | None,
        typer.Option(
            help="Predicted churner: the top share of each population (not with --threshold)."
        ),
    ] = None,
    contrast: Annotated[int, typer.Option(help="Low-risk contrast cases per population.")] = 0,
    do_not_contact: Annotated[
        Path | None, typer.Option(help="Do-not-contact list (customer_id / phone / email).")
    ] = None,
    contact_history: Annotated[
        Path | None, typer.Option(help="Past contacts: customer_id, contacted_at.")
    ] = None,
    contact_window_days: Annotated[
        int, typer.Option(help="Exclude customers contacted within this many days.")
    ] = 180,
    contact_via: Annotated[
        str, typer.Option(help="Usable contact channels: phone,email.")
    ] = "phone,email",
    as_of: AsOfOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    languages: Annotated[str, typer.Option(help="Interview guide languages.")] = "ru,en",
    seed: Annotated[int, typer.Option(help="Random seed of the draw.")] = 0,
    id_key_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding a secret key for the sample ids."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/sample"),
) -> None:
    """Draw a stratified interview sample of predicted churners and export it for fielding."""
    from churnkit.io._customers import load_customers
    from churnkit.sample._draw import draw_interview_sample
    from churnkit.sample._export import export_interview_sample

    def run() -> None:
        id_key = None
        if id_key_env is not None:
            id_key = os.environ.get(id_key_env)
            if not id_key:
                raise ConfigError(f"--id-key-env {id_key_env}: that environment variable is empty.")
        with _steps(("load", "draw", "export")) as step:
            step("load")
            score_frame = read_scores(scores)
            log = None
            if orders is not None:
                log, _ = _load(
                    orders, maps, customers, customer_maps, as_of, sep, encoding, date_format
                )
                customer_frame = log.customers
            else:
                customer_frame = load_customers(
                    customers,
                    columns=_parse_mapping(customer_maps, "--customer-map"),
                    sep=sep,
                    encoding=encoding,
                    date_format=date_format,
                )
            step("draw")
            draw = draw_interview_sample(
                score_frame,
                customer_frame,
                quotas=parse_quotas(quota),
                strata=_split(strata),
                allocation=allocation,  # type: ignore[arg-type]
                reserve_ratio=reserve_ratio,
                populations=_split(populations),
                segments=None if segments is None else _split(segments),
                threshold=0.5 if threshold is None and top_share is None else threshold,
                top_share=top_share,
                contrast=contrast,
                do_not_contact=do_not_contact,
                contact_history=contact_history,
                contact_window_days=contact_window_days,
                contact_via=_split(contact_via),
                as_of=as_of,
                log=log,
                seed=seed,
                id_key=id_key,
            )
            step("export")
            inputs = {"scores": scores, "customers": customers}
            for name, path in (
                ("orders", orders),
                ("do_not_contact", do_not_contact),
                ("contact_history", contact_history),
            ):
                if path is not None:
                    inputs[name] = path
            export_interview_sample(draw, out, inputs=inputs, languages=_split(languages))
        _print_table("Frame", draw.frame_report, ["reason", "excluded", "remaining"])
        _print_table(
            "Strata",
            draw.strata,
            ["stratum", "eligible", "quota", "weight", "reserves"],
        )
        out_console.print(f"Sample written to [bold]{out}[/bold]")

    _guarded(run)


def sample_status(
    folder: Annotated[Path, typer.Argument(help="The sample folder `churnkit sample` wrote.")],
    tracker: Annotated[Path, typer.Option(help="The filled tracker (analysis.xlsx or .csv).")],
    assumed_yield: Annotated[
        float, typer.Option(help="Interviews per closed case assumed until enough are closed.")
    ] = 0.3,
    out: Annotated[
        Path | None, typer.Option(help="Also write the status tables into this folder.")
    ] = None,
) -> None:
    """Report completion per stratum, response rates and which reserves to release next."""
    from churnkit.sample._status import sample_status as compute

    def run() -> None:
        if not (folder / "strata.csv").exists():
            raise ChurnkitError(
                f"{folder} has no strata.csv; pass the folder `churnkit sample` wrote."
            )
        status = compute(folder, tracker, assumed_yield=assumed_yield)
        _print_table(
            "Fielding by stratum",
            status.by_stratum,
            ["stratum", "quota", "completed", "open", "not_churned", "response_rate", "to_release"],
        )
        t = status.totals
        out_console.print(
            f"{t['completed']}/{t['quota']} interviews; response rate "
            f"{_pct(t['response_rate'])}; not churned {t['not_churned']} "
            f"({_pct(t['not_churned_share'])} of those reached) — evidence about the model."
        )
        if t["unreachable_strata"]:
            out_console.print(
                f"[bold yellow]Quota out of reach[/bold yellow] in {', '.join(t['unreachable_strata'])}: "
                "every reserve is used. Accept fewer interviews there (re-weight by completed "
                "interviews), or draw again with the same inputs and seed and a larger "
                "--reserve-ratio: the cases keep their ids and ranks, new reserves follow them."
            )
        if len(status.release_next):
            _print_table(
                "Release next", status.release_next, ["stratum", "reserve_rank", "sample_id"]
            )
        else:
            out_console.print("No reserves to release now.")
        if out is not None:
            status.write(out)
            out_console.print(f"Status written to [bold]{out}[/bold]")

    _guarded(run)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
