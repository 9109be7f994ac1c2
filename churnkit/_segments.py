"""Lifecycle segment of every customer at a date, and the values that put it there.

One SQL pass (DuckDB) computes the segment variables for any number of snapshot dates, so
:func:`assign_segments` (one date) and :func:`churnkit.segment_dynamics` (one date per period)
agree by construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from churnkit._segment_rules import (
    FIRST_GAP_FALLBACK_DAYS,
    FIRST_GAP_MIN_CUSTOMERS,
    SegmentRules,
    default_segment_rules,
)

if TYPE_CHECKING:
    import pandas as pd

    from churnkit._log import TransactionLog

SEGMENT_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "segment",
    "purchases",
    "first_purchase",
    "last_purchase",
    "recency_days",
    "typical_gap_days",
    "recency_ratio",
    "revenue_window",
    "purchases_window",
    "value_pct",
)


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
    table = segment_snapshots(log, [at], rules)
    return table.drop(columns="snapshot")


def segment_snapshots(
    log: TransactionLog,
    snapshots: list[pd.Timestamp],
    rules: SegmentRules | None = None,
    *,
    with_next: bool = False,
) -> pd.DataFrame:
    """Segment variables per (snapshot, customer), sorted by snapshot then customer.

    With ``with_next``, each row also gets ``next_segment``, ``bought_next`` (a purchase in
    the period up to the next snapshot) and ``revenue_next`` (net revenue in that period);
    they are missing on the last snapshot.
    """
    import pandas as pd

    from churnkit._duck import query_df

    rules = rules or default_segment_rules()
    snaps = pd.DataFrame({"snapshot": pd.to_datetime(sorted(set(snapshots))).normalize()})
    tables: dict[str, Any] = {"orders": log.orders[["customer_id", "order_date", "revenue",
                                                    "is_return"]], "snaps": snaps}
    customers = log.customers
    if customers is not None and "registered_at" in customers.columns:
        tables["customers"] = customers[["customer_id", "registered_at"]]
        registered = """
            UNION ALL
            SELECT customer_id, CAST(registered_at AS DATE) FROM customers
            WHERE registered_at IS NOT NULL"""
    else:
        registered = ""
    sql = _SNAPSHOT_SQL.format(
        registered=registered,
        window=int(rules.value_window_days),
        min_gap=float(rules.min_gap_days),
        first_gap=_first_gap_sql(rules),
        segment=rules.case_sql(),
        next_cols=_NEXT_COLS if with_next else "",
        columns=", ".join(("snapshot", *SEGMENT_COLUMNS)),
    )
    out = query_df(sql, **tables)
    for col in ("snapshot", "first_purchase", "last_purchase"):
        out[col] = pd.to_datetime(out[col])
    for col in ("purchases", "purchases_window"):
        out[col] = out[col].astype("int64")
    out["segment"] = pd.Categorical(out["segment"], categories=list(rules.names))
    if with_next:
        out["next_segment"] = pd.Categorical(out["next_segment"], categories=list(rules.names))
    return out


def _first_gap_sql(rules: SegmentRules) -> str:
    if rules.first_gap_days != "auto":
        return f"{float(rules.first_gap_days)!r}"
    return (
        f"CASE WHEN fg.n >= {FIRST_GAP_MIN_CUSTOMERS} THEN fg.median_gap "
        f"ELSE {FIRST_GAP_FALLBACK_DAYS!r} END"
    )


_NEXT_COLS = """,
    lead(segment) OVER nxt AS next_segment,
    lead(purchases) OVER nxt > purchases AS bought_next,
    lead(rev_total) OVER nxt - rev_total AS revenue_next"""

# Cumulative purchase counts and net revenue per customer-day, then an ASOF join picks each
# customer's state at each snapshot (and at the start of the value window) without a cross
# join of orders and snapshots.
_SNAPSHOT_SQL = """
WITH occ AS (
    SELECT customer_id, CAST(order_date AS DATE) AS day,
           sum(revenue) AS revenue, bool_or(NOT is_return) AS is_purchase
    FROM orders
    WHERE CAST(order_date AS DATE) <= (SELECT max(snapshot) FROM snaps)
    GROUP BY customer_id, CAST(order_date AS DATE)
),
cum AS (
    SELECT customer_id, day,
           sum(CAST(is_purchase AS INTEGER)) OVER w AS n,
           sum(revenue) OVER w AS rev,
           max(CASE WHEN is_purchase THEN day END) OVER w AS last_day
    FROM occ
    WINDOW w AS (PARTITION BY customer_id ORDER BY day
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
firsts AS (
    SELECT customer_id,
           min(day) FILTER (WHERE n = 1) AS first_day,
           min(day) FILTER (WHERE n = 2) AS second_day
    FROM cum GROUP BY customer_id
),
starts AS (
    SELECT customer_id, min(day) AS start_day FROM (
        SELECT customer_id, day FROM occ {registered}
    ) GROUP BY customer_id
),
first_gaps AS (
    SELECT s.snapshot, count(f.customer_id) AS n,
           median(f.second_day - f.first_day) AS median_gap
    FROM snaps s LEFT JOIN firsts f ON f.second_day <= s.snapshot
    GROUP BY s.snapshot
),
pairs AS (
    SELECT st.customer_id, CAST(s.snapshot AS DATE) AS snapshot
    FROM starts st JOIN snaps s ON st.start_day <= s.snapshot
),
at_t AS (
    SELECT p.customer_id, p.snapshot, coalesce(c.n, 0) AS purchases,
           coalesce(c.rev, 0.0) AS rev_total, c.last_day
    FROM pairs p ASOF LEFT JOIN cum c
      ON p.customer_id = c.customer_id AND c.day <= p.snapshot
),
at_w AS (
    SELECT p.customer_id, p.snapshot,
           coalesce(c.n, 0) AS n_before, coalesce(c.rev, 0.0) AS rev_before
    FROM pairs p ASOF LEFT JOIN cum c
      ON p.customer_id = c.customer_id AND c.day <= p.snapshot - {window}
),
vals AS (
    SELECT t.customer_id, t.snapshot, t.purchases, t.rev_total,
           f.first_day AS first_purchase, t.last_day AS last_purchase,
           CASE WHEN t.purchases > 0 THEN t.snapshot - t.last_day ELSE 0 END AS recency_days,
           CASE WHEN t.purchases >= 2
                THEN greatest((t.last_day - f.first_day) / (t.purchases - 1), {min_gap})
                WHEN t.purchases = 1 THEN greatest({first_gap}, {min_gap})
           END AS typical_gap_days,
           t.rev_total - w.rev_before AS revenue_window,
           t.purchases - w.n_before AS purchases_window
    FROM at_t t
    JOIN at_w w USING (customer_id, snapshot)
    LEFT JOIN firsts f USING (customer_id)
    JOIN first_gaps fg ON fg.snapshot = t.snapshot
),
ranked AS (
    SELECT *,
           coalesce(recency_days / typical_gap_days, 0.0) AS recency_ratio,
           CASE WHEN purchases > 0
                THEN 100.0 * percent_rank() OVER (
                    PARTITION BY snapshot, purchases > 0 ORDER BY revenue_window)
                ELSE 0.0 END AS value_pct
    FROM vals
),
segmented AS (
    SELECT *, {segment} AS segment FROM ranked
)
SELECT {columns}{next_cols}
FROM segmented
WINDOW nxt AS (PARTITION BY customer_id ORDER BY snapshot)
ORDER BY snapshot, customer_id
"""
