"""The report's sections as plain data: each function turns stage results into text blocks.

A section is ``{"id", "title", "blocks"}``; a block is a paragraph, a list, a table (cells
already formatted for the language), a row of key figures or an SVG figure. The template
(``churn_report.typ``) only lays them out. A section whose inputs are missing says so in one
line instead of disappearing, so a reader knows what was not run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.report._figures import save_svg

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.matrix._matrix import RetentionMatrix
    from churnkit.report._format import Words

Block = dict[str, Any]
Section = dict[str, Any]

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


def para(text: str) -> Block:
    return {"type": "para", "text": text}


def note(text: str) -> Block:
    return {"type": "note", "text": text}


def heading(text: str) -> Block:
    return {"type": "heading", "text": text}


def table(
    columns: list[str],
    rows: list[list[str]],
    align: list[str] | None = None,
    widths: list[str] | None = None,
    bold_last: bool = False,
) -> Block:
    return {
        "type": "table",
        "columns": columns,
        "rows": rows,
        "align": align or ["left"] + ["right"] * (len(columns) - 1),
        "widths": widths or ["auto"] * len(columns),
        "bold_last": bold_last,
    }


def figure(path: Path, folder: Path, caption: str, width: int = 100) -> Block:
    return {
        "type": "figure",
        "path": path.relative_to(folder).as_posix(),
        "caption": caption,
        "width": f"{width}%",
    }


def section(id_: str, title: str, blocks: list[Block], new_page: bool = True) -> Section:
    return {"id": id_, "title": title, "blocks": blocks, "new_page": new_page}


def not_run(id_: str, title: str, w: Words, what_key: str) -> Section:
    return section(id_, title, [note(w("not_run", what=w(what_key)))], new_page=False)


# -------------------------------------------------------------------------------- page 1
def churners_table(scores: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Scored customers, predicted churners and their value at risk per population, plus total."""
    import pandas as pd

    churn = scores["p_churn"] >= threshold
    frame = pd.DataFrame(
        {
            "population": scores["population"].astype(str),
            "scored": 1,
            "churners": churn.astype(int),
            "money": scores["value_at_risk"].where(churn, 0.0).fillna(0.0),
        }
    )
    out = frame.groupby("population", sort=True).sum()
    out.loc["total"] = out.sum()
    out["share"] = out["churners"] / out["scored"]
    return out.reset_index()


def summary_section(
    w: Words,
    *,
    customers: int | None,
    scores: pd.DataFrame | None,
    threshold: float,
    horizon: int,
    matrix: RetentionMatrix | None,
    fielding: dict[str, Any] | None,
    has_sample: bool,
    titles: dict[str, str],
) -> Section:
    """Page 1: customers, churners by population, money at risk, the 80/20 and what to do."""
    by_pop = None if scores is None else churners_table(scores, threshold)
    split = None if matrix is None else matrix.summary().set_index(["segment", "group"])
    blocks: list[Block] = []
    kpis = _summary_kpis(w, customers, by_pop, split)
    if kpis:
        blocks.append({"type": "kpis", "items": kpis})
    if by_pop is not None:
        blocks += _churner_blocks(w, by_pop, scores.attrs, threshold, horizon)  # type: ignore[union-attr]
    else:
        blocks.append(note(w("not_run", what=w("no_scores"))))
    fruits = None
    if matrix is not None and split is not None:
        fruit_blocks, fruits = _fruit_blocks(w, matrix, split)
        blocks += fruit_blocks
    else:
        blocks.append(note(w("not_run", what=w("no_matrix"))))
    steps = _next_steps(
        w,
        matrix,
        fruits,
        scores,
        threshold,
        horizon,
        fielding,
        has_sample=has_sample,
        titles=titles,
    )
    blocks.append(heading(w("next_steps")))
    blocks.append({"type": "list", "items": steps, "numbered": True})
    return section("summary", w("summary"), blocks)


def _summary_kpis(
    w: Words, customers: int | None, by_pop: pd.DataFrame | None, split: pd.DataFrame | None
) -> list[dict[str, Any]]:
    """The headline figures: customers, predicted churners, money at risk, fixable share."""
    kpis = []
    if customers is not None:
        kpis.append({"value": w.num(customers), "label": w("kpi_customers")})
    if by_pop is not None:
        total = by_pop.set_index("population").loc["total"]
        kpis.append(
            {
                "value": w.num(total["churners"]),
                "label": w("kpi_churners"),
                "note": w.share(total["share"]),
            }
        )
        kpis.append({"value": w.money(total["money"]), "label": w("kpi_money")})
    if split is not None:
        fix = split.loc[("total", "fixable")]
        kpis.append(
            {
                "value": w.share(fix["primary_share"]),
                "label": w("kpi_fixable"),
                "note": f"{w('ci')} {w.interval(fix['primary_low'], fix['primary_high'])}",
            }
        )
    return kpis


def _churner_blocks(
    w: Words, by_pop: pd.DataFrame, attrs: dict[str, Any], threshold: float, horizon: int
) -> list[Block]:
    """Predicted churners and money at risk by population, with the rule that made them."""
    rows = [
        [
            w.label("pop", r.population),
            w.num(r.scored),
            w.num(r.churners),
            w.share(r.share),
            w.money(r.money),
        ]
        for r in by_pop.itertuples(index=False)
    ]
    cols = ["col_population", "col_scored", "col_churners", "col_share", "col_money"]
    widths = ["1fr", "auto", "auto", "auto", "auto"]
    blocks = [
        heading(w("churners_by_population")),
        table([w(c) for c in cols], rows, widths=widths, bold_last=True),
        note(w("churner_rule", horizon=horizon, threshold=w.num(threshold, 2))),
    ]
    if attrs.get("other_segments"):
        left_out = ", ".join(attrs.get("left_out_segments", ["new", "lost"]))
        blocks.append(
            note(w("churner_reach", other=w.num(attrs["other_segments"]), segments=left_out))
        )
    return blocks


def _fruit_blocks(
    w: Words, matrix: RetentionMatrix, split: pd.DataFrame
) -> tuple[list[Block], pd.DataFrame]:
    """The 80/20 sentence and the three fixable reasons with the most money at risk."""
    obv, fix = split.loc[("total", "obvious")], split.loc[("total", "fixable")]
    obvious = matrix.cells.loc[matrix.cells["group"] == "obvious", "code"].unique()
    blocks = [
        para(
            w(
                "split_sentence",
                obvious=", ".join(matrix.codebook.label(c, w.lang).lower() for c in obvious),
                obvious_share=w.share(obv["primary_share"]),
                ci=w("ci"),
                obvious_lo=w.share(obv["primary_low"]),
                obvious_hi=w.share(obv["primary_high"]),
                fixable_share=w.share(fix["primary_share"]),
                fixable_lo=w.share(fix["primary_low"]),
                fixable_hi=w.share(fix["primary_high"]),
                fixable_money=w.money(fix["money_at_risk"]),
            )
        )
    ]
    fruits = matrix.low_hanging_fruit()
    # a reason mentioned but never the main one carries no money: not a fruit to pick
    fruits = fruits[fruits["money_at_risk"] > 0].head(3)
    blocks.append(heading(w("fruits")))
    rows = [
        [
            str(r.rank),
            matrix.codebook.label(r.code, w.lang),
            matrix.codebook.owner_of(r.code, w.lang) or "",
            f"{w.money(r.money_at_risk)} ({w.interval(r.money_low, r.money_high, 'money')})",
            w.share(r.primary_share, 1),
        ]
        for r in fruits.itertuples(index=False)
    ]
    cols = ["col_rank", "col_reason", "col_owner", "col_money_ci", "col_main_reason_share"]
    blocks.append(
        table(
            [w(c) for c in cols],
            rows,
            align=["right", "left", "left", "right", "right"],
            widths=["auto", "1fr", "1fr", "auto", "auto"],
        )
    )
    return blocks, fruits


def _next_steps(
    w: Words,
    matrix: RetentionMatrix | None,
    fruits: pd.DataFrame | None,
    scores: pd.DataFrame | None,
    threshold: float,
    horizon: int,
    fielding: dict[str, Any] | None,
    *,
    has_sample: bool,
    titles: dict[str, str],
) -> list[str]:
    """What to do next: pick the fruits, act on the costliest segments, finish fielding, rerun."""
    steps = []
    if fruits is not None and matrix is not None:
        steps += [
            w(
                "step_fruit",
                owner=matrix.codebook.owner_of(r.code, w.lang) or "—",
                reason=matrix.codebook.label(r.code, w.lang),
                money=w.money(r.money_at_risk),
            )
            for r in fruits.itertuples(index=False)
        ]
    if scores is not None and "segment" in scores:
        churn = scores[scores["p_churn"] >= threshold]
        top = churn.groupby("segment", observed=True)["value_at_risk"].sum().nlargest(2).index
        if len(top):
            from churnkit.segments._rules import segment_label

            names = ", ".join(segment_label(str(s), w.lang) for s in top)
            steps.append(w("step_actions", section=titles["actions"], segments=names))
    if matrix is None and has_sample:
        steps.append(w("step_interviews", section=titles["interviews"]))
    if fielding and fielding.get("completed", 0) < fielding.get("quota", 0):
        steps.append(
            w(
                "step_fielding",
                completed=w.num(fielding["completed"]),
                quota=w.num(fielding["quota"]),
            )
        )
    steps.append(w("step_rerun", horizon=horizon))
    return steps


# -------------------------------------------------------------------------------- segments
# name -> (figure size in inches, caption key, width in % of the text column)
SEGMENT_FIGURES = {
    "segment_sizes": ((8.5, 3.6), "fig_sizes", 100),
    "retention_rates": ((8.5, 3.6), "fig_retention", 100),
    "migration_heatmap": ((6.8, 5.6), "fig_migration", 80),
}


def draw_segment_figures(dynamics: Any, folder: Path, lang: str) -> dict[str, Path]:
    """The segment figures at the report's sizes, as ``folder/<name>.svg``; name -> path."""
    from churnkit.segments._plots import (
        plot_migration_heatmap,
        plot_retention_rates,
        plot_segment_sizes,
    )

    plots = {
        "segment_sizes": plot_segment_sizes,
        "retention_rates": plot_retention_rates,
        "migration_heatmap": plot_migration_heatmap,
    }

    def draw(ax: Any, plot: Any) -> None:
        plot(dynamics, ax=ax, lang=lang)
        ax.set_title("")  # the report's caption says it

    return {
        name: save_svg(
            lambda ax, plot=plot: draw(ax, plot),
            folder / f"{name}.svg",
            SEGMENT_FIGURES[name][0],
        )
        for name, plot in plots.items()
    }


def segments_section(
    w: Words,
    folder: Path,
    profile: pd.DataFrame,
    at: Any,
    dynamics: Any = None,
    figures: dict[str, Path] | None = None,
) -> Section:
    """Segment sizes, month-by-month retention rates and migrations.

    The figures are drawn from ``dynamics`` (:func:`draw_segment_figures`), or copied from
    ``figures`` (name -> SVG drawn by it earlier) when no dynamics are given.
    """
    import shutil

    from churnkit.segments._rules import segment_label

    rows = [
        [
            segment_label(r.segment, w.lang),
            w.num(r.customers),
            w.share(r.share_customers),
            w.money(r.revenue),
            w.num(r.median_recency_days),
        ]
        for r in profile.itertuples(index=False)
    ]
    cols = ["col_segment", "col_customers", "col_share", "col_revenue_365", "col_recency"]
    blocks = [
        para(w("segments_intro", at=w.date(at))),
        table([w(c) for c in cols], rows, widths=["1fr", "auto", "auto", "auto", "auto"]),
    ]
    target = folder / "figures"
    if dynamics is not None:
        figures = draw_segment_figures(dynamics, target, w.lang)
    for name, (_, caption, width) in SEGMENT_FIGURES.items():
        if not figures or name not in figures:
            continue
        path = target / f"{name}.svg"
        if Path(figures[name]) != path:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(figures[name], path)
        blocks.append(figure(path, folder, w(caption), width))
    return section("segments", w("segments"), blocks)


# -------------------------------------------------------------------------------- models
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
