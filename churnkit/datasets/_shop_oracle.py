"""The exact oracle: P(no purchase in a window) from the process's state at a cutoff.

Nothing changes a customer's hazard or purchase rate between purchases except events already
scheduled (bonus expiries, competitor promotions, the app fix, seasonality), so with no further
purchase the daily odds are known for every day of the window and the probability is a product.

Whether a customer is still alive at the cutoff is hidden from anyone who sees only the orders.
Without it, the same daily odds weigh the silence since the last purchase: P(alive | no purchase
since) is the chance of surviving those days without buying over the chance of not buying on
them at all (surviving, or churning on one of them).

The purchase rate is hidden too. Without it, the rate is integrated over its log-normal prior
(Gauss-Hermite nodes), each node weighted by the likelihood of the customer's own purchase days
and silence: on a day an alive customer does not churn, they buy with ``1 - exp(-rate s(d))``,
and churning does not depend on the rate, so those days carry all the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from churnkit.datasets._shop_process import daily_odds
from churnkit.datasets._shop_setup import CHANNELS, Calendar

_RATE_NODES = 40  # Gauss-Hermite nodes over the log purchase rate


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
    alive_known: bool = True,
    rate_known: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact P(no purchase in days ``cutoff+1 .. cutoff+horizon``) per started customer.

    Rebuilds each customer's state at the end of day ``cutoff`` from the purchase records and
    the bonus expiries up to it, schedules the expiries of the still unspent bonus batches, and
    multiplies the daily odds over the window. With ``alive_known`` a customer who has churned
    by the cutoff gets 1; without it, P(alive) comes from the silence since the last purchase.
    Without ``rate_known`` (only with ``alive_known=False``) the purchase rate is integrated
    out too. Returns (customer index, probability) for the customers whose first purchase is on or
    before the cutoff.
    """
    k = int(np.searchsorted(x["first_day"], cutoff, "right"))
    n_hist = int(np.searchsorted(hist["day"], cutoff, "right"))
    last = _last_index(hist["cust"][:n_hist], k)
    s = {name: x[name][:k] for name in ("sens", "care", "need", "first_boost", "first_day")}
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
    s["loy_to"] = _loyalty_effect_until(*_felt_expiries(expiries, p), cutoff + 1, k, p)

    # batches still unexpired at the cutoff expire without a further purchase like this
    pend = slice(n_old, n_hist)
    pend_cust = hist["cust"][pend]
    amount = np.clip(hist["top"][pend] - consumed[pend_cust], 0.0, hist["earned"][pend])
    felt = amount >= p["loyalty_min_expired"]
    felt_cust, felt_day = pend_cust[felt], hist["day"][pend][felt] + ttl

    if rate_known:
        s["lam"], log_weight = x["lam"][None, :k], np.zeros((1, k))
    else:
        s["lam"], log_weight = _rate_nodes(x, hist, n_hist, k, day, cal, p)
    if alive_known:
        silent = np.broadcast_to(churn_day[:k] > cutoff, s["lam"].shape).astype(float)
        gone = 1.0 - silent
    else:
        silent, gone = _silence(s, day, expiries, cutoff, cal, p)
    none_yet = np.ones(s["lam"].shape)  # P(alive and no purchase so far)
    bought = np.zeros(s["lam"].shape)
    for d in range(cutoff + 1, cutoff + horizon + 1):
        today = felt_day == d
        s["loy_to"][felt_cust[today]] = d + int(p["loyalty_effect_days"])
        _, h, q = daily_odds(s, d, cal, p)
        bought += none_yet * (1.0 - h) * q
        none_yet *= (1.0 - h) * (1.0 - q)
    weight = np.exp(log_weight - log_weight.max(axis=0))
    quiet = ((gone + silent * (1.0 - bought)) * weight).sum(axis=0)
    prob = quiet / ((gone + silent) * weight).sum(axis=0)
    return np.arange(k), np.clip(prob, 0.0, 1.0)


def _rate_nodes(
    x: Mapping[str, np.ndarray],
    hist: Mapping[str, np.ndarray],
    n_hist: int,
    k: int,
    last_day: np.ndarray,
    cal: Calendar,
    p: Mapping[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Purchase rates at the quadrature nodes, shape (nodes, k), and their log weights.

    The weight is the prior node weight times the likelihood of the purchase days between the
    first and the last one (the first is where the customer enters, not an outcome).
    """
    z, w = np.polynomial.hermite_e.hermegauss(_RATE_NODES)
    base = p["purchase_rate"] * np.array([c[2] for c in CHANNELS])[x["channel"][:k]]
    lam = base[None, :] * np.exp(p["purchase_rate_sigma"] * z)[:, None]
    cust, day = hist["cust"][:n_hist], hist["day"][:n_hist]
    repeat = hist["n_purch"][:n_hist] > 1
    cust, day = cust[repeat], day[repeat]
    before = np.concatenate([[0.0], np.cumsum(cal.season)])  # before[d] = sum of s(j), j < d
    exposure = before[last_day + 1] - before[x["first_day"][:k] + 1]
    exposure -= np.bincount(cust, weights=cal.season[day], minlength=k)
    log_lik = -lam * exposure
    for g in range(len(z)):
        bought = np.log(-np.expm1(-lam[g, cust] * cal.season[day]))
        log_lik[g] += np.bincount(cust, weights=bought, minlength=k)
    return lam, np.log(w)[:, None] + log_lik


def _silence(
    s: Mapping[str, np.ndarray],
    last_day: np.ndarray,
    expiries: Mapping[str, np.ndarray],
    cutoff: int,
    cal: Calendar,
    p: Mapping[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """P(alive and no purchase) and P(churned without a purchase) from ``last_day`` to ``cutoff``.

    ``s`` is the state after the last purchase; only the bonus-expiry effect moves between
    purchases, replayed here from the expiry log day by day. Shaped like ``s["lam"]``.
    """
    effect = int(p["loyalty_effect_days"])
    cust, when = _felt_expiries(expiries, p)
    first = int(last_day.min()) + 1
    loy_to = _loyalty_effect_until(cust, when, first, len(last_day), p)
    state = dict(s, loy_to=loy_to)
    silent = np.ones(s["lam"].shape)  # P(alive and no purchase so far)
    gone = np.zeros(s["lam"].shape)  # P(churned on one of the silent days)
    for d in range(first, cutoff + 1):
        today = when == d
        loy_to[cust[today]] = d + effect
        _, h, q = daily_odds(state, d, cal, p)
        quiet = last_day < d
        gone += np.where(quiet, silent * h, 0.0)
        silent = np.where(quiet, silent * (1.0 - h) * (1.0 - q), silent)
    return silent, gone


def _felt_expiries(
    expiries: Mapping[str, np.ndarray], p: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Customer and day of the bonus expiries big enough to raise the loyalty hazard."""
    felt = expiries["points"] >= p["loyalty_min_expired"]
    return expiries["cust"][felt], expiries["day"][felt]


def _loyalty_effect_until(
    cust: np.ndarray, day: np.ndarray, stop: int, n: int, p: Mapping[str, float]
) -> np.ndarray:
    """Last day of each customer's loyalty effect from the felt expiries before day ``stop``."""
    before = day < stop
    loy_to = np.full(n, -1, np.int64)
    np.maximum.at(loy_to, cust[before], day[before] + int(p["loyalty_effect_days"]))
    return loy_to


def _last_index(cust: np.ndarray, n: int) -> np.ndarray:
    """Position of each customer's last record in ``cust`` (records in day order), -1 if none."""
    last = np.full(n, -1, np.int64)
    np.maximum.at(last, cust, np.arange(len(cust)))
    return last
