"""Figures of segment dynamics: sizes, retention rates, migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from churnkit.segments._rules import segment_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from churnkit.segments._dynamics import SegmentDynamics

_TEXT = {
    "en": {
        "sizes": "Customers per segment at the start of each period",
        "customers": "customers",
        "retention": "Retention rate: share of the segment buying again within the period",
        "rate": "retention rate",
        "migration": "Where each segment went next period (share of row)",
        "from": "segment at period start",
        "to": "segment at period end",
        "entered": "(entered)",
        "too_few": "no segment had {n}+ customers at a period start",
    },
    "ru": {
        "sizes": "Клиентов в сегменте на начало периода",
        "customers": "клиентов",
        "retention": "Удержание: доля сегмента, купившая снова в течение периода",
        "rate": "доля удержания",
        "migration": "Куда перешёл сегмент за период (доля строки)",
        "from": "сегмент в начале периода",
        "to": "сегмент в конце периода",
        "entered": "(новые в базе)",
        "too_few": "ни в одном сегменте не было {n}+ клиентов на начало периода",
    },
}


def _text(lang: str) -> dict[str, str]:
    return _TEXT.get(lang, _TEXT["en"])


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 5))
    return ax


def _colors(names: list[str]) -> dict[str, tuple[float, ...]]:
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def plot_segment_sizes(dynamics: SegmentDynamics, ax: Axes | None = None, lang: str = "en") -> Axes:
    """Stacked areas: customers in each segment at the start of each period.

    Examples
    --------
    >>> ax = churnkit.plot_segment_sizes(churnkit.segment_dynamics(log))  # doctest: +SKIP
    """
    ax = _axes(ax)
    t = _text(lang)
    wide = dynamics.table.pivot_table(
        index="period_start", columns="segment", values="customers", observed=False
    ).reindex(columns=list(dynamics.rules.names))
    colors = _colors(list(wide.columns))
    ax.stackplot(
        wide.index,
        *(wide[c].fillna(0).to_numpy() for c in wide.columns),
        labels=[segment_label(c, lang) for c in wide.columns],
        colors=[colors[c] for c in wide.columns],
        alpha=0.9,
    )
    ax.set_title(t["sizes"])
    ax.set_ylabel(t["customers"])
    ax.margins(x=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_retention_rates(
    dynamics: SegmentDynamics,
    ax: Axes | None = None,
    lang: str = "en",
    segments: list[str] | None = None,
    min_customers: int = 30,
) -> Axes:
    """One line per segment: its retention rate period by period.

    Periods where a segment held fewer than ``min_customers`` are left out of its line
    (a rate of 3 out of 4 says little).
    """
    import matplotlib.ticker as mticker

    ax = _axes(ax)
    t = _text(lang)
    names = list(dynamics.rules.names)
    colors = _colors(names)
    table = dynamics.table
    for name in segments or names:
        part = table[(table["segment"] == name) & (table["customers"] >= min_customers)]
        if part.empty:
            continue
        ax.plot(
            part["period_start"],
            part["retention_rate"],
            marker="o",
            markersize=2.5,
            color=colors.get(name),
            label=segment_label(name, lang),
        )
    ax.set_title(t["retention"])
    ax.set_ylabel(t["rate"])
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    else:
        ax.text(
            0.5,
            0.5,
            t["too_few"].format(n=min_customers),
            transform=ax.transAxes,
            ha="center",
            va="center",
        )
    ax.grid(alpha=0.3)
    return ax


def plot_migration_heatmap(
    dynamics: SegmentDynamics,
    ax: Axes | None = None,
    lang: str = "en",
    period: str | None = None,
) -> Axes:
    """Heatmap of where each segment's customers were one period later (row shares).

    Summed over all periods unless ``period`` names one.
    """
    import numpy as np

    ax = _axes(ax)
    t = _text(lang)
    matrix = dynamics.migration_matrix(period=period, normalize=True)
    values = matrix.to_numpy()
    ax.imshow(values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        if v >= 0.005:
            ax.text(
                j,
                i,
                f"{v:.0%}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > 0.6 else "black",
            )
    rows = [t["entered"] if r == matrix.index[0] else segment_label(r, lang) for r in matrix.index]
    ax.set_xticks(
        range(len(matrix.columns)),
        [segment_label(c, lang) for c in matrix.columns],
        rotation=40,
        ha="right",
    )
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(t["to"])
    ax.set_ylabel(t["from"])
    ax.set_title(t["migration"])
    return ax
