"""``churnkit backtest | fit | score``: the churn-model commands.

Added to the main app by :func:`register`; they share the loading options, the error
discipline (exit code 2 and one paragraph, ``--debug`` for the traceback) and the progress
display of :mod:`churnkit.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnkit.cli._common import (
    AsOfOpt,
    CustomerMapOpt,
    CustomersOpt,
    DateFormatOpt,
    EncodingOpt,
    MapOpt,
    OrdersArg,
    SepOpt,
    _guarded,
    _load,
    _print_table,
    _steps,
    out_console,
)

__all__ = ["register"]

CutoffsOpt = Annotated[
    str,
    typer.Option(
        help="Cutoffs: comma-separated dates (2023-06-30,2023-09-30,...) or START:END:FREQ, "
        "e.g. 2023-03-31:2024-09-30:QE."
    ),
]
HorizonOpt = Annotated[int, typer.Option(help="Churn window in days after each cutoff.")]
SeedOpt = Annotated[int, typer.Option(help="Random seed.")]


def _cutoffs(text: str) -> list[str]:
    """Parse ``--cutoffs``: a comma list of dates or ``START:END:FREQ`` (pandas frequency)."""
    import pandas as pd

    from churnkit.core._errors import ChurnkitError

    if text.count(":") == 2:
        start, end, freq = text.split(":")
        try:
            days = pd.date_range(start, end, freq=freq)
        except (TypeError, ValueError) as e:
            raise ChurnkitError(
                f"--cutoffs {text!r}: expected START:END:FREQ such as 2023-03-31:2024-09-30:QE "
                f"({e})."
            ) from e
        return [str(d.date()) for d in days]
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise ChurnkitError("--cutoffs is empty; pass dates such as 2023-06-30,2023-12-31.")
    return values


def register(app: typer.Typer) -> None:
    """Add the ``backtest``, ``fit`` and ``score`` commands to ``app``."""
    for command in (backtest, fit, score):
        app.command()(command)


def backtest(
    orders: OrdersArg,
    cutoffs: CutoffsOpt,
    maps: MapOpt = None,
    customers: CustomersOpt = None,
    customer_maps: CustomerMapOpt = None,
    as_of: AsOfOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    horizon: HorizonOpt = 90,
    models: Annotated[
        str, typer.Option(help="Comma-separated: gbm,survival,bgnbd,rfm_logit,recency.")
    ] = "gbm,survival,bgnbd,rfm_logit,recency",
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 200,
    seed: SeedOpt = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/backtest"),
) -> None:
    """Temporal backtest: train on earlier cutoffs, measure each model on later ones."""
    from churnkit.pipeline.stages import backtest_stage

    def run() -> None:
        with _steps(("load", "backtest")) as step:
            step("load")
            log, _ = _load(
                orders, maps, customers, customer_maps, as_of, sep, encoding, date_format
            )
            step("backtest")
            table = backtest_stage(
                log,
                out,
                _cutoffs(cutoffs),
                horizon=horizon,
                models=tuple(m.strip() for m in models.split(",") if m.strip()),
                n_boot=n_boot,
                seed=seed,
                inputs={"orders": orders},
            )
        auc = table[table["metric"] == "roc_auc"].copy()
        auc["cutoff"] = auc["cutoff"].dt.date.astype(str)
        _print_table(
            "ROC-AUC on later cutoffs",
            auc,
            ["model", "population", "cutoff", "value", "lo", "hi", "n"],
        )
        out_console.print(f"Backtest written to [bold]{out}[/bold]")

    _guarded(run)


def fit(
    orders: OrdersArg,
    cutoffs: CutoffsOpt,
    maps: MapOpt = None,
    customers: CustomersOpt = None,
    customer_maps: CustomerMapOpt = None,
    as_of: AsOfOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    horizon: HorizonOpt = 90,
    seed: SeedOpt = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/model"),
) -> None:
    """Fit the churn model (GBM + survival per population) on stacked cutoffs and save it."""
    from churnkit.pipeline.stages import fit_stage

    def run() -> None:
        with _steps(("load", "fit")) as step:
            step("load")
            log, _ = _load(
                orders, maps, customers, customer_maps, as_of, sep, encoding, date_format
            )
            step("fit")
            model = fit_stage(
                log,
                out,
                _cutoffs(cutoffs),
                horizon=horizon,
                seed=seed,
                inputs={"orders": orders},
            )
        _print_table(
            "Held-out cutoff",
            model.validation_,
            ["population", "n", "base_rate", "roc_auc", "ece_calibrated"],
        )
        out_console.print(f"Model written to [bold]{out / 'model'}[/bold]")

    _guarded(run)


def score(
    orders: OrdersArg,
    model: Annotated[Path, typer.Option(help="Model folder written by `churnkit fit`.")],
    maps: MapOpt = None,
    customers: CustomersOpt = None,
    customer_maps: CustomerMapOpt = None,
    as_of: AsOfOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    at: Annotated[
        str | None, typer.Option(help="Score as of this date (default: as-of / last order).")
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="Output format: parquet or csv.")
    ] = "parquet",
    drivers: Annotated[
        str, typer.Option(help="Whose drivers to explain: high, all or none.")
    ] = "high",
    lang: Annotated[str, typer.Option(help="Language of the drivers: en or ru.")] = "en",
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/scores"),
) -> None:
    """Score customers: churn probability, risk band, value at risk and top drivers."""
    from churnkit.pipeline.stages import score_stage

    def run() -> None:
        with _steps(("load", "score")) as step:
            step("load")
            log, _ = _load(
                orders, maps, customers, customer_maps, as_of, sep, encoding, date_format
            )
            step("score")
            scores = score_stage(
                model,
                log,
                out,
                at=at,
                file_format=file_format,  # type: ignore[arg-type]
                drivers=drivers,  # type: ignore[arg-type]
                lang=lang,  # type: ignore[arg-type]
                inputs={"orders": orders},
            )
        bands = (
            scores.groupby(["population", "risk_band"], observed=True)
            .agg(customers=("customer_id", "size"), value_at_risk=("value_at_risk", "sum"))
            .reset_index()
            .astype({"risk_band": str})
        )
        _print_table("Scores", bands, list(bands.columns))
        excluded = scores.attrs.get("excluded", {})
        if excluded:
            out_console.print(f"Left out (population not modelled): {excluded}")
        out_console.print(f"Scores written to [bold]{out}[/bold]")

    _guarded(run)
