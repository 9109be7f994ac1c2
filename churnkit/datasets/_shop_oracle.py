"""The exact oracle: P(no purchase in a window) from the process's state at a cutoff.

Nothing changes a customer's hazard or purchase rate between purchases except events already
scheduled (bonus expiries, competitor promotions, the app fix, seasonality), so with no further
purchase the daily odds are known for every day of the window and the probability is a product.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from churnkit.datasets._shop_process import daily_odds
from churnkit.datasets._shop_setup import Calendar


def no_purchase_oracle(
    x: Mapping[str, np.ndarray],
    hist: Mapping[str, np.ndarray],
    expiries: Mapping[str, np.ndarray],
    churn_day: np.ndarray,
    cutoff: int,
    horizon: int,
    cal: Calendar,
    p: Mapping[str, float],
    ttl: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact P(no purchase in days ``cutoff+1 .. cutoff+horizon``) per started customer.

    Rebuilds each customer's state at the end of day ``cutoff`` from the purchase records and
    the bonus expiries up to it, schedules the expiries of the still unspent bonus batches, and
    multiplies the daily odds over the window. Returns (customer index, probability) for the
    customers whose first purchase is on or before the cutoff.
    """
    k = int(np.searchsorted(x["first_day"], cutoff, "right"))
    n_hist = int(np.searchsorted(hist["day"], cutoff, "right"))
    last = _last_index(hist["cust"][:n_hist], k)
    s = {name: x[name][:k] for name in ("sens", "care", "need", "lam", "first_boost", "first_day")}
    for name in ("n_purch", "tech_to", "trust_to"):
        s[name] = hist[name][last]
    day, dd = hist["day"][last], hist["delivery_days"][last]
    s["del_from"] = day + dd
    s["del_to"] = day + dd + int(p["delivery_effect_days"])
    s["del_level"] = p["delivery"] * np.maximum(dd - int(p["slow_delivery_days"]), 0)

    # points consumed by the cutoff: at the last purchase, or the top of the newest batch that
    # has expired since (batch tops only grow)
    n_old = int(np.searchsorted(hist["day"], cutoff - ttl, "right"))
    old = _last_index(hist["cust"][:n_old], k)
    consumed = np.maximum(
        hist["consumed"][last], np.where(old >= 0, hist["top"][np.maximum(old, 0)], 0.0)
    )
    felt = (expiries["day"] <= cutoff) & (expiries["points"] >= p["loyalty_min_expired"])
    loy_to = np.full(k, -1, np.int64)
    np.maximum.at(
        loy_to, expiries["cust"][felt], expiries["day"][felt] + int(p["loyalty_effect_days"])
    )
    s["loy_to"] = loy_to

    # batches still unexpired at the cutoff expire without a further purchase like this
    pend = slice(n_old, n_hist)
    pend_cust = hist["cust"][pend]
    amount = np.clip(hist["top"][pend] - consumed[pend_cust], 0.0, hist["earned"][pend])
    felt = amount >= p["loyalty_min_expired"]
    felt_cust, felt_day = pend_cust[felt], hist["day"][pend][felt] + ttl

    alive = churn_day[:k] > cutoff
    none_yet = np.ones(k)  # P(alive and no purchase so far)
    bought = np.zeros(k)
    for d in range(cutoff + 1, cutoff + horizon + 1):
        today = felt_day == d
        s["loy_to"][felt_cust[today]] = d + int(p["loyalty_effect_days"])
        _, h, q = daily_odds(s, d, cal, p)
        bought += none_yet * (1.0 - h) * q
        none_yet *= (1.0 - h) * (1.0 - q)
    prob = np.where(alive, 1.0 - bought, 1.0)
    return np.arange(k), np.clip(prob, 0.0, 1.0)


def _last_index(cust: np.ndarray, n: int) -> np.ndarray:
    """Position of each customer's last record in ``cust`` (records in day order), -1 if none."""
    last = np.full(n, -1, np.int64)
    np.maximum.at(last, cust, np.arange(len(cust)))
    return last
