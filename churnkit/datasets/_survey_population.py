"""A fixed population of predicted churners whose reasons are known: the truth interval checks need.

20,000 predicted churners in 5 strata (``population|risk_band``, 500 to 9,000 each), 8 reasons
of the default codebook with stratum-specific main-reason shares (``trust`` is the rare one:
2% overall, 1% in the largest stratum, 8% in the smallest), secondary mentions of every reason
(multi-label), and a skewed value at risk whose mean differs by stratum (a loyal very-high
customer is worth about 12 first-time buyers) and mildly by reason (loyalty-leavers ×1.3,
price-leavers ×0.85), so money per reason is not the population's value × its share.

The five designs are the ones the retention matrix's intervals must hold under: proportional
and equal allocation, small samples, a rare reason and non-response. Non-response depends on
the stratum, and, with ``by_reason``, mildly on the reason within a stratum (odds ×1.25 for
loyalty, technical and trust, ×0.85 for price): missing not at random, a bias no weighting
on the sample's variables removes (a sensitivity check, not a design intervals can fix).

Used by ``tests/test_survey_stats.py`` and ``benchmarks/bench_coverage.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REASONS = ("price", "delivery", "loyalty", "technical", "trust", "assortment", "no_need", "other")
GROUP_OF = {"price": "obvious", "delivery": "obvious", "no_need": "external", "other": "other"}
GROUPS = ("obvious", "fixable", "external", "other")
# name, N, population, main-reason shares in REASONS order, mean value at risk, response rate
STRATA = (
    ("first_time|high", 9000, "first_time", (44, 24, 4, 10, 1, 8, 5, 4), 1500.0, 0.60),
    ("first_time|medium", 4000, "first_time", (38, 22, 6, 12, 2, 10, 6, 4), 1200.0, 0.65),
    ("loyal|high", 3500, "loyal", (28, 18, 20, 9, 3, 10, 7, 5), 7000.0, 0.80),
    ("loyal|medium", 3000, "loyal", (32, 20, 14, 10, 3, 9, 8, 4), 5000.0, 0.75),
    ("loyal|very_high", 500, "loyal", (16, 14, 30, 14, 8, 8, 6, 4), 18000.0, 0.85),
)
SECOND = np.array([0.20, 0.15, 0.12, 0.10, 0.03, 0.10, 0.04, 0.05])  # secondary mentions
VALUE_FACTOR = np.array([0.85, 1, 1.3, 1, 1, 1, 1, 1])
RESPONSE_ODDS = np.array([0.85, 1, 1.25, 1.25, 1.25, 1, 1, 1])
POPULATIONS = {"first_time": (0, 1), "loyal": (2, 3, 4)}  # strata of each population
SEGMENTS = {**POPULATIONS, "total": (0, 1, 2, 3, 4)}  # the matrix's columns
# name -> (interviews, allocation, target non-response)
DESIGNS = {
    "300 proportional": (300, "proportional", 0.0),
    "300 equal + 30% NR": (300, "equal", 0.30),
    "60 proportional": (60, "proportional", 0.0),
    "60 equal + 20% NR": (60, "equal", 0.20),
    "120 equal, rare reason": (120, "equal", 0.0),
}


@dataclass(frozen=True)
class SurveyPopulation:
    """The population: scores and customers as churnkit reads them, and every member's truth.

    ``primary`` is each member's main reason (index into :data:`REASONS`), ``mention`` (N, 8)
    the reasons they would name, ``stratum`` the index into :data:`STRATA`, ``value`` the value
    at risk (also ``scores.value_at_risk``).
    """

    scores: pd.DataFrame
    customers: pd.DataFrame
    primary: np.ndarray
    mention: np.ndarray
    stratum: np.ndarray
    value: np.ndarray

    reasons = REASONS
    segments = SEGMENTS
    populations = POPULATIONS

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.stratum, minlength=len(STRATA)).astype(float)

    @property
    def groups(self) -> np.ndarray:
        """(8, 4): which group (:data:`GROUPS`) each reason belongs to."""
        return group_matrix()

    def value_at_risk(self, segment: str) -> np.ndarray:
        """Value at risk of each population in ``segment`` (its ratio groups)."""
        strata = [set(p) for p in POPULATIONS.values() if set(p) <= set(SEGMENTS[segment])]
        return np.array([self.value[np.isin(self.stratum, list(p))].sum() for p in strata])

    def truth(self, segment: str) -> dict[str, np.ndarray]:
        """True ``mention``, ``primary``, ``group`` shares and ``money``, ``group_money``."""
        keep = np.isin(self.stratum, SEGMENTS[segment])
        prim = np.eye(len(REASONS))[self.primary[keep]]
        money = self.value[keep] @ prim
        return {
            "mention": self.mention[keep].mean(axis=0),
            "primary": prim.mean(axis=0),
            "group": prim.mean(axis=0) @ group_matrix(),
            "money": money,
            "group_money": money @ group_matrix(),
        }

    def stratum_means(self) -> tuple[np.ndarray, np.ndarray]:
        """Per stratum (S, 8): the share naming each reason, and having it as the main one."""
        prim = np.eye(len(REASONS))[self.primary]
        mention = np.array([self.mention[self.stratum == s].mean(0) for s in range(len(STRATA))])
        return mention, np.array([prim[self.stratum == s].mean(0) for s in range(len(STRATA))])


def group_matrix() -> np.ndarray:
    """(8, 4): which group each reason belongs to."""
    return np.array([[GROUP_OF.get(r, "fixable") == g for g in GROUPS] for r in REASONS], float)


def make_survey_population(seed: int = 20260501) -> SurveyPopulation:
    """The fixed population (the same for a seed, whatever the machine)."""
    rng = np.random.default_rng(seed)
    primary, stratum = [], []
    for s, (_, size, _, shares, _, _) in enumerate(STRATA):
        exact = np.asarray(shares) / 100 * size
        counts = np.floor(exact).astype(int)
        counts[np.argsort(-(exact - counts))[: size - counts.sum()]] += 1
        primary.append(rng.permutation(np.repeat(np.arange(len(REASONS)), counts)))
        stratum.append(np.full(size, s))
    primary, stratum = np.concatenate(primary), np.concatenate(stratum)
    n = len(primary)
    mention = (rng.random((n, len(REASONS))) < SECOND).astype(float)
    mention[np.arange(n), primary] = 1.0
    mean = np.array([row[4] for row in STRATA])[stratum]
    value = np.round(mean * VALUE_FACTOR[primary] * rng.lognormal(-0.5, 1.0, n), 2)
    names = np.array([row[0] for row in STRATA])[stratum]
    ids = np.array([f"C{i:06d}" for i in range(n)], dtype=object)
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "population": np.array([row[2] for row in STRATA])[stratum],
            "risk_band": [name.split("|")[1] for name in names],
            "p_churn": np.round(0.55 + 0.4 * rng.random(n), 3),
            "value_at_risk": value,
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ids, "research_opt_in": True, "phone": [f"+7912{i:07d}" for i in range(n)]}
    )
    return SurveyPopulation(scores, customers, primary, mention, stratum, value)


def response_rates(
    quotas: np.ndarray, target: float, primary: np.ndarray | None = None, stratum=None
) -> np.ndarray:
    """Response probability per stratum (or per member, with ``primary`` and ``stratum``).

    The strata's rates in :data:`STRATA`, their odds scaled so that a sample with ``quotas``
    loses ``target`` of its cases on average; with ``primary``, each member's odds also carry
    :data:`RESPONSE_ODDS` of their main reason (missing not at random within strata).
    """
    base = np.array([row[5] for row in STRATA])
    if target <= 0:
        return np.ones(len(base) if primary is None else len(primary))
    share = np.asarray(quotas, float) / np.sum(quotas)
    lo, hi = 1e-3, 1e3
    for _ in range(100):  # bisection on the odds factor
        c = np.sqrt(lo * hi)
        odds = base / (1 - base) * c
        lo, hi = (c, hi) if share @ (odds / (1 + odds)) < 1 - target else (lo, c)
    odds = base / (1 - base) * np.sqrt(lo * hi)
    if primary is None:
        return odds / (1 + odds)
    odds = odds[stratum] * RESPONSE_ODDS[primary]
    return odds / (1 + odds)
