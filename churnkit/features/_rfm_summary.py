"""Per-customer frequency / recency / T / monetary value at a cutoff, the input of BG/NBD."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError, DataValidationError, MissingColumnError, plain

_NEEDED = ("customer_id", "order_date", "revenue")


def rfm_summary(purchases: pd.DataFrame, at: Any, time_unit_days: float = 1.0) -> pd.DataFrame:
    """Summarise purchase occasions on or before ``at`` into one row per customer.

    Only occasions with ``order_date <= at`` are used, so removing later rows changes nothing.
    Customers whose first occasion is after ``at`` do not appear.

    Parameters
    ----------
    purchases : DataFrame
        One row per purchase occasion (customer, day) with ``customer_id``, ``order_date``
        and ``revenue``, e.g. ``TransactionLog.purchases(at)``.
    at : date-like
        The cutoff (a day; its time of day is ignored).
    time_unit_days : float, default 1.0
        Length of the time unit of ``recency`` and ``T`` in days (7 for weeks).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), columns ``frequency`` (repeat occasions:
        occasions - 1), ``recency`` (first to last occasion), ``T`` (first occasion to
        ``at``) and ``monetary_value`` (mean revenue of the repeat occasions, the first one
        excluded; 0 when frequency is 0).

    Examples
    --------
    >>> purchases = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-01-29", "2024-01-22"]),
    ...     "revenue": [10.0, 20.0, 40.0, 5.0],
    ... })
    >>> rfm_summary(purchases, "2024-02-05", time_unit_days=7)  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency    T  monetary_value
    customer_id
    a                    2      4.0  5.0            30.0
    b                    0      0.0  2.0             0.0
    """
    missing = [c for c in _NEEDED if c not in purchases.columns]
    if missing:
        raise MissingColumnError(
            f"purchases is missing the columns {missing}; pass one row per purchase occasion, "
            "e.g. log.purchases(at) of a churnkit.TransactionLog."
        )
    if not pd.api.types.is_datetime64_any_dtype(purchases["order_date"]):
        raise DataValidationError(
            f"purchases column 'order_date' must be datetime64, got "
            f"{purchases['order_date'].dtype}; parse it with pd.to_datetime(...)."
        )
    try:
        unit = float(time_unit_days)
    except (TypeError, ValueError) as e:
        raise ChurnkitError(
            f"time_unit_days must be a number of days > 0, got {time_unit_days!r}"
        ) from e
    if not np.isfinite(unit) or unit <= 0:
        raise ChurnkitError(f"time_unit_days must be a number of days > 0, got {time_unit_days!r}")
    try:
        cutoff = pd.Timestamp(at)
    except (TypeError, ValueError) as e:
        raise ChurnkitError(f"at must be a date, got {at!r}") from e
    if pd.isna(cutoff):
        raise ChurnkitError(f"at must be a date, got {at!r}")
    cutoff = cutoff.normalize()

    known = purchases["order_date"] <= cutoff
    # filtering copies every column; usually the purchases end at the cutoff already
    seen = purchases if known.all() else purchases[known]
    _check_missing(seen)
    codes, ids = _customer_codes(seen["customer_id"])
    days = seen["order_date"].to_numpy()
    _check_occasions(seen, codes, days)
    # every code occurs, so the starting values never survive
    ticks = days.view("int64")
    first_tick = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first_tick, codes, ticks)
    last_tick = np.full(len(ids), np.iinfo(np.int64).min)
    np.maximum.at(last_tick, codes, ticks)
    first_date = pd.Series(first_tick.view(days.dtype))
    # days are distinct per customer (checked above), so every occasion but the first repeats
    frequency = pd.Series(np.bincount(codes, minlength=len(ids)) - 1, dtype="int64")
    is_repeat = ticks > first_tick[codes]
    repeat_revenue = seen["revenue"].where(is_repeat, 0.0).groupby(codes, sort=True).sum()
    day = pd.Timedelta(days=unit)
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (pd.Series(last_tick.view(days.dtype)) - first_date) / day,
            "T": (cutoff - first_date) / day,
            "monetary_value": repeat_revenue.to_numpy() / frequency.where(frequency > 0),
        }
    )
    summary["monetary_value"] = summary["monetary_value"].fillna(0.0)
    summary.index = pd.Index(ids, name="customer_id")
    return summary


def _customer_codes(customer: pd.Series) -> tuple[np.ndarray, Any]:
    """Each row's customer as an integer code in sorted order, and the sorted customers.

    Integer codes are far cheaper to group by than strings, and their groups come out in
    the order of the index.
    """
    if not customer.is_monotonic_increasing:
        return pd.factorize(customer, sort=True)
    # sorted already (as log.purchases gives): a new code starts where the customer changes,
    # which spares hashing and sorting a million strings
    values = customer.array
    new = np.ones(len(values), dtype=bool)
    new[1:] = np.asarray(values[1:] != values[:-1])
    return np.cumsum(new) - 1, values[new]


def _check_missing(seen: pd.DataFrame) -> None:
    """Reject missing values, naming the first row."""
    for column in _NEEDED:
        bad = seen[column].isna()
        if bad.any():
            row = plain(bad.idxmax())
            raise DataValidationError(
                f"purchases column {column!r} is missing at row {row!r} ({int(bad.sum())} such "
                "rows); fix or remove those rows before summarising."
            )


def _check_occasions(seen: pd.DataFrame, codes: np.ndarray, days: np.ndarray) -> None:
    """Reject times of day and repeated (customer, day) rows, naming the first one."""
    timed = seen["order_date"] != seen["order_date"].dt.normalize()
    if timed.any():
        row = plain(timed.idxmax())
        raise DataValidationError(
            f"purchases column 'order_date' has a time of day at row {row!r} "
            f"({seen.at[row, 'order_date']}); occasions are days: pass log.purchases(at), or "
            "merge each customer's rows per day after df['order_date'].dt.normalize()."
        )
    # sorted input (as log.purchases gives) is checked in one pass; anything else is sorted
    # stably by (customer, day), which puts each repeat right after an earlier row of its key
    step = np.diff(codes)
    if np.all((step > 0) | ((step == 0) & (np.diff(days) > np.timedelta64(0)))):
        return
    order = np.lexsort((days, codes))
    repeat = (codes[order][1:] == codes[order][:-1]) & (days[order][1:] == days[order][:-1])
    if repeat.any():
        row = plain(seen.index[order[1:][repeat].min()])
        raise DataValidationError(
            f"purchases has more than one row for customer {seen.at[row, 'customer_id']!r} on "
            f"{seen.at[row, 'order_date'].date()} (row {row!r}); a purchase occasion is one "
            "customer's lines of one day: pass log.purchases(at), which merges them."
        )
