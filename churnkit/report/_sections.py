"""The report's sections as plain data: each function turns stage results into text blocks.

A section is ``{"id", "title", "blocks"}``; a block is a paragraph, a list, a table (cells
already formatted for the language), a row of key figures or an SVG figure. The template
(``churn_report.typ``) only lays them out. A section whose inputs are missing says so in one
line instead of disappearing, so a reader knows what was not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.report._figures import save_svg

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.matrix._matrix import RetentionMatrix
    from churnkit.report._format import Words

Block = dict[str, Any]
Section = dict[str, Any]


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
