"""The matrix's figures: per segment, one estimate per kind of cell over all reasons at once.

Each segment (a population, or ``total``) is one sampling design
(:class:`churnkit.matrix._inputs.SegmentDesign`); its mention shares, main-reason shares,
money at risk, the group split and the group money are five calls of
:func:`churnkit.matrix._survey_stats.estimate`. See :mod:`churnkit.matrix._matrix` for what the
columns mean and :mod:`churnkit.matrix._survey_stats` for the statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnkit.coding._codebook import GROUPS, Codebook
from churnkit.matrix._inputs import SegmentDesign
from churnkit.matrix._survey_stats import Estimate, estimate

# the code of interviewees who still buy (see ``churned_only``)
NOT_CHURNED = "not_churned"
CELL_COLUMNS = (
    "segment",
    "group",
    "code",
    "label",
    "n",
    "count",
    "n_primary",
    "mention_share",
    "mention_low",
    "mention_high",
    "primary_share",
    "primary_low",
    "primary_high",
    "money_at_risk",
    "money_low",
    "money_high",
    "respondents",
    "cases",
    "n_eff",
    "low_n",
)


def answer_matrices(
    codes: pd.DataFrame, respondents: pd.DataFrame, key: str, book: Codebook, level: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The matrix's rows (codes) and 0/1 arrays respondent × row: mentioned, main reason."""
    position = pd.Series(np.arange(len(respondents)), index=respondents[key])
    row_of = position[codes[key]].to_numpy()
    rows = [c for c in book.ids if book.code(c).is_theme or level == "code"]
    if level == "code":
        rows = [c for c in rows if c in set(codes["row"])]
    col_of = {c: i for i, c in enumerate(rows)}
    mention = np.zeros((len(respondents), len(rows)))
    primary = np.zeros_like(mention)
    columns = codes["row"].map(col_of).to_numpy()
    mention[row_of, columns] = 1.0
    is_primary = codes["is_primary"].to_numpy(dtype=bool)
    primary[row_of[is_primary], columns[is_primary]] = 1.0
    return rows, mention, primary


def still_buying(rows: list[str], primary: np.ndarray) -> np.ndarray:
    """Respondents whose main reason is ``not_churned`` (or one of its sub-codes)."""
    columns = [j for j, c in enumerate(rows) if c.split(".")[0] == NOT_CHURNED]
    return primary[:, columns].sum(axis=1) > 0


def segment_tables(
    segment: str,
    sd: SegmentDesign,
    rows: list[str],
    answers: tuple[np.ndarray, np.ndarray],
    book: Codebook,
    churned: np.ndarray | None,
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[float, float, float]]:
    """Cells and group split of one segment, and the value of those who still buy.

    ``churned`` (respondents who did churn) makes the shares shares among them (a domain);
    the money of a reason is the same either way, and with ``churned`` the value of those who
    still buy is kept out of every row and group and returned as (estimate, low, high).
    """
    mention, primary = (a[sd.rows] for a in answers)
    design = sd.design
    domain = None if churned is None else churned[sd.rows]
    money_of = {"value": sd.value, "totals": sd.value_at_risk}
    m = estimate(mention, design, domain=domain)
    p = estimate(primary, design, domain=domain)
    money = estimate(primary, design, **money_of)
    out = np.array([c.split(".")[0] == NOT_CHURNED for c in rows]) & (churned is not None)
    kept = primary * ~out
    still = money.total * np.array([money.share, money.low, money.high])[:, out].sum(axis=1)
    group_of = np.array([[book.group_of(c) == g for g in GROUPS] for c in rows], float)
    g = estimate(kept @ group_of, design, domain=domain)
    g_money = estimate(kept @ group_of, design, **money_of)
    cells = pd.DataFrame(
        {
            "segment": segment,
            "group": [book.group_of(c) for c in rows],
            "code": rows,
            "label": [book.label(c, "en") for c in rows],
            "n": p.respondents,
            "count": m.cases,
            "n_primary": p.cases,
            **_figures("mention", m),
            **_figures("primary", p),
            **_money(money, ~out),
            "respondents": p.respondents,
            "cases": p.cases,
            "n_eff": p.n_eff,
            "low_n": p.low_n,
        }
    )
    groups = pd.DataFrame(
        {
            "segment": segment,
            "group": list(GROUPS),
            "n_primary": g.cases,
            **_figures("primary", g),
            **_money(g_money, np.ones(len(GROUPS), bool)),
            "respondents": g.respondents,
            "n_eff": g.n_eff,
            "low_n": g.low_n,
        }
    )
    return cells, groups, (float(still[0]), float(still[1]), float(still[2]))


def _figures(name: str, e: Estimate) -> dict[str, np.ndarray]:
    return {f"{name}_share": e.share, f"{name}_low": e.low, f"{name}_high": e.high}


def _money(e: Estimate, keep: np.ndarray) -> dict[str, np.ndarray]:
    """Money at risk and its interval: the value share × the segment's value at risk."""
    return {
        column: np.where(keep, e.total * x, 0.0)
        for column, x in (("money_at_risk", e.share), ("money_low", e.low), ("money_high", e.high))
    }


def order_cells(cells: pd.DataFrame, segments: list[str], book: Codebook) -> pd.DataFrame:
    """Segments in order, then groups, then the codebook's order of the codes."""
    rank = {c: i for i, c in enumerate(book.ids)}
    cells = cells.assign(
        _g=cells["group"].map(GROUPS.index),
        _c=cells["code"].map(rank),
        _s=cells["segment"].map(segments.index),
    )
    return (
        cells.sort_values(["_s", "_g", "_c"])
        .drop(columns=["_g", "_c", "_s"])
        .reset_index(drop=True)
    )
