"""How precise the retention matrix of a planned design will be, known before fieldwork.

For each matrix column (each population and the total) of a design, the ``strata`` table of
:func:`churnkit.draw_interview_sample` (``stratum, eligible, quota``, with ``population`` and
``reserves`` when present), the expected interviews per stratum are

    r_s = min(quota_s, (quota_s + reserves_s) × response)

(reserves replace the cases that end without an interview; without a ``reserves`` column
``quota_s × response``; an ``expected_completes`` column, as ``sample-status`` projects it
during fieldwork, is used as it is). From them: Kish's effective number of respondents

    n_kish = 1 / Σ_s W_s² (1 − r_s/N_s) / r_s          (W_s = N_s / N of the column)

(Kish 1965 §11.7; what the matrix caps every interval's effective n by), the expected
half-width of a 95% Wilson interval at shares of 5%, 20% and 50% on that n, and the expected
number of interviews naming a reason held by 5%.

Warnings (the thresholds the matrix flags figures by, :data:`LOW_N` and :data:`MIN_N_EFF`;
checked against simulated designs in ``benchmarks/bench_coverage.py``):

``unreliable``      fewer than 10 expected interviews, or ``n_kish < 30`` (the NCHS floor,
                    Parker et al. 2017): every figure of the column will be flagged.
``wide``            the half-width at 50% is over ±15 points (``n_kish`` below about 39).
``thin stratum``    a stratum expecting fewer than 2 interviews: its variance cannot be
                    estimated and one person stands for it.
``weighting loss``  the total's ``n_kish`` is below 70% of its interviews: the allocation
                    differs so much from proportional that over 30% of the interviews are lost.
``rare reasons``    a reason held by 5% would be named by fewer than 5 interviewees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

__all__ = ["ASSUMED_YIELD", "LOW_N", "MIN_N_EFF", "design_precision"]

# a figure resting on fewer interviews, or on a smaller effective n, is flagged (low_n)
LOW_N = 10
MIN_N_EFF = 30
# interviews per released case assumed before fieldwork (as ``sample_status`` assumes)
ASSUMED_YIELD = 0.3
WIDE = 0.15  # half-width of a 95% interval at 50% above which a column is "wide"
SHARES = (0.05, 0.20, 0.50)
TOTAL = "total"


def design_precision(
    strata: pd.DataFrame, response: float | pd.Series = 1.0
) -> tuple[pd.DataFrame, list[str]]:
    """Expected interviews, Kish's n, interval half-widths and warnings per matrix column.

    Parameters
    ----------
    strata : DataFrame
        ``stratum, eligible, quota``; optionally ``population`` (one column per population,
        then the total), ``reserves``, ``group`` (only ``"churner"`` strata count) and
        ``expected_completes`` (then ``response`` is not used).
    response : float or Series indexed by stratum
        Expected share of released cases that end in an interview.

    Returns
    -------
    (DataFrame, list of str)
        One row per column: ``segment, interviews, n_kish, halfwidth_5, halfwidth_20,
        halfwidth_50, upper_5, cases_at_5pct, thin_strata, flags``; and the warnings in plain
        words, each saying what to change.

    Examples
    --------
    >>> strata = pd.DataFrame({"stratum": ["a", "b"], "population": ["loyal", "first_time"],
    ...                        "eligible": [4000, 500], "quota": [30, 30]})
    >>> table, warnings = design_precision(strata, 0.8)
    >>> table.loc[table.segment == "total", "n_kish"].round(1).tolist()
    [30.1]
    """
    s = _expected(strata, response)
    rows, warnings = [], []
    populations = list(dict.fromkeys(s["population"]))
    columns = [(p, s[s["population"] == p]) for p in populations] if len(populations) > 1 else []
    for segment, part in [*columns, (TOTAL, s)]:
        row = _column(segment, part)
        row["flags"] = ", ".join(_warn(row, part, warnings))
        rows.append(row)
    return pd.DataFrame(rows), warnings


def _expected(strata: pd.DataFrame, response: float | pd.Series) -> pd.DataFrame:
    """The churner strata with a quota and their expected interviews ``r``."""
    s = strata
    if "group" in s.columns:
        s = s[s["group"] == "churner"]
    s = s[s["quota"] > 0].copy()
    if "population" not in s.columns:
        s["population"] = TOTAL
    if "expected_completes" in s.columns:
        s["r"] = s["expected_completes"].astype(float)
        return s
    rate = (
        s["stratum"].map(response).fillna(response.mean()).to_numpy(float)
        if isinstance(response, pd.Series)
        else float(response)
    )
    released = s["quota"] + (s["reserves"] if "reserves" in s.columns else 0)
    s["r"] = np.minimum(s["quota"], released * rate).astype(float)
    return s


def _column(segment: str, part: pd.DataFrame) -> dict:
    """Expected interviews, Kish's n and Wilson half-widths of one column."""
    N = part["eligible"].to_numpy(float)
    r = part["r"].to_numpy(float)
    W = N / N.sum()
    fpc = np.clip(1 - r / N, 0, 1)
    with np.errstate(divide="ignore"):
        den = float(np.sum(np.where(r > 0, W**2 * fpc / np.maximum(r, 1e-12), np.inf)))
    n_kish = 1 / den if den > 0 else np.inf
    half, upper_5 = dict.fromkeys(SHARES, 0.5), 1.0  # no interview at all: [0, 1]
    if n_kish > 0:
        for p in SHARES:
            lo, hi = proportion_confint(p * n_kish, n_kish, method="wilson")
            half[p] = (float(hi) - float(lo)) / 2
        upper_5 = proportion_confint(0.05 * n_kish, n_kish, method="wilson")[1]
    return {
        "segment": segment,
        "interviews": float(r.sum()),
        "n_kish": n_kish,
        "halfwidth_5": half[0.05],
        "halfwidth_20": half[0.2],
        "halfwidth_50": half[0.5],
        "upper_5": float(upper_5),
        "cases_at_5pct": 0.05 * float(r.sum()),
        "thin_strata": ", ".join(part.loc[part["r"] < 2, "stratum"].astype(str)),
        # strata that weigh most in the variance (W_s^2 / r_s): where more interviews help
        "_short": _short_strata(part["stratum"].astype(str).to_numpy(), W, r),
    }


def _short_strata(names: np.ndarray, W: np.ndarray, r: np.ndarray) -> str:
    """The strata carrying at least half of ``Σ W_s² / r_s``, largest first."""
    with np.errstate(divide="ignore"):
        part = np.where(r > 0, W**2 / np.maximum(r, 1e-12), np.inf)
    order = np.argsort(-part, kind="stable")
    share = np.cumsum(np.nan_to_num(part[order], posinf=1e12)) / max(
        np.nan_to_num(part, posinf=1e12).sum(), 1e-300
    )
    keep = order[: int(np.searchsorted(share, 0.5)) + 1]
    return ", ".join(names[keep])


def _warn(row: dict, part: pd.DataFrame, warnings: list[str]) -> list[str]:
    """The column's flags; their messages appended to ``warnings``."""
    segment, n, n_kish = row["segment"], row["interviews"], row["n_kish"]
    short = row.pop("_short")
    flags = []
    if n < LOW_N or n_kish < MIN_N_EFF:
        flags.append("unreliable")
        need = max(n * MIN_N_EFF / n_kish if n_kish > 0 else MIN_N_EFF, LOW_N)
        warnings.append(
            f"{segment}: about {n:.0f} interviews, effective n {n_kish:.0f}: below the "
            f"reliability floor ({LOW_N} interviews, effective n {MIN_N_EFF}), so every figure "
            f"of this column will be flagged. Plan about {np.ceil(need):.0f} interviews in it, "
            f"the extra ones in {short}, or report it only within the total."
        )
    elif row["halfwidth_50"] > WIDE:
        need = n * _kish_for(WIDE) / n_kish
        warnings.append(
            f"{segment}: effective n {n_kish:.0f}: intervals up to ±{row['halfwidth_50']:.0%} "
            f"(±{row['halfwidth_20']:.0%} at a 20% share). About {np.ceil(need):.0f} interviews "
            f"(more in {short}) bring them within ±{WIDE:.0%}."
        )
        flags.append("wide")
    if row["thin_strata"]:
        flags.append("thin stratum")
        told = f"strata {row['thin_strata']} expect fewer than 2 interviews"
        if not any(told in w for w in warnings):
            warnings.append(
                f"{segment}: {told}, so their variance cannot be estimated and one person "
                "stands for each; raise their quotas (or reserves), or merge each with a "
                "similar stratum."
            )
    if segment == TOTAL and 0 < n_kish < 0.7 * n:
        flags.append("weighting loss")
        warnings.append(
            f"{segment}: the allocation leaves an effective n of {n_kish:.0f} from {n:.0f} "
            f"interviews ({1 - n_kish / n:.0%} lost to unequal weights); a proportional "
            "allocation (--allocation proportional) keeps them for the total, at the cost of "
            "fewer interviews in small strata."
        )
    if row["cases_at_5pct"] < 5:
        flags.append("rare reasons")
        warnings.append(
            f"{segment}: a reason held by 5% would be named by about {row['cases_at_5pct']:.1f} "
            f"interviewees and its interval would run to about {row['upper_5']:.0%}; 100 "
            "interviews in this column name it about 5 times."
        )
    return flags


def _kish_for(half: float) -> float:
    """The effective n at which a 95% Wilson interval at 50% is ``±half`` wide.

    At ``p = ½`` Wilson's half-width is ``z / (2 √(n + z²))``, so ``n = z²/(4h²) − z²``.
    """
    z2 = 1.959964**2
    return z2 / (4 * half * half) - z2
