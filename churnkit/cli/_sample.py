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
    split_list,
)
from churnkit.core._errors import ChurnkitError, ConfigError

__all__ = ["register"]

ScoresArg = Annotated[
    Path,
    typer.Argument(help="Scores: the folder `churnkit score` wrote, or a CSV/Parquet file."),
]
QuotaOpt = Annotated[
    list[str],
    typer.Option(
        "--quota",
        "-q",
        help="Interviews: a total (300), or per stratum 'loyal|high=100' (repeatable).",
    ),
]


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


# the options of ``churnkit sample`` (one line each in the command's signature)
CustomersFileOpt = Annotated[
    Path, typer.Option("--customers", help="Customers file (CSV/Parquet): consent, contacts.")
]
OrdersFileOpt = Annotated[
    Path | None, typer.Option(help="Orders file, for the interviewer context (optional).")
]
StrataOpt = Annotated[str, typer.Option(help="Comma-separated strata columns.")]
AllocationOpt = Annotated[str, typer.Option(help="How a total is split: proportional or equal.")]
ReserveOpt = Annotated[float, typer.Option(help="Reserves per quota case.")]
PopulationsOpt = Annotated[str, typer.Option(help="Comma-separated populations.")]
SegmentsOpt = Annotated[
    str | None,
    typer.Option(help="Comma-separated lifecycle segments to sample from (default: all)."),
]
ThresholdOpt = Annotated[float | None, typer.Option(help="Predicted churner: p_churn >= this.")]
TopShareOpt = Annotated[
    float | None,
    typer.Option(
        help="Predicted churner: the top share of each population (not with --threshold)."
    ),
]
ContrastOpt = Annotated[int, typer.Option(help="Low-risk contrast cases per population.")]
DoNotContactOpt = Annotated[
    Path | None, typer.Option(help="Do-not-contact list (customer_id / phone / email).")
]
HistoryOpt = Annotated[Path | None, typer.Option(help="Past contacts: customer_id, contacted_at.")]
WindowOpt = Annotated[int, typer.Option(help="Exclude customers contacted within this many days.")]
ViaOpt = Annotated[str, typer.Option(help="Usable contact channels: phone,email.")]
LanguagesOpt = Annotated[str, typer.Option(help="Interview guide languages.")]
DrawSeedOpt = Annotated[int, typer.Option(help="Random seed of the draw.")]
IdKeyOpt = Annotated[
    str | None,
    typer.Option(help="Environment variable holding a secret key for the sample ids."),
]
SampleOutOpt = Annotated[Path, typer.Option(help="Output folder.")]


def sample(
    scores: ScoresArg,
    customers: CustomersFileOpt,
    quota: QuotaOpt,
    customer_maps: CustomerMapOpt = None,
    orders: OrdersFileOpt = None,
    maps: MapOpt = None,
    strata: StrataOpt = "population,risk_band",
    allocation: AllocationOpt = "proportional",
    reserve_ratio: ReserveOpt = 3.0,
    populations: PopulationsOpt = "loyal,first_time",
    segments: SegmentsOpt = None,
    threshold: ThresholdOpt = None,
    top_share: TopShareOpt = None,
    contrast: ContrastOpt = 0,
    do_not_contact: DoNotContactOpt = None,
    contact_history: HistoryOpt = None,
    contact_window_days: WindowOpt = 180,
    contact_via: ViaOpt = "phone,email",
    as_of: AsOfOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    languages: LanguagesOpt = "ru,en",
    seed: DrawSeedOpt = 0,
    id_key_env: IdKeyOpt = None,
    out: SampleOutOpt = Path("churnkit-output/sample"),
) -> None:
    """Draw a stratified interview sample of predicted churners and export it for fielding."""
    from churnkit.pipeline.stages import sample_stage
    from churnkit.pipeline.stages._folders import read_scores
    from churnkit.sample._design import SampleDesign
    from churnkit.sample._precision import ASSUMED_YIELD, design_precision

    def run() -> None:
        id_key = _id_key(id_key_env)
        design = SampleDesign.of(
            quotas=parse_quotas(quota),
            strata=split_list(strata),
            allocation=allocation,
            reserve_ratio=reserve_ratio,
            populations=split_list(populations),
            segments=None if segments is None else split_list(segments),
            # the default definition is p_churn >= 0.5, unless the top share is asked for
            threshold=0.5 if threshold is None and top_share is None else threshold,
            top_share=top_share,
            contrast=contrast,
            contact_window_days=contact_window_days,
            contact_via=split_list(contact_via),
        )
        with _steps(("load", "draw")) as step:
            step("load")
            score_frame = read_scores(scores)
            log, customer_frame = _customers(
                customers, customer_maps, orders, maps, as_of, sep, encoding, date_format
            )
            step("draw")
            inputs = {"scores": scores, "customers": customers, "orders": orders}
            inputs |= {"do_not_contact": do_not_contact, "contact_history": contact_history}
            draw = sample_stage(
                score_frame,
                customer_frame,
                out,
                design=design,
                seed=seed,
                log=log,
                do_not_contact=do_not_contact,
                contact_history=contact_history,
                as_of=as_of,
                id_key=id_key,
                languages=split_list(languages),
                inputs={k: v for k, v in inputs.items() if v is not None},
            )
        _print_table("Frame", draw.frame_report, ["reason", "excluded", "remaining"])
        _print_table("Strata", draw.strata, ["stratum", "eligible", "quota", "weight", "reserves"])
        _print_precision(*design_precision(draw.strata, ASSUMED_YIELD))
        out_console.print(f"Sample written to [bold]{out}[/bold]")

    _guarded(run)


def _id_key(env: str | None) -> str | None:
    """The secret key of the sample ids, from the environment variable named ``env``."""
    if env is None:
        return None
    key = os.environ.get(env)
    if not key:
        raise ConfigError(f"--id-key-env {env}: that environment variable is empty.")
    return key


def _customers(
    customers: Path,
    customer_maps: list[str] | None,
    orders: Path | None,
    maps: list[str] | None,
    as_of: str | None,
    sep: str | None,
    encoding: str | None,
    date_format: str | None,
) -> tuple[Any, Any]:
    """The orders' log (with ``--orders``, for the interviewer context) and the customers."""
    from churnkit.io._customers import load_customers

    if orders is not None:
        log, _ = _load(orders, maps, customers, customer_maps, as_of, sep, encoding, date_format)
        return log, log.customers
    frame = load_customers(
        customers,
        columns=_parse_mapping(customer_maps, "--customer-map"),
        sep=sep,
        encoding=encoding,
        date_format=date_format,
    )
    return None, frame


def sample_status(
    folder: Annotated[Path, typer.Argument(help="The sample folder `churnkit sample` wrote.")],
    tracker: Annotated[
        Path | None,
        typer.Option(help="The filled tracker (analysis.xlsx or .csv); none before fieldwork."),
    ] = None,
    assumed_yield: Annotated[
        float, typer.Option(help="Interviews per closed case assumed until enough are closed.")
    ] = 0.3,
    out: Annotated[
        Path | None, typer.Option(help="Also write the status tables into this folder.")
    ] = None,
) -> None:
    """Report how precise the matrix will be, completion per stratum, response rates and which
    reserves to release next."""
    from churnkit.sample._status import sample_status as compute

    def run() -> None:
        if not (folder / "strata.csv").exists():
            raise ChurnkitError(
                f"{folder} has no strata.csv; pass the folder `churnkit sample` wrote."
            )
        status = compute(folder, tracker, assumed_yield=assumed_yield)
        _print_precision(status.precision, status.warnings)
        if tracker is None:
            out_console.print(
                f"No tracker yet: every main case counts as open, {assumed_yield:.0%} of "
                "released cases as interviews (--assumed-yield). Pass --tracker once "
                "fieldwork starts."
            )
            return
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


def _print_precision(table: Any, warnings: list[str]) -> None:
    """The expected precision of each matrix column, then the warnings, before fieldwork."""
    shown = table.assign(
        interviews=table["interviews"].round().astype(int),
        effective_n=table["n_kish"].round().astype(int),
        at_20pct=table["halfwidth_20"].map(lambda h: f"±{h:.0%}"),
        at_50pct=table["halfwidth_50"].map(lambda h: f"±{h:.0%}"),
    )
    columns = ["segment", "interviews", "effective_n", "at_20pct", "at_50pct", "flags"]
    _print_table("Expected precision of the retention matrix (95% intervals)", shown, columns)
    for warning in warnings:
        out_console.print(f"[bold yellow]Precision[/bold yellow] {warning}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
