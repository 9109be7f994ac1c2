"""The demo shop's customer process, simulated day by day (the oracle is in ``_shop_oracle``).

Every alive customer first churns with hazard ``h_i(d)``, else buys with probability
``q_i(d) = 1 - exp(-lambda_i s(d))``. The hazard is a sum of reason components (price, delivery,
loyalty, technical, trust, no_need) times a first-purchase multiplier. Each component changes only
through the customer's own purchases (delivery time, quality issue, app version used, bonuses
spent) or through events already scheduled at any date (a competitor's promotions, expiry of unspent
bonuses, the buggy app's fix date). So given the state at a cutoff and no further purchase, ``h``
and ``q`` are known for every later day, and P(no purchase in a window) is an exact product.

Customers are held in order of their first purchase day, so the customers who have started by a
day are a prefix of every array and each day works on views, not copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from churnkit.datasets._shop_setup import (
    APP_RELEASES,
    BUG_VERSION,
    DEVICES,
    NEVER,
    REASONS,
    REGIONS,
    Calendar,
)


def hazard_parts(
    x: Mapping[str, np.ndarray], d: int, cal: Calendar, p: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Daily hazard components in REASONS order, shape (6, n), and the first-purchase factor."""
    parts = np.empty((len(REASONS), len(x["sens"])))
    parts[0] = x["sens"] * (p["price"] * (1.0 + p["promo_boost"] * cal.promo[d]))
    parts[1] = x["del_level"] * ((x["del_from"] <= d) & (x["del_to"] > d))
    parts[2] = x["care"] * (p["loyalty"] * (x["loy_to"] > d))
    parts[3] = p["technical"] * (x["tech_to"] > d)
    parts[4] = p["trust"] * (x["trust_to"] > d)
    parts[5] = x["need"]
    since_first = np.minimum(d - x["first_day"], len(cal.first_decay) - 1)
    factor = 1.0 + x["first_boost"] * (x["n_purch"] == 1) * cal.first_decay[since_first]
    return parts, factor


def daily_odds(
    x: Mapping[str, np.ndarray], d: int, cal: Calendar, p: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(components, churn hazard h, purchase probability q) of an alive customer on day ``d``."""
    parts, factor = hazard_parts(x, d, cal, p)
    h = np.minimum(parts.sum(axis=0) * factor, 0.5)
    q = -np.expm1(-x["lam"] * cal.season[d])
    return parts, h, q


MONEY_FIELDS = ("value", "earned", "spent", "expired", "consumed", "top")
STATE_INT = ("n_purch", "del_from", "del_to", "loy_to", "tech_to", "trust_to")
RECORD_FIELDS = (
    "cust", "day", "device", "version", "delivery_days", "quality", "value",
    "earned", "spent", "expired", "consumed", "top", "n_purch", "tech_to", "trust_to",
)  # fmt: skip


@dataclass
class Process:
    """The simulation state of a set of customers (held in first-purchase order).

    ``x`` holds traits and state arrays; ``C`` (bonus points consumed: spent or expired) and
    ``E`` (points earned) implement FIFO spending: a batch earned with cumulative top ``T``
    expires with ``max(0, T - C)`` points, because older points are consumed first.
    """

    x: dict[str, np.ndarray]
    cal: Calendar
    p: Mapping[str, float]
    ttl: int
    rng: np.random.Generator
    alive: np.ndarray = field(init=False)
    churn_day: np.ndarray = field(init=False)
    churn_parts: np.ndarray = field(init=False)
    batches: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    records: list[dict[str, np.ndarray]] = field(default_factory=list)
    expiries: list[tuple[np.ndarray, int, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.x["lam"])
        for name in STATE_INT:
            self.x.setdefault(name, np.full(n, 0 if name == "n_purch" else -1, np.int32))
        for name in ("del_level", "C", "E", "pending_expired"):
            self.x.setdefault(name, np.zeros(n))
        self.alive = np.ones(n, bool)
        self.churn_day = np.full(n, NEVER, np.int32)
        self.churn_parts = np.zeros((n, len(REASONS)))

    def run(self, first: int, stop: int) -> None:
        """Simulate days ``first .. stop - 1``."""
        for d in range(first, stop):
            self.step(d)

    def step(self, d: int) -> None:
        first_day = self.x["first_day"]
        k0 = int(np.searchsorted(first_day, d, "left"))
        k1 = int(np.searchsorted(first_day, d, "right"))
        self._expire(d)
        view = {k: v[:k0] for k, v in self.x.items()}
        parts, h, q = daily_odds(view, d, self.cal, self.p)
        u = self.rng.random(k0)
        alive = self.alive[:k0]
        churn = alive & (u < h)
        buy = alive & ~churn & (u < h + (1.0 - h) * q)
        gone = np.flatnonzero(churn)
        self.alive[gone] = False
        self.churn_day[gone] = d
        self.churn_parts[gone] = parts[:, gone].T
        self._purchase(np.concatenate([np.flatnonzero(buy), np.arange(k0, k1)]), d)

    def _expire(self, d: int) -> None:
        if d not in self.batches:
            return
        # churned customers' points expire too: the loyalty log keeps them
        idx, top = self.batches.pop(d)
        x = self.x
        amount = np.maximum(top - x["C"][idx], 0.0)
        x["C"][idx] = np.maximum(x["C"][idx], top)
        x["pending_expired"][idx] += amount
        x["loy_to"][idx[amount >= self.p["loyalty_min_expired"]]] = d + int(
            self.p["loyalty_effect_days"]
        )
        lost = amount > 0
        if lost.any():
            self.expiries.append((idx[lost], d, amount[lost]))

    def _purchase(self, b: np.ndarray, d: int) -> None:
        if not len(b):
            return
        x, p, rng, m = self.x, self.p, self.rng, len(b)
        x["n_purch"][b] += 1
        device = np.where(
            rng.random(m) < 0.85, x["device"][b], rng.integers(0, len(DEVICES), m)
        ).astype(np.int8)
        version = app_version(device, d - x["update_lag"][b], self.cal)
        reg = x["region"][b]
        dd = (
            np.array([r[3] for r in REGIONS])[reg]
            + rng.poisson(np.array([r[4] for r in REGIONS])[reg])
        ).astype(np.int32)
        r = rng.random(m)
        quality = (r < p["damaged_share"]).astype(np.int8) + 2 * (
            (r >= p["damaged_share"]) & (r < p["damaged_share"] + p["near_expiry_share"])
        ).astype(np.int8)
        value = np.round(x["basket"][b] * rng.lognormal(-0.08, 0.4, m), 2)

        slow = np.maximum(dd - int(p["slow_delivery_days"]), 0)
        x["del_from"][b] = d + dd
        x["del_to"][b] = d + dd + int(p["delivery_effect_days"])
        x["del_level"][b] = p["delivery"] * slow
        issue = quality > 0
        x["trust_to"][b] = np.where(
            issue,
            np.maximum(x["trust_to"][b], d + dd + int(p["trust_effect_days"])),
            x["trust_to"][b],
        )
        bug_row = [(dv, v) for dv, v, _ in APP_RELEASES].index(BUG_VERSION)
        failing = version == bug_row
        fixed_at = np.maximum(d, self.cal.bug_fix_day + x["update_lag"][b])
        x["tech_to"][b] = np.where(
            failing,
            np.maximum(x["tech_to"][b], fixed_at + int(p["technical_effect_days"])),
            x["tech_to"][b],
        )

        balance = x["E"][b] - x["C"][b]
        pays = rng.random(m) < x["savvy"][b]
        spent = np.where(pays, np.minimum(balance, np.floor(p["bonus_max_spend"] * value)), 0.0)
        x["C"][b] += spent
        earned = np.floor(p["bonus_rate"] * value)
        x["E"][b] += earned
        top = x["E"][b].copy()
        self.batches[d + self.ttl] = (b, top)
        expired = x["pending_expired"][b].copy()
        x["pending_expired"][b] = 0.0
        self.records.append(
            {
                "cust": b.astype(np.int32),
                "day": np.full(m, d, np.int32),
                "device": device,
                "version": version,
                "delivery_days": dd,
                "quality": quality,
                "value": value,
                "earned": earned,
                "spent": spent,
                "expired": expired,
                "consumed": x["C"][b].copy(),
                "top": top,
                "n_purch": x["n_purch"][b].copy(),
                "tech_to": x["tech_to"][b].copy(),
                "trust_to": x["trust_to"][b].copy(),
            }
        )

    def history(self) -> dict[str, np.ndarray]:
        """Every purchase as one record array per field, in day order.

        Hands the records over: the daily pieces are released as each field is joined.
        """
        out = {}
        for k in RECORD_FIELDS:
            empty = np.empty(0, np.float64 if k in MONEY_FIELDS else np.int32)
            out[k] = np.concatenate([r.pop(k) for r in self.records] or [empty])
        self.records.clear()
        return out

    def expiry_log(self) -> dict[str, np.ndarray]:
        """``cust, day, points`` of every expiry of unspent bonus points, in day order."""
        parts = self.expiries or [(np.empty(0, np.int64), 0, np.empty(0))]
        return {
            "cust": np.concatenate([c for c, _, _ in parts]).astype(np.int32),
            "day": np.concatenate([np.full(len(c), d, np.int32) for c, d, _ in parts]),
            "points": np.concatenate([a for _, _, a in parts]),
        }

    def replicate(self, idx: np.ndarray, copies: int, rng: np.random.Generator) -> Process:
        """``copies`` independent copies of customers ``idx`` (sorted), for re-simulation."""
        idx = np.sort(idx)
        rep = np.repeat(idx, copies)
        clone = Process(
            {k: v[rep].copy() for k, v in self.x.items()}, self.cal, self.p, self.ttl, rng
        )
        clone.alive = self.alive[rep].copy()
        clone.churn_day = self.churn_day[rep].copy()
        pos = np.full(len(self.alive), -1)
        pos[idx] = np.arange(len(idx))
        for day, (b, top) in self.batches.items():
            keep = pos[b] >= 0
            new = (pos[b[keep]][:, None] * copies + np.arange(copies)).ravel()
            clone.batches[day] = (new, np.repeat(top[keep], copies))
        return clone


def app_version(device: np.ndarray, seen: np.ndarray, cal: Calendar) -> np.ndarray:
    """Row of APP_RELEASES in use on each order (-1 for the website).

    ``seen`` is the day up to which the customer has installed releases (order day minus
    their update lag).
    """
    out = np.full(len(device), -1, np.int8)
    for code, name in enumerate(DEVICES):
        rows = [i for i, (dv, _, _) in enumerate(APP_RELEASES) if dv == name]
        if not rows:
            continue
        mine = device == code
        days = cal.release_day[rows]
        latest = np.searchsorted(days, seen[mine], "right") - 1
        out[mine] = np.asarray(rows)[np.maximum(latest, 0)]
    return out


def churn_reasons(parts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Primary reason drawn in proportion to the components; secondary the largest other one.

    A secondary reason is kept when it makes up at least a quarter of the churn-day hazard and
    neither reason is the external ``no_need``. Returns codes into REASONS (-1 for none).
    """
    total = parts.sum(axis=1, keepdims=True)
    cum = np.cumsum(parts / total, axis=1)
    primary = np.minimum((rng.random((len(parts), 1)) > cum).sum(axis=1), len(REASONS) - 1)
    rest = parts.copy()
    rest[np.arange(len(parts)), primary] = -1.0
    second = rest.argmax(axis=1)
    external = REASONS.index("no_need")
    keep = (rest.max(axis=1) >= 0.25 * total[:, 0]) & (primary != external) & (second != external)
    return primary, np.where(keep, second, -1)
