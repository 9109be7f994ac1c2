"""Lifecycle segment of every customer at a date, and the values that put it there.

DuckDB reduces the order lines to purchase occasions once; a sweep over the snapshot dates
then advances every customer's running state (purchases, net revenue, last purchase) with
the occasions of each period. :func:`assign_segments` (one date) and
:func:`churnkit.segment_dynamics` (one date per period) share the sweep, so they agree by
construction, and the cost grows with occasions + customers × dates, not with their product
of joins.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from churnkit.segments._rules import (
    FIRST_GAP_FALLBACK_DAYS,
    FIRST_GAP_MIN_CUSTOMERS,
    SegmentRules,
    default_segment_rules,
)

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog

_EPOCH = np.datetime64("1970-01-01", "D")


def assign_segments(
    log: TransactionLog, at: Any = None, rules: SegmentRules | None = None
) -> pd.DataFrame:
    """The lifecycle segment of each customer at the end of day ``at``.

    Uses only orders on or before ``at``. Customers count from their first order line, or
    from ``registered_at`` in the customers table (those without a purchase are ``new``).

    Parameters
    ----------
    log : TransactionLog
        Validated orders (and customers, for registered customers without a purchase).
    at : date-like, optional
        Defaults to ``log.as_of``.
    rules : SegmentRules, optional
        Defaults to :func:`churnkit.default_segment_rules`.

    Returns
    -------
    DataFrame
        One row per customer, sorted by ``customer_id``: ``segment`` and the values behind
        it — ``purchases`` (purchase occasions), ``first_purchase``, ``last_purchase``,
        ``recency_days``, ``typical_gap_days``, ``recency_ratio``, ``revenue_window`` and
        ``purchases_window`` (net revenue and purchases in the last ``value_window_days``) and
        ``value_pct`` (percentile of ``revenue_window`` among buyers).

    Examples
    --------
    >>> import churnkit
    >>> from churnkit.datasets import make_shop
    >>> shop = make_shop(2_000, seed=1)
    >>> log = churnkit.load_orders(shop.orders, customers=shop.customers)  # doctest: +SKIP
    >>> churnkit.assign_segments(log, at="2024-06-30").segment.value_counts()  # doctest: +SKIP
    """
    import pandas as pd

    at = pd.Timestamp(log.as_of if at is None else at).normalize()
    return segments_at(log, [at], rules).drop(columns="at")


def segments_at(
    log: TransactionLog, dates: list[Any], rules: SegmentRules | None = None
) -> pd.DataFrame:
    """:func:`assign_segments` at several dates in one sweep, with a leading ``at`` column.

    Rows are sorted by date, then customer. Cheaper than one call per date: the order lines
    are reduced to purchase occasions once.
    """
    import pandas as pd

    rules = rules or default_segment_rules()
    dates = sorted({pd.Timestamp(d).normalize() for d in dates})
    history = _History.of(log)
    parts = [_state_frame(history, state, rules) for state in _sweep(history, dates, rules)]
    return pd.concat(parts, ignore_index=True)


def _state_frame(history: _History, state: _State, rules: SegmentRules) -> pd.DataFrame:
    import pandas as pd

    rows = state.present
    out = pd.DataFrame({"at": state.at, "customer_id": history.ids.take(rows)})
    out["segment"] = pd.Categorical.from_codes(
        state.segment[rows].astype("int64"), categories=list(rules.names)
    )
    out["purchases"] = state.purchases[rows]
    out["first_purchase"] = _dates(np.where(state.purchases[rows] > 0, history.first_day[rows], -1))
    out["last_purchase"] = _dates(state.last_day[rows])
    for col in (
        "recency_days",
        "typical_gap_days",
        "recency_ratio",
        "revenue_window",
        "purchases_window",
        "value_pct",
    ):
        out[col] = getattr(state, col)[rows]
    return out


def segment_transitions(
    log: TransactionLog, bounds: list[pd.Timestamp], rules: SegmentRules
) -> pd.DataFrame:
    """Customers per snapshot, segment and segment at the next snapshot.

    Returns one row per (``snapshot``, ``segment``, ``next_segment``, ``entered``) with
    ``customers``, ``buyers`` (bought before the next snapshot) and ``revenue_next`` (their
    net revenue until then). ``entered`` marks customers who first appear at that snapshot
    (after the first one); ``next_segment`` is missing at the last snapshot.
    """
    import pandas as pd

    bounds = sorted(pd.Timestamp(b).normalize() for b in bounds)
    history = _History.of(log)
    k = len(rules.names)
    parts = []
    previous: _State | None = None
    for state in _sweep(history, bounds, rules, exact_value=False):
        if previous is not None:
            parts.append(_transitions(previous, state, k))
        previous = state
    if previous is not None:
        parts.append(_transitions(previous, None, k))
    out = pd.concat(parts, ignore_index=True)
    names = list(rules.names)
    out.insert(1, "segment", pd.Categorical.from_codes(out.pop("segment_index"), names))
    out.insert(2, "next_segment", pd.Categorical.from_codes(out.pop("next_index"), names))
    return out


def _transitions(now: _State, nxt: _State | None, k: int) -> pd.DataFrame:
    """Counts from one snapshot's segments to the next one's, and who entered at ``now``."""
    import pandas as pd

    rows = now.present
    seg = now.segment[rows].astype(np.int64)
    if nxt is None:
        to = np.full(len(rows), -1, dtype=np.int64)
        bought = np.zeros(len(rows), dtype=bool)
        revenue = np.zeros(len(rows))
    else:
        to = nxt.segment[rows].astype(np.int64)
        bought = nxt.purchases[rows] > now.purchases[rows]
        revenue = nxt.rev_total[rows] - now.rev_total[rows]
    entered = now.entered[rows]
    # one code per (segment, next segment, entered) cell; counting codes needs no sort
    code = (seg * (k + 1) + (to + 1)) * 2 + entered
    size = k * (k + 1) * 2
    customers = np.bincount(code, minlength=size)
    cells = np.flatnonzero(customers)
    return pd.DataFrame(
        {
            "snapshot": now.at,
            "segment_index": cells // 2 // (k + 1),
            "next_index": cells // 2 % (k + 1) - 1,
            "entered": (cells % 2).astype(bool),
            "customers": customers[cells].astype(np.int64),
            "buyers": np.bincount(code, weights=bought, minlength=size)[cells].astype(np.int64),
            "revenue_next": np.bincount(code, weights=revenue, minlength=size)[cells],
        }
    )


@dataclass
class _History:
    """Purchase occasions (sorted by day) and per-customer facts, customers as integer keys.

    Days are integers (days since 1970-01-01); ``-1`` marks "none" in day arrays.
    """

    ids: Any  # customer ids, sorted; a key is a position in it
    key: np.ndarray  # per occasion
    day: np.ndarray
    revenue: np.ndarray  # net revenue of the customer-day (returns subtracted)
    is_purchase: np.ndarray  # the day has a non-return line
    start_day: np.ndarray  # per customer: first order line or registration
    first_day: np.ndarray  # per customer: first purchase occasion
    second_day: np.ndarray  # per customer: second purchase occasion

    @classmethod
    def of(cls, log: TransactionLog) -> _History:
        """The log's whole history, computed once per log and reused.

        Per-customer facts cover all the data; the sweep only compares them with a snapshot
        date (a first purchase counts once it is on or before the date), so the future
        stays invisible.
        """
        cached = log.__dict__.get("_segment_history")
        if cached is not None and cached[0] is log.orders and cached[1] is log.customers:
            return cached[2]
        history = cls._compute(log)
        log.__dict__["_segment_history"] = (log.orders, log.customers, history)
        return history

    @classmethod
    def _compute(cls, log: TransactionLog) -> _History:
        import pandas as pd

        from churnkit.core._duck import connect

        customers = log.customers
        registered = customers is not None and "registered_at" in customers.columns
        known = "SELECT DISTINCT customer_id FROM orders"
        if registered:
            known += " UNION SELECT customer_id FROM customers"
        con = connect()
        try:
            # DuckDB scans only the columns it needs; customers become integer keys (their
            # rank in sorted order), far cheaper to group, sort and index than strings
            # beside a frame of millions of order lines, the join and grouping spill to disk
            # rather than double the process's memory
            con.execute("SET memory_limit = '1GB'")
            con.execute(f"SET temp_directory = '{_spill_dir()}'")
            con.register("orders", log.orders)
            if registered:
                con.register("customers", customers[["customer_id", "registered_at"]])
            con.execute(
                "CREATE TEMP TABLE ids AS SELECT customer_id, "
                "(row_number() OVER (ORDER BY customer_id) - 1)::INTEGER AS key "
                f"FROM ({known})"
            )
            occ = con.execute(
                """
                SELECT i.key, CAST(CAST(o.order_date AS DATE) - DATE '1970-01-01' AS INTEGER) AS day,
                       sum(o.revenue) AS revenue, bool_or(NOT o.is_return) AS is_purchase
                FROM orders AS o JOIN ids AS i USING (customer_id)
                GROUP BY ALL ORDER BY day, i.key
                """
            ).fetchnumpy()
            reg = None
            if registered:
                reg = con.execute(
                    """
                    SELECT i.key, CAST(CAST(c.registered_at AS DATE) - DATE '1970-01-01'
                                       AS INTEGER) AS day
                    FROM customers AS c JOIN ids AS i USING (customer_id)
                    WHERE c.registered_at IS NOT NULL
                    """
                ).fetchnumpy()
            ids = con.sql("SELECT customer_id FROM ids ORDER BY key").to_arrow_table()
        finally:
            con.close()
        uniques = pd.array(ids.column(0).combine_chunks(), dtype=pd.StringDtype("pyarrow"))
        n_keys = len(uniques)
        # int32 keeps the per-occasion arrays small; results widen where they are summed
        key = np.asarray(occ.pop("key"), dtype=np.int32)
        day = np.asarray(occ.pop("day"), dtype=np.int32)
        is_purchase = np.asarray(occ["is_purchase"], dtype=bool)
        start_day = np.full(n_keys, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(start_day, key, day)
        if reg is not None:
            np.minimum.at(start_day, reg["key"], reg["day"])
        first_day, second_day = _first_two(key[is_purchase], day[is_purchase], n_keys)
        return cls(
            ids=uniques,
            key=key,
            day=day,
            revenue=np.asarray(occ["revenue"], dtype=float),
            is_purchase=is_purchase,
            start_day=start_day,
            first_day=first_day,
            second_day=second_day,
        )


def _spill_dir() -> str:
    import tempfile
    from pathlib import Path

    return str(Path(tempfile.gettempdir()) / "churnkit-duckdb")


def _first_two(key: np.ndarray, day: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Each key's first and second day (``-1`` when missing); one row per (key, day)."""
    none = np.iinfo(np.int64).max
    first = np.full(n_keys, none, dtype=np.int64)
    np.minimum.at(first, key, day)
    # days are distinct within a key, so the second is the least day after the first
    later = day > first[key]
    second = np.full(n_keys, none, dtype=np.int64)
    np.minimum.at(second, key[later], day[later])
    first[first == none] = -1
    second[second == none] = -1
    return first, second


@dataclass
class _State:
    """Every customer's segment variables at one snapshot (arrays indexed by key)."""

    at: pd.Timestamp
    present: np.ndarray  # keys known at the snapshot, sorted
    entered: np.ndarray  # known now, not at the previous snapshot
    purchases: np.ndarray
    rev_total: np.ndarray
    last_day: np.ndarray
    recency_days: np.ndarray
    typical_gap_days: np.ndarray
    recency_ratio: np.ndarray
    revenue_window: np.ndarray
    purchases_window: np.ndarray
    value_pct: np.ndarray
    segment: np.ndarray


def _sweep(
    history: _History,
    snapshots: list[pd.Timestamp],
    rules: SegmentRules,
    *,
    exact_value: bool = True,
) -> Iterator[_State]:
    """Advance running totals through the occasions, yielding the state at each snapshot.

    With ``exact_value=False`` only the segments are exact: ``value_pct`` is replaced by the
    rules' cut point at or below it (enough to classify), found without sorting.
    """
    n_keys = len(history.ids)
    window = int(rules.value_window_days)
    purchases = np.zeros(n_keys, dtype=np.int64)
    rev_total = np.zeros(n_keys)
    n_before = np.zeros(n_keys, dtype=np.int64)  # totals up to snapshot - window
    rev_before = np.zeros(n_keys)
    last_day = np.full(n_keys, -1, dtype=np.int64)
    done = done_before = 0
    known_before: np.ndarray | None = None  # None before the first snapshot
    value_cuts = rules.cut_points("value_pct")
    has_second = history.second_day >= 0
    gap_order = np.argsort(history.second_day[has_second], kind="stable")
    second_sorted = history.second_day[has_second][gap_order]
    gaps_sorted = (history.second_day - history.first_day)[has_second][gap_order]
    for at in snapshots:
        t = int((np.datetime64(at.date(), "D") - _EPOCH).astype(np.int64))
        upto = int(np.searchsorted(history.day, t, side="right"))
        sl = slice(done, upto)
        k, p = history.key[sl], history.is_purchase[sl]
        purchases += np.bincount(k, weights=p, minlength=n_keys).astype(np.int64)
        rev_total += np.bincount(k, weights=history.revenue[sl], minlength=n_keys)
        # occasions are sorted by day, so the last write per key is its latest purchase
        last_day[k[p]] = history.day[sl][p]
        done = upto
        upto = int(np.searchsorted(history.day, t - window, side="right"))
        sl = slice(done_before, upto)
        k = history.key[sl]
        n_before += np.bincount(k, weights=history.is_purchase[sl], minlength=n_keys).astype(
            np.int64
        )
        rev_before += np.bincount(k, weights=history.revenue[sl], minlength=n_keys)
        done_before = upto

        known = history.start_day <= t
        present = np.flatnonzero(known)
        buyer = purchases > 0
        recency = np.where(buyer, t - last_day, 0)
        n_second = int(np.searchsorted(second_sorted, t, side="right"))
        gap = np.empty(n_keys)
        repeat = purchases >= 2
        gap[repeat] = (last_day[repeat] - history.first_day[repeat]) / (purchases[repeat] - 1)
        gap[~repeat] = _first_gap(rules, gaps_sorted[:n_second])
        gap = np.maximum(gap, float(rules.min_gap_days))
        ratio = np.where(buyer, recency / gap, 0.0)
        revenue_window = rev_total - rev_before
        value_pct = np.zeros(n_keys)
        buyers = np.flatnonzero(buyer & known)
        if len(buyers) > 1:
            ranked = revenue_window[buyers]
            value_pct[buyers] = (
                _percent_rank(ranked) if exact_value else _value_floor(ranked, value_cuts)
            )
        values = {
            "purchases": purchases.astype(float),
            "recency_ratio": ratio,
            "value_pct": value_pct,
            "recency_days": recency.astype(float),
        }
        yield _State(
            at=at,
            present=present,
            entered=known & ~known_before if known_before is not None else np.zeros_like(known),
            purchases=purchases.copy(),
            rev_total=rev_total.copy(),
            last_day=last_day.copy(),
            recency_days=recency,
            typical_gap_days=np.where(buyer, gap, np.nan),
            recency_ratio=ratio,
            revenue_window=revenue_window,
            purchases_window=purchases - n_before,
            value_pct=value_pct,
            segment=rules.classify(values),
        )
        known_before = known


def _value_floor(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """For each value, the largest cut ``c`` with ``percent rank >= c`` (0 when none).

    ``percent rank >= c`` means at least ``k = ceil(c (n - 1) / 100)`` other values lie
    strictly below, i.e. the value exceeds the ``k``-th smallest: a selection, not a sort.
    """
    n = len(values)
    out = np.zeros(n)
    for cut in cuts:
        k = int(np.ceil(cut * (n - 1) / 100.0 - 1e-9))
        if k <= 0:
            out[:] = cut
            continue
        if k > n - 1:
            break
        kth = np.partition(values, k - 1)[k - 1]
        out[values > kth] = cut
    return out


def _percent_rank(values: np.ndarray) -> np.ndarray:
    """100 × the share of the other values strictly below each value (ties share a rank)."""
    order = np.argsort(values)
    ordered = values[order]
    # position of the first of each run of equal values = how many values are below it
    new_run = np.r_[True, ordered[1:] != ordered[:-1]]
    below = np.flatnonzero(new_run)[np.cumsum(new_run) - 1]
    out = np.empty(len(values))
    out[order] = 100.0 * below / (len(values) - 1)
    return out


def _first_gap(rules: SegmentRules, gaps: np.ndarray) -> float:
    """Typical gap of one-time buyers: configured, or the median first-to-second gap so far."""
    if rules.first_gap_days != "auto":
        return float(rules.first_gap_days)
    if len(gaps) < FIRST_GAP_MIN_CUSTOMERS:
        return FIRST_GAP_FALLBACK_DAYS
    return float(np.median(gaps))


def _dates(days: np.ndarray) -> pd.Series:
    import pandas as pd

    out = pd.Series(days.astype("datetime64[D]"), dtype="datetime64[ns]")
    out[days < 0] = pd.NaT
    return out
