"""Coverage of the retention matrix's 95% intervals over the sample designs the sampler offers.

A fixed population of 20,000 predicted churners with known reasons and values
(``churnkit.datasets._survey_population``: 5 strata of 500-9,000, 8 reasons, one at 2%);
samples drawn with ``draw_interview_sample`` itself (``reserve_ratio=0``, seed = replicate),
non-respondents decided by a seeded generator and left unreplaced. Each sample goes through
``RetentionMatrix.from_codes`` ("after", the shipped code) and, on the same samples, three
alternatives computed on arrays with ``churnkit.matrix._coverage``: the estimator the matrix
used before ("before": plug-in stratified variance, effective n not capped, money as the
population's value × share), the issue's suggested fix ("cap_n": the same, effective n capped
by the respondents) and Korn & Graubard's interval on the new variance ("korn_graubard").

Designs: the five of the tests (non-response by stratum only), and design 2 again with
non-response that also depends on the reason within strata ("by reason": missing not at
random, a bias weighting cannot see; a sensitivity check).

Prints, per design and cell type, the lowest and highest coverage over all cells (8 reasons
or 4 groups × 3 columns) before and after, how many cells fall outside [0.92, 0.98] ([0.92,
0.99] under 20 expected cases), the share of misses that lie entirely below the truth, and
per method the range, the cells outside the band and the median width relative to "after".
Draws are cached in benchmarks/_data/ (not committed).

Measured with 1,000 samples per design: after, 575 of 576 cells in the band, every cell at
least 0.925 (price in the by-reason design); the one outside is first-time trust money in
"60 equal + 20% NR" at 0.992, a cell expecting 0.26 cases (an estimate of 0 has an interval
[0, u] that nearly always covers). Before, 166 of 576 outside, down to 0.43 for money.

    python benchmarks/bench_coverage.py [--reps 1000]      # ~30 min for 1,000 the first time
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

# run as a script, so this folder is on sys.path
from _harness import DATA

from churnkit.datasets._survey_population import (
    DESIGNS,
    GROUPS,
    STRATA,
    make_survey_population,
    response_rates,
)
from churnkit.matrix._coverage import array_method, expected_cases, outside_band, simulate
from churnkit.matrix._matrix import RetentionMatrix
from churnkit.sample._draw import draw_interview_sample

BY_REASON = "300 equal + 30% NR, by reason"
ALL_DESIGNS = {**DESIGNS, BY_REASON: DESIGNS["300 equal + 30% NR"]}
NAMES = [row[0] for row in STRATA]


def draws(pop, design: str, reps: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``reps`` samples of ``design``: member rows, who answered, and the strata table."""
    total, allocation, nonresponse = ALL_DESIGNS[design]
    k = list(ALL_DESIGNS).index(design)
    path = DATA / f"coverage_{k}_{reps}.npz"
    draw = draw_interview_sample(
        pop.scores, pop.customers, total, allocation=allocation, reserve_ratio=0, seed=0
    )
    quotas = draw.strata.set_index("stratum").loc[NAMES, "quota"].to_numpy()
    if path.exists():
        cached = np.load(path)
        return cached["rows"], cached["answered"], draw.strata
    rows, answered = [], []
    for rep in range(reps):
        if rep:
            draw = draw_interview_sample(
                pop.scores, pop.customers, total, allocation=allocation, reserve_ratio=0, seed=rep
            )
        picked = np.sort(draw.sample["customer_id"].str[1:].astype(int).to_numpy())
        rate = (
            response_rates(quotas, nonresponse, pop.primary[picked], pop.stratum[picked])
            if design == BY_REASON
            else response_rates(quotas, nonresponse)[pop.stratum[picked]]
        )
        rows.append(picked)
        answered.append(np.random.default_rng([rep, k]).random(len(picked)) < rate)
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, rows=np.array(rows), answered=np.array(answered))
    return np.array(rows), np.array(answered), draw.strata


def matrix_method(pop, strata: pd.DataFrame):
    """The shipped code: ``RetentionMatrix.from_codes`` on the sample's interviews."""
    reasons = np.array(pop.reasons)

    def method(rows: np.ndarray, answered: np.ndarray) -> dict:
        ids = pop.scores["customer_id"].to_numpy()[rows]
        sample = pd.DataFrame(
            {
                "sample_id": ids,
                "stratum": np.array(NAMES)[pop.stratum[rows]],
                "population": pop.scores["population"].to_numpy()[rows],
                "weight": 1.0,  # the matrix weighs by the frame and the respondents
                "value_at_risk": pop.value[rows],
            }
        )
        resp = rows[answered]
        primary = pop.primary[resp]
        other = pop.mention[resp].copy()
        other[np.arange(len(resp)), primary] = 0
        who, what = np.nonzero(other)
        codes = pd.DataFrame(
            {
                "sample_id": np.r_[ids[answered], ids[answered][who]],
                "code": np.r_[reasons[primary], reasons[what]],
                "is_primary": np.r_[np.ones(len(resp), bool), np.zeros(len(who), bool)],
            }
        )
        m = RetentionMatrix.from_codes(codes, sample, pop.scores, frame=strata)
        cells = m.cells.set_index(["segment", "code"])
        groups = m.groups.set_index(["segment", "group"])
        out = {}
        for seg in pop.segments:
            c, g = cells.loc[seg].loc[list(reasons)], groups.loc[seg].loc[list(GROUPS)]
            for cell, frame, prefix in (("mention", c, "mention"), ("primary", c, "primary"),
                                        ("money", c, "money"), ("group", g, "primary"),
                                        ("group_money", g, "money")):  # fmt: skip
                out[seg, cell] = (
                    frame[f"{prefix}_low"].to_numpy(),
                    frame[f"{prefix}_high"].to_numpy(),
                )
        return out

    return method


def run(reps: int) -> pd.DataFrame:
    pop = make_survey_population()
    methods = {
        "before": array_method(pop, variance="plugin", cap=None, method="wilson", mean_value=True),
        "cap_n": array_method(pop, variance="plugin", cap="n", method="wilson", mean_value=True),
        "korn_graubard": array_method(pop, method="kg"),
    }
    parts = []
    for design, (_, _, nonresponse) in ALL_DESIGNS.items():
        t0 = time.perf_counter()
        rows, answered, strata = draws(pop, design, reps)
        quotas = strata.set_index("stratum").loc[NAMES, "quota"].to_numpy()
        chosen = {"after": matrix_method(pop, strata), **methods}
        table = simulate(pop, zip(rows, answered, strict=True), chosen)
        table = table.merge(expected_cases(pop, quotas * response_rates(quotas, nonresponse)))
        parts.append(table.assign(design=design))
        print(f"{design}: {reps} samples in {time.perf_counter() - t0:.0f} s", flush=True)
    table = pd.concat(parts, ignore_index=True)
    names = np.where(
        table["cell"].str.startswith("group"),
        np.array(GROUPS)[table["column"].clip(upper=len(GROUPS) - 1)],
        np.array(pop.reasons)[table["column"]],
    )
    return table.assign(outside=outside_band(table), name=names)


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.to_numpy()]
    return "\n".join(lines)


def summary(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per design and cell type, before vs after; per method and design, the range."""
    span = lambda x: f"{x.min():.3f}–{x.max():.3f}"  # noqa: E731
    rows = []
    for (design, cell), part in table.groupby(["design", "cell"], sort=False):
        row = {"design": design, "cell": cell}
        for method in ("before", "after"):
            x = part[part["method"] == method]
            misses = x["below"].sum() + x["above"].sum()
            row[method] = span(x["coverage"])
            row[f"{method}: outside band"] = int(x["outside"].sum())
            row[f"{method}: misses below"] = f"{x['below'].sum() / misses:.0%}" if misses else "–"
        rows.append(row)
    per_design = pd.DataFrame(rows)
    after = table[table["method"] == "after"].set_index(["design", "segment", "cell", "column"])
    rows = []
    for method, part in table.groupby("method", sort=False):
        width = part.set_index(after.index.names)["width"] / after["width"]
        row = {"method": method}
        row |= {d: span(p["coverage"]) for d, p in part.groupby("design", sort=False)}
        row["outside band"] = f"{int(part['outside'].sum())} of {len(part)}"
        row["width vs after"] = f"{np.nanmedian(width.replace(np.inf, np.nan)):.2f}"
        rows.append(row)
    return per_design, pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300, help="samples per design")
    args, _ = parser.parse_known_args()  # `tasks.py bench` passes every script its options
    table = run(args.reps)
    per_design, per_method = summary(table)
    print(f"\n## Coverage of 95% intervals, {args.reps} samples per design\n")
    print(markdown(per_design))
    print("\n## Methods (coverage range over all cells per design)\n")
    print(markdown(per_method))
    out = table[(table["method"] == "after") & table["outside"]]
    print(
        f"\n## After: {len(out)} of {int((table['method'] == 'after').sum())} cells outside the band\n"
    )
    if len(out):
        print(markdown(out[["design", "segment", "cell", "name", "coverage", "expected"]].round(3)))


if __name__ == "__main__":
    main()
