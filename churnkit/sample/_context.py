"""What an interviewer should know about a sampled customer, from the transaction log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from churnkit.io._transaction_log import TransactionLog

__all__ = ["interviewer_context"]


def interviewer_context(
    log: TransactionLog, customer_ids: pd.Series, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """What an interviewer should know about each customer, from the orders up to ``as_of``.

    Returns
    -------
    DataFrame
        ``customer_id, last_order_date, days_since_last_order, orders`` (distinct orders, or
        purchase days without ``order_id``), ``aov_band`` (average order value against the
        terciles of all buyers: low / medium / high), ``top_categories`` (up to three by
        revenue, ``; ``-joined), ``main_channel``, ``main_device`` (most orders), and with bonus
        columns ``bonus_balance`` (earned - spent - expired) and ``bonus_expired_90d``.
        Columns the orders lack are missing values.

    Examples
    --------
    >>> ctx = interviewer_context(log, pd.Series(["C000001"]))  # doctest: +SKIP
    """
    from churnkit.core._duck import connect

    at = pd.Timestamp(log.as_of if as_of is None else as_of).normalize()
    cols = set(log.orders.columns)
    key = "order_id" if "order_id" in cols else "order_date"
    day = f"DATE '{at.date()}'"
    wanted = pd.DataFrame({"customer_id": customer_ids.astype(str).to_numpy()})
    con = connect()
    try:
        con.register("orders", log.orders)
        con.register("wanted", wanted)
        # value per order of every buyer (for the AOV terciles), and the wanted customers' lines
        con.execute(
            f"""
            CREATE TEMP TABLE per AS
            SELECT customer_id, max(order_date) AS last_order_date,
                   count(DISTINCT {key}) AS orders, sum(revenue) / count(DISTINCT {key}) AS aov
            FROM orders WHERE NOT is_return AND order_date::DATE <= {day} GROUP BY customer_id;
            CREATE TEMP TABLE sub AS
            SELECT o.* FROM orders o JOIN wanted w USING (customer_id)
            WHERE o.order_date::DATE <= {day};
            """
        )
        lo, hi = con.execute("SELECT quantile_cont(aov, [1/3, 2/3]) FROM per").fetchone()[0] or (
            0,
            0,
        )
        parts = [_context_categories(cols), _context_mix(cols, key), _context_bonus(cols, day)]
        joins = "".join(f" LEFT JOIN ({sql}) USING (customer_id)" for sql in parts if sql)
        out = con.execute(
            f"""
            SELECT w.customer_id, p.last_order_date, p.orders,
                   CASE WHEN p.aov IS NULL THEN NULL WHEN p.aov <= {float(lo)!r} THEN 'low'
                        WHEN p.aov <= {float(hi)!r} THEN 'medium' ELSE 'high' END AS aov_band,
                   * EXCLUDE (customer_id, last_order_date, orders, aov)
            FROM wanted w LEFT JOIN per p USING (customer_id){joins}
            """
        ).df()
    finally:
        con.close()
    out["days_since_last_order"] = (at - pd.to_datetime(out["last_order_date"])).dt.days
    out["days_since_last_order"] = out["days_since_last_order"].astype("Int64")
    out["orders"] = out["orders"].astype("Int64")
    columns = ["customer_id", "last_order_date", "days_since_last_order", "orders", "aov_band"]
    columns += ["top_categories", "main_channel", "main_device", "bonus_balance"]
    columns += ["bonus_expired_90d"]
    for column in columns:
        if column not in out.columns:
            out[column] = np.nan if column.startswith("bonus") else None
    return out[columns]


def _context_categories(cols: set[str]) -> str:
    if "category" not in cols:
        return ""
    return """
        SELECT customer_id,
               string_agg(category, '; ' ORDER BY rev DESC, category) AS top_categories
        FROM (SELECT customer_id, category, sum(revenue) AS rev,
                     row_number() OVER (PARTITION BY customer_id
                                        ORDER BY sum(revenue) DESC, category) AS rk
              FROM sub WHERE NOT is_return AND category IS NOT NULL
              GROUP BY customer_id, category)
        WHERE rk <= 3 GROUP BY customer_id"""


def _context_mix(cols: set[str], key: str) -> str:
    """The channel and the device of most of a customer's orders (ties: alphabetical)."""
    picks = [
        f"""SELECT customer_id, first({c} ORDER BY n DESC, {c}) AS main_{c}
            FROM (SELECT customer_id, {c}, count(DISTINCT {key}) AS n FROM sub
                  WHERE NOT is_return AND {c} IS NOT NULL GROUP BY customer_id, {c})
            GROUP BY customer_id"""
        for c in ("channel", "device")
        if c in cols
    ]
    if len(picks) < 2:
        return picks[0] if picks else ""
    return f"SELECT * FROM ({picks[0]}) FULL JOIN ({picks[1]}) USING (customer_id)"


def _context_bonus(cols: set[str], day: str) -> str:
    if not {"bonus_earned", "bonus_spent", "bonus_expired"} <= cols:
        return ""
    return f"""
        SELECT customer_id,
               sum(coalesce(bonus_earned, 0) - coalesce(bonus_spent, 0)
                   - coalesce(bonus_expired, 0)) AS bonus_balance,
               coalesce(sum(bonus_expired) FILTER (WHERE order_date::DATE > {day} - 90), 0)
                   AS bonus_expired_90d
        FROM sub GROUP BY customer_id"""
