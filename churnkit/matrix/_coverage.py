"""Coverage of the matrix's 95% intervals, by simulation from a population whose truth is known.

The population is any object with the attributes of
:class:`churnkit.datasets._survey_population.SurveyPopulation` (``stratum, sizes, primary,
mention, value, reasons, segments, populations, groups``, ``truth(segment)``,
``value_at_risk(segment)``, ``stratum_means()``). A sample is ``(rows, answered)``: the
population members drawn and who of them gave an interview. A method turns a sample into
``{(segment, cell): (low, high)}`` over the reasons (or groups); :func:`segment_intervals` is
the statistics of :mod:`churnkit.matrix._survey_stats` on arrays, with any of their options.
Used by ``tests/test_survey_stats.py`` and ``benchmarks/bench_coverage.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from churnkit.matrix._survey_stats import Design, estimate, respondent_weights

CELLS = ("mention", "primary", "group", "money", "group_money")
Intervals = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


def segment_intervals(
    pop: Any,
    rows: np.ndarray,
    answered: np.ndarray,
    segment: str,
    *,
    mean_value: bool = False,
    **options: Any,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The five kinds of cell of one segment of one sample: (low, high) of shares or money.

    ``options`` go to :func:`churnkit.matrix._survey_stats.estimate`; with ``mean_value`` each
    respondent carries their population's mean value (money = value at risk × share, as the
    matrix estimated it before respondents' own values).
    """
    strata = np.array(pop.segments[segment])
    stratum = pop.stratum[rows]
    keep = np.isin(stratum, strata)
    local = np.searchsorted(strata, stratum[keep])
    sizes = pop.sizes[strata]
    weight = respondent_weights(local, sizes, answered[keep])
    resp = rows[keep][answered[keep]]
    st = local[answered[keep]]
    population_of = np.zeros(len(pop.sizes), int)
    for g, members in enumerate(p for p in pop.populations.values() if set(p) <= set(strata)):
        population_of[list(members)] = g
    design = Design(st, sizes, weight, population_of[strata[st]])
    totals = pop.value_at_risk(segment)
    value = pop.value[resp]
    if mean_value:
        value = (totals / np.bincount(design.group, weights=weight))[design.group]
    prim = np.eye(len(pop.reasons))[pop.primary[resp]]
    k = len(pop.reasons)
    shares = estimate(np.hstack([pop.mention[resp], prim, prim @ pop.groups]), design, **options)
    money = estimate(
        np.hstack([prim, prim @ pop.groups]), design, value=value, totals=totals, **options
    )
    cut = {"mention": slice(0, k), "primary": slice(k, 2 * k), "group": slice(2 * k, None)}
    out = {cell: (shares.low[s], shares.high[s]) for cell, s in cut.items()}
    out["money"] = (money.total * money.low[:k], money.total * money.high[:k])
    out["group_money"] = (money.total * money.low[k:], money.total * money.high[k:])
    return out


def array_method(pop: Any, **options: Any) -> Callable[[np.ndarray, np.ndarray], Intervals]:
    """A method: :func:`segment_intervals` with ``options`` for every segment."""

    def method(rows: np.ndarray, answered: np.ndarray) -> Intervals:
        out = {}
        for segment in pop.segments:
            for cell, pair in segment_intervals(pop, rows, answered, segment, **options).items():
                out[segment, cell] = pair
        return out

    return method


def simulate(
    pop: Any,
    samples: Iterable[tuple[np.ndarray, np.ndarray]],
    methods: dict[str, Callable[[np.ndarray, np.ndarray], Intervals]],
) -> pd.DataFrame:
    """Coverage per method, segment, cell and column over ``samples``.

    Returns ``method, segment, cell, column, coverage, below, above, width``: the share of
    samples whose interval holds the truth, lies entirely below or above it, and the mean width.
    """
    truth = {seg: pop.truth(seg) for seg in pop.segments}
    sums: dict[tuple[str, str, str], np.ndarray] = {}
    reps = 0
    for rows, answered in samples:
        reps += 1
        for name, method in methods.items():
            for (seg, cell), (low, high) in method(rows, answered).items():
                t = truth[seg][cell]
                tally = np.array([(low <= t) & (t <= high), high < t, low > t, high - low], float)
                key = (name, seg, cell)
                sums[key] = sums.get(key, 0) + tally
    records = [
        (name, seg, cell, j, *(total[:, j] / reps))
        for (name, seg, cell), total in sums.items()
        for j in range(total.shape[1])
    ]
    columns = ["method", "segment", "cell", "column", "coverage", "below", "above", "width"]
    return pd.DataFrame(records, columns=columns)


def expected_cases(pop: Any, interviews: np.ndarray) -> pd.DataFrame:
    """``segment, cell, column, expected``: respondents expected to name each reason (or
    group), from the expected interviews per stratum and the strata's true shares."""
    mention_s, primary_s = pop.stratum_means()
    records = []
    for seg, strata in pop.segments.items():
        r_s = np.asarray(interviews, float)[list(strata)]
        for cell in CELLS:
            expected = r_s @ (mention_s if cell == "mention" else primary_s)[list(strata)]
            expected = expected @ pop.groups if cell.startswith("group") else expected
            records += [(seg, cell, j, e) for j, e in enumerate(expected)]
    return pd.DataFrame(records, columns=["segment", "cell", "column", "expected"])


def outside_band(table: pd.DataFrame) -> pd.Series:
    """Cells whose coverage is outside [0.92, 0.98], or [0.92, 0.99] under 20 expected cases:
    with so few cases a 0.98 ceiling cannot be met by an interval that never runs short (an
    estimate of 0 has an interval [0, u] that always covers; Brown, Cai & DasGupta 2001)."""
    ceiling = np.where(table["expected"] >= 20, 0.98, 0.99)
    return (table["coverage"] < 0.92) | (table["coverage"] > ceiling)
