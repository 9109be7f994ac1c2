"""The report's model section: the backtest against baselines, the model's limits, drivers.

Blocks as in :mod:`churnkit.report._sections`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.report._sections import (
    Block,
    Section,
    figure,
    heading,
    not_run,
    note,
    para,
    section,
    table,
)

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.report._format import Words

# backtest columns: metric -> (strings key, decimals)
_BACKTEST_METRICS = {
    "roc_auc": ("col_auc", 3),
    "pr_auc_churned": ("col_prauc", 3),
    "brier": ("col_brier", 3),
    "ece": ("col_ece", 3),
    "top_decile_lift": ("col_lift", 2),
}
# a model whose calibration error is above this is said to rank better than it measures
_ECE_WARN = 0.05
# the simple models the GBM must beat, and the order models are listed in
_BASELINES = ["recency", "bgnbd", "rfm_logit"]
_MODEL_ORDER = ["gbm", "survival", "bgnbd", "rfm_logit", "recency"]
# a baseline this close to the model (ROC AUC) is worth a sentence
_BASELINE_CLOSE = 0.02
# first-time buyers are "harder" when their AUC trails the repeat buyers' by this much
_FIRST_TIME_GAP = 0.03


def latest_backtest(backtest: pd.DataFrame) -> tuple[pd.DataFrame, Any, int]:
    """The rows of the latest test cutoff, that cutoff and the number of test cutoffs."""
    cutoffs = sorted(backtest["cutoff"].unique())
    return backtest[backtest["cutoff"] == cutoffs[-1]], cutoffs[-1], len(cutoffs)


def backtest_rows(w: Words, latest: pd.DataFrame) -> list[list[str]]:
    """One row per population and model: ROC AUC with its interval, then the other metrics."""
    rows = []
    rank = {m: i for i, m in enumerate(_MODEL_ORDER)}
    latest = latest.assign(_rank=latest["model"].map(rank).fillna(len(rank)))
    latest = latest.sort_values(["population", "_rank"], kind="stable")
    shown = None
    for (population, model), part in latest.groupby(["population", "model"], sort=False):
        m = part.set_index("metric")
        # the population once, at the top of its group of rows
        cells = [
            w.label("pop", str(population)) if population != shown else "",
            w.label("model", str(model)),
        ]
        shown = population
        for metric, (_, decimals) in _BACKTEST_METRICS.items():
            if metric not in m.index:
                cells.append("–")
                continue
            value = w.num(m.at[metric, "value"], decimals)
            if metric == "roc_auc":
                lo, hi = w.num(m.at[metric, "lo"], decimals), w.num(m.at[metric, "hi"], decimals)
                value = f"{value} ({lo}–{hi})"
            cells.append(value)
        rows.append(cells)
    return rows


def limits(w: Words, latest: pd.DataFrame, excluded: dict[str, int]) -> list[str]:
    """What the numbers say the model cannot do, in sentences (only those the data supports)."""
    out = []
    auc = latest[latest["metric"] == "roc_auc"].pivot_table("value", "model", "population")
    if "gbm" in auc.index and {"first_time", "loyal"} <= set(auc.columns):
        ft, loyal = auc.at["gbm", "first_time"], auc.at["gbm", "loyal"]
        if ft < loyal - _FIRST_TIME_GAP:
            out.append(w("limit_first_time", ft=w.num(ft, 2), loyal=w.num(loyal, 2)))
    ece = latest[(latest["metric"] == "ece") & (latest["model"] == "gbm")]
    for r in ece.itertuples(index=False):
        if r.value > _ECE_WARN:
            out.append(
                w(
                    "limit_calibration",
                    population=w.label("pop", r.population),
                    ece=w.num(r.value, 3),
                )
            )
    baselines = auc.index.intersection(_BASELINES)
    if "gbm" in auc.index and len(baselines):
        for population in auc.columns:
            best = auc.loc[baselines, population].dropna()
            model_auc = auc.at["gbm", population]
            if len(best) and best.max() >= model_auc - _BASELINE_CLOSE:
                out.append(
                    w(
                        "limit_baseline",
                        population=w.label("pop", population),
                        baseline=w.label("model", str(best.idxmax())),
                        baseline_auc=w.num(best.max(), 3),
                        model_auc=w.num(model_auc, 3),
                    )
                )
    if excluded:
        what = ", ".join(f"{w.label('pop', k)}: {w.num(v)}" for k, v in excluded.items())
        out.append(w("limit_excluded", what=what))
    out.append(w("limit_general"))
    return out


def driver_counts(scores: pd.DataFrame, top: int = 8) -> pd.Series:
    """How often each kind of top driver is named; numbers in the phrases are masked ("N")."""
    first = scores["driver_1"].dropna().astype(str)
    kinds = first.map(lambda s: re.sub(r"\d[\d.,]*", "N", s))
    return kinds.value_counts().head(top)


def models_section(
    w: Words,
    folder: Path,
    *,
    backtest: pd.DataFrame | None,
    validation: pd.DataFrame | None,
    scores: pd.DataFrame | None,
    model_figures: dict[str, Path],
) -> Section:
    """Backtest against the baselines, calibration, SHAP drivers and the model's limits."""
    import shutil

    if backtest is None and validation is None:
        return not_run("models", w("models"), w, "no_backtest")
    blocks: list[Block] = []
    if backtest is not None and len(backtest):
        latest, cutoff, n = latest_backtest(backtest)
        blocks.append(para(w("models_intro", n_cutoffs=n, cutoff=w.date(cutoff))))
        blocks.append(heading(w("backtest")))
        cols = [w("col_population"), w("col_model")]
        cols += [w(key) for key, _ in _BACKTEST_METRICS.values()]
        blocks.append(
            table(
                cols,
                backtest_rows(w, latest),
                align=["left", "left", *["right"] * 5],
                widths=["1fr", "auto", *["auto"] * 5],
            )
        )
    else:
        latest = None
        blocks.append(note(w("not_run", what=w("no_backtest"))))
    if validation is not None and len(validation):
        blocks.append(heading(w("calibration")))
        blocks.append(para(w("calibration_intro")))
        rows = [
            [
                w.label("pop", r["population"]),
                w.num(r["n"]),
                w.share(r["base_rate"], 1),
                w.num(r["roc_auc"], 3),
                w.num(r["ece_raw"], 3),
                w.num(r["ece_calibrated"], 3),
                str(r.get("survival_kind", "–")),
            ]
            for r in validation.to_dict("records")
        ]
        cols = ["col_population", "col_n", "col_base_rate", "col_auc_plain"]
        cols += ["col_ece_raw", "col_ece_cal", "col_survival"]
        blocks.append(table([w(c) for c in cols], rows))
    if scores is not None and "driver_1" in scores and scores["driver_1"].notna().any():
        blocks.append(heading(w("drivers")))
        blocks.append(para(w("drivers_intro")))
        counts = driver_counts(scores)
        rows = [[kind, w.num(n)] for kind, n in counts.items()]
        blocks.append(table([w("col_driver"), w("col_count")], rows, widths=["1fr", "auto"]))
    for name, src in sorted(model_figures.items()):
        if name.startswith("shap_") and Path(src).exists():
            dest = folder / "figures" / f"{name}.svg"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            population = w.label("pop", name.removeprefix("shap_"))
            blocks.append(figure(dest, folder, f"SHAP: {population}", 80))
    if latest is not None:
        excluded = {} if scores is None else dict(scores.attrs.get("excluded", {}))
        blocks.append(heading(w("limits")))
        blocks.append({"type": "list", "items": limits(w, latest, excluded)})
    return section("models", w("models"), blocks)
