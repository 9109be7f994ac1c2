"""The model stages: backtest (models against baselines on later cutoffs), fit, score."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from churnkit.core._errors import ChurnkitError
from churnkit.core._outputs import (
    atomic_folder,
    write_csv,
    write_figure,
    write_json,
    write_manifest,
)
from churnkit.pipeline.stages._folders import PathLike

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog
    from churnkit.models._churn_model import ChurnModel

__all__ = ["backtest_stage", "fit_stage", "score_stage"]


def backtest_stage(
    log: TransactionLog,
    out: PathLike,
    cutoffs: Any,
    *,
    horizon: int = 90,
    models: tuple[str, ...] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    inputs: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Run :func:`churnkit.models._backtest.backtest` and write ``backtest.csv`` and a summary.

    ``backtest_summary.csv`` pivots the point estimates (rows model × population × cutoff,
    one column per metric) for reading; ``backtest.csv`` keeps the intervals.

    Examples
    --------
    >>> backtest_stage(log, "out/backtest", ["2023-06-30", "2023-12-31", "2024-06-30"])  # doctest: +SKIP
    """
    from churnkit.models._backtest import MODELS, backtest

    chosen = MODELS if models is None else tuple(models)
    table = backtest(log, cutoffs, horizon, chosen, n_boot=n_boot, seed=seed)
    summary = table.pivot_table(
        "value", ["model", "population", "cutoff"], "metric", sort=True
    ).reset_index()
    with atomic_folder(out) as tmp:
        write_csv(table, tmp / "backtest.csv")
        write_csv(summary, tmp / "backtest_summary.csv")
        write_manifest(
            tmp,
            stage="backtest",
            inputs=inputs or {},
            config={
                "cutoffs": [str(c) for c in cutoffs],
                "horizon": horizon,
                "models": list(chosen),
                "n_boot": n_boot,
            },
            seed=seed,
        )
    return table


def fit_stage(
    log: TransactionLog,
    out: PathLike,
    cutoffs: Any,
    *,
    horizon: int = 90,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
) -> ChurnModel:
    """Fit a :class:`churnkit.ChurnModel` and write it with its validation and figures.

    Writes ``model/`` (:meth:`ChurnModel.save`), ``validation.csv`` (held-out cutoff figures
    per population), ``figures/km_by_segment`` and ``figures/shap_<population>`` (PNG and
    SVG) and ``manifest.json``.
    """
    import matplotlib

    from churnkit.models._churn_model import ChurnModel
    from churnkit.models._plots import plot_km_by_segment, plot_shap_summary
    from churnkit.models._survival import km_table, survival_target

    matplotlib.use("Agg", force=False)
    model = ChurnModel(horizon=horizon, random_state=seed, **(params or {}))
    features = model.features(log, cutoffs)
    target = survival_target(log, features)
    model.fit_features(features, target)
    held_out = features[features["cutoff"] == features["cutoff"].max()]
    with atomic_folder(out) as tmp:
        model.save(tmp / "model")
        write_csv(model.validation_, tmp / "validation.csv")
        figures = tmp / "figures"
        figures.mkdir()
        if "segment" in held_out:
            km = km_table(held_out, target.loc[held_out.index], by="segment")
            write_figure(plot_km_by_segment(km, horizon).figure, figures, "km_by_segment")
        for population in model.boosters_:
            ax = plot_shap_summary(model, held_out, population)
            write_figure(ax.figure, figures, f"shap_{population}")
        write_manifest(
            tmp,
            stage="fit",
            inputs=inputs or {},
            config={"cutoffs": [str(c) for c in cutoffs], "horizon": horizon, **(params or {})},
            seed=seed,
        )
    return model


def score_stage(
    model: ChurnModel | PathLike,
    log: TransactionLog,
    out: PathLike,
    *,
    at: Any = None,
    file_format: Literal["parquet", "csv"] = "parquet",
    drivers: Literal["high", "all", "none"] = "high",
    lang: Literal["en", "ru"] = "en",
    inputs: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Score customers at ``at`` (default: the log's as-of day) and write ``scores.<fmt>``.

    Drivers are phrased in ``lang``.

    Also writes ``score_summary.json``: customers scored per population and risk band, money
    at risk, and the customers left out because the model does not cover their population.
    """
    import pandas as pd

    from churnkit.models._churn_model import ChurnModel

    if file_format not in ("parquet", "csv"):
        raise ChurnkitError(f"file_format must be 'parquet' or 'csv', got {file_format!r}.")
    fitted = model if isinstance(model, ChurnModel) else ChurnModel.load(model)
    day = pd.Timestamp(log.as_of if at is None else at).normalize()
    scores = fitted.score(log, day, drivers=drivers, lang=lang)
    bands = scores.groupby(["population", "risk_band"], observed=True).size()
    summary = {
        "at": str(day.date()),
        "model_version": fitted.version_,
        "customers_scored": len(scores),
        "customers_excluded": scores.attrs.get("excluded", {}),
        "by_population_and_band": {f"{p}/{b}": int(n) for (p, b), n in bands.items()},
        "value_at_risk_total": float(scores["value_at_risk"].sum()),
    }
    with atomic_folder(out) as tmp:
        if file_format == "csv":
            write_csv(scores, tmp / "scores.csv")
        else:
            scores.to_parquet(tmp / "scores.parquet", index=False)
        write_json(summary, tmp / "score_summary.json")
        write_manifest(
            tmp,
            stage="score",
            inputs={
                **(inputs or {}),
                **({} if isinstance(model, ChurnModel) else {"model": Path(model) / "model.json"}),
            },
            config={
                "at": str(day.date()),
                "format": file_format,
                "drivers": drivers,
                "lang": lang,
            },
        )
    return scores
