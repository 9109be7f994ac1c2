"""The DuckDB query behind :func:`churnkit.build_features`, assembled from feature blocks.

One query computes every cutoff. With sorted cutoffs ``c_1 < ... < c_m``, each day falls in
the bucket ``b = #{i: c_i < day}``, so the days on or before ``c_i`` are exactly the buckets
``b < i``. Order lines are aggregated once per (customer, bucket); joining those partial
aggregates with the cutoff table on ``b < i`` and combining them gives the features at every
cutoff without reading a row twice, and nothing after a cutoff can reach its features.
Features that look at a window before the cutoff (orders in the last 90 days, …) join the
purchase days with the cutoffs on ``cutoff - 365 < day <= cutoff``.

Money, discounts and delivery times are summed as ``DECIMAL(18, 6)`` and gap spreads from
integer sums: floating-point sums depend on the order DuckDB's threads add rows in, and on
how days fall into buckets; decimal sums do not, so the same data gives bit-identical
features whatever the other cutoffs are.
"""

from __future__ import annotations

from dataclasses import dataclass

from churnkit.features._labels import CHURNED_SQL, IN_WINDOW_CTE

WINDOWS: tuple[int, ...] = (30, 90, 180, 365)
# look-ahead of ``bonus_expiring_next_<SOON_DAYS>d``: what is already scheduled to expire
SOON_DAYS = 30

_BUY = "NOT is_return"


def dec(column: str) -> str:
    """``column`` as an exact decimal (see the module docstring for why)."""
    return f"CAST({column} AS DECIMAL(18, 6))"


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _latest(value: str, name: str, where: str) -> tuple[str, str]:
    """Bucket and cutoff items for ``value`` on the latest day it is recorded (as ``name``).

    A (day, value) struct is maximised, so ties on a day go to the largest value and the
    result does not depend on row order.
    """
    return (
        f"max(struct_pack(d := day, v := {value})) FILTER (WHERE {where}) AS {name}",
        f"max({name}) AS {name}",
    )


@dataclass(frozen=True)
class Block:
    """The SQL of one group of features.

    Attributes
    ----------
    line : tuple of str
        ``expr AS name`` over the order lines of one customer in one bucket (``day`` is the
        order date as a DATE).
    cum : tuple of str
        ``expr AS name`` combining a customer's bucket rows up to the cutoff (``cutoff`` is in
        scope).
    ctes : tuple of str
        ``name AS (...)`` side tables with at most one row per (customer_id, cutoff).
    joins : tuple of str
        Names of the side tables to LEFT JOIN to the result.
    final : tuple of str
        Output columns: ``expr AS name`` or a plain name from ``cum`` or a side table.
    setup : tuple of str
        Statements to run on the connection before the query (e.g. ``CREATE TYPE``).
    """

    line: tuple[str, ...] = ()
    cum: tuple[str, ...] = ()
    ctes: tuple[str, ...] = ()
    joins: tuple[str, ...] = ()
    final: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()


def core_final() -> tuple[str, ...]:
    """Output columns of the features every log has (computed by :func:`features_sql`)."""
    gap_mean = "(last_day - first_day) / nullif(frequency - 1, 0)"
    gap_var = "(gap_sq - gap_sum * gap_sum / n_gaps) / nullif(n_gaps - 1, 0)"
    final = [
        "cutoff - last_day AS recency_days",
        "frequency",
        "money::DOUBLE AS monetary_total",
        "money::DOUBLE / frequency AS monetary_mean",
        "money_last::DOUBLE AS monetary_last",
        "cutoff - first_day AS tenure_days",
        f"{gap_mean} AS gap_mean",
        # greatest() skips NULLs, so the fewer-than-two-gaps case is handled before it
        f"CASE WHEN n_gaps >= 2 THEN sqrt(greatest(0, {gap_var})) END AS gap_std",
        "gap_last::DOUBLE AS gap_last",
        f"(cutoff - last_day) / ({gap_mean}) AS recency_gap_ratio",
    ]
    for w in WINDOWS:
        final += [
            f"coalesce(orders_{w}d, 0) AS orders_{w}d",
            f"coalesce(rev_{w}d, 0)::DOUBLE AS revenue_{w}d",
        ]
    final += [
        "coalesce(orders_90d, 0) - coalesce(orders_prev_90d, 0) AS orders_trend_90d",
        "(coalesce(rev_90d, 0) - coalesce(rev_prev_90d, 0))::DOUBLE AS revenue_trend_90d",
        "return_lines",
        "return_value::DOUBLE / nullif(money::DOUBLE, 0) AS return_share",
    ]
    return tuple(final)


def discount_block() -> Block:
    """Mean discount and the share of lines bought with one."""
    return Block(
        line=(
            f"sum({dec('discount')}) FILTER (WHERE {_BUY}) AS disc_sum",
            f"count(discount) FILTER (WHERE {_BUY}) AS disc_n",
            f"count(*) FILTER (WHERE {_BUY} AND discount > 0) AS disc_pos",
        ),
        cum=(
            "sum(disc_sum)::DOUBLE / nullif(sum(disc_n), 0) AS discount_mean",
            "sum(disc_pos)::DOUBLE / nullif(sum(disc_n), 0) AS discount_share",
        ),
        final=("discount_mean", "discount_share"),
    )


def category_block(last: str) -> Block:
    """Distinct categories bought, from each category's first day per customer."""
    return Block(
        ctes=(
            f"""cat_first AS (
                SELECT customer_id, min(order_date)::DATE AS day FROM orders
                WHERE {_BUY} AND category IS NOT NULL AND order_date <= {last}
                GROUP BY customer_id, category
            )""",
            """cat AS (
                SELECT c.customer_id, k.cutoff, count(*) AS n_categories
                FROM cat_first AS c JOIN k ON c.day <= k.cutoff GROUP BY c.customer_id, k.cutoff
            )""",
        ),
        joins=("cat",),
        final=("coalesce(n_categories, 0) AS category_breadth",),
    )


def mix_block(column: str, levels: dict[str, str], values: list[str]) -> Block:
    """Share of bought lines per level of ``column`` (value -> column name) and the latest value.

    ``last_<column>`` is the value on the most recent bought line that records one (on a day
    with several values, the alphabetically last). ``values`` holds, sorted, every value
    the bought lines up to the last cutoff record: each line's day and the value's position
    among them are packed into one integer, ``day * len(values) + position``, whose maximum
    gives that latest value. An integer maximum costs a fraction of maximising a (day, value)
    struct, and an ENUM of ``values`` finds the position by hashing, whatever their number.
    """
    text = f"CAST({column} AS VARCHAR)"
    line = [f"count({column}) FILTER (WHERE {_BUY}) AS {column}_n"]
    cum = []
    for i, (value, name) in enumerate(levels.items()):
        line.append(f"count(*) FILTER (WHERE {_BUY} AND {text} = {literal(value)}) AS {column}_{i}")
        cum.append(f"sum({column}_{i})::DOUBLE / nullif(sum({column}_n), 0) AS {name}")
    if not values:
        return Block(
            line=tuple(line),
            cum=tuple(cum),
            final=(*levels.values(), f"NULL::VARCHAR AS last_{column}"),
        )
    kind = f"{column}_values"
    n = len(values)
    # TRY_CAST: return lines, whose values may be unknown, are read before the FILTER drops them
    position = f"enum_code(TRY_CAST({text} AS {kind}))"
    latest = f"(day - DATE '1970-01-01')::BIGINT * {n} + {position}"
    line.append(f"max({latest}) FILTER (WHERE {_BUY} AND {column} IS NOT NULL) AS {column}_latest")
    cum.append(f"max({column}_latest) AS {column}_latest")
    return Block(
        line=tuple(line),
        cum=tuple(cum),
        final=(
            *levels.values(),
            # as the ENUM, which reaches pandas as a categorical rather than a million strings
            # a day before 1970 gives a negative key, whose remainder is negative too
            f"enum_range(NULL::{kind})[({column}_latest % {n} + {n}) % {n} + 1]::{kind} "
            f"AS last_{column}",
        ),
        setup=(f"CREATE TYPE {kind} AS ENUM ({', '.join(literal(v) for v in values)})",),
    )


def delivery_block(slow_days: float) -> Block:
    """Delivery time: mean, max, latest, and the share of slow lines."""
    line_latest, cum_latest = _latest(
        "delivery_days", "delivery_days_latest", f"{_BUY} AND delivery_days IS NOT NULL"
    )
    return Block(
        line=(
            f"sum({dec('delivery_days')}) FILTER (WHERE {_BUY}) AS deliv_sum",
            f"count(delivery_days) FILTER (WHERE {_BUY}) AS deliv_n",
            f"max(delivery_days) FILTER (WHERE {_BUY}) AS deliv_max",
            f"count(*) FILTER (WHERE {_BUY} AND delivery_days > {slow_days!r}) AS deliv_slow",
            line_latest,
        ),
        cum=(
            "sum(deliv_sum)::DOUBLE / nullif(sum(deliv_n), 0) AS delivery_days_mean",
            "max(deliv_max)::DOUBLE AS delivery_days_max",
            cum_latest,
            "sum(deliv_slow)::DOUBLE / nullif(sum(deliv_n), 0) AS delivery_slow_share",
        ),
        final=(
            "delivery_days_mean",
            "delivery_days_max",
            "delivery_days_latest.v::DOUBLE AS delivery_days_last",
            "delivery_slow_share",
        ),
    )


def quality_block(issue: str) -> Block:
    """Share of bought lines with a quality issue; ``issue`` is a SQL test of one line."""
    return Block(
        line=(
            f"count(quality_issue) FILTER (WHERE {_BUY}) AS qual_n",
            f"count(*) FILTER (WHERE {_BUY} AND {issue}) AS qual_bad",
        ),
        cum=("sum(qual_bad)::DOUBLE / nullif(sum(qual_n), 0) AS quality_issue_share",),
        final=("quality_issue_share",),
    )


def _bonus_totals(columns: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
    line = [f"coalesce(sum({dec(c)}), 0) AS {c}_b" for c in columns]
    cum = [f"sum({c}_b) AS {c}_sum" for c in columns]
    final = [f"{c}_sum::DOUBLE AS {c}_total" for c in columns]
    return line, cum, final


def bonus_recorded_block(columns: tuple[str, ...], last: str) -> Block:
    """Bonus totals and expiries as the orders record them (``bonus_expired`` per order)."""
    line, cum, final = _bonus_totals(columns)
    ctes: tuple[str, ...] = ()
    joins: tuple[str, ...] = ()
    if "bonus_expired" in columns:
        ctes = (
            f"""recorded_expiry AS (
                SELECT o.customer_id, k.cutoff,
                       sum({dec("o.bonus_expired")})
                           FILTER (WHERE o.order_date::DATE > k.cutoff - 60) AS x_60d,
                       k.cutoff - max(o.order_date::DATE) AS x_days_since
                FROM orders AS o JOIN k ON o.order_date::DATE <= k.cutoff
                WHERE o.bonus_expired > 0 AND o.order_date <= {last}
                GROUP BY o.customer_id, k.cutoff
            )""",
        )
        joins = ("recorded_expiry",)
        final += [
            "coalesce(x_60d, 0)::DOUBLE AS bonus_expired_last_60d",
            "x_days_since::DOUBLE AS days_since_bonus_expiry",
        ]
    if len(columns) == 3:
        final.append(
            "(bonus_earned_sum - bonus_spent_sum - bonus_expired_sum)::DOUBLE AS bonus_balance"
        )
    return Block(line=tuple(line), cum=tuple(cum), ctes=ctes, joins=joins, final=tuple(final))


def bonus_ledger_block(ttl: int, last: str) -> Block:
    """Bonus expiries derived point-in-time from the earned/spent ledger (FIFO, TTL).

    Conventions, per customer and day: bonuses earned on day ``e`` expire at the start of
    day ``e + ttl``; on each day, expiries come first, then spending, then earning (a bonus
    cannot pay for the order that earned it). Spending takes the oldest bonuses first; a
    day with negative net earnings (a reversal) counts as spending. Spending more than the
    balance is carried as a debt that later earnings pay off.

    With a fixed TTL the oldest bonus always expires first, so spending and expiry both eat
    the queue from the front. Let ``E_j`` be the cumulative earnings up to lot ``j`` (one
    lot per earning day) and ``S(x)`` the cumulative spending before day ``x``; then the
    cumulative amount expired once lot ``j`` has expired (on ``x_j = e_j + ttl``) is
    ``max(0, max_{i <= j} E_i - S(x_i))`` — a running maximum, which window functions
    compute without a loop. Every term uses days before the expiry only, so the expiries on
    or before a cutoff depend on data up to it only.

    ``bonus_expiring_next_30d`` is what the lots earned by the cutoff will burn in the next
    30 days if nothing more is spent: ``max(0, E_last - S(cutoff) - X(cutoff))`` with
    ``E_last`` the cumulative earnings of the last lot expiring in that window, ``S`` the
    spending to date and ``X`` the expiries to date — all known at the cutoff.
    """
    line, cum, final = _bonus_totals(("bonus_earned", "bonus_spent"))
    ctes = (
        f"""bonus_days AS (
            SELECT customer_id, order_date::DATE AS day,
                   coalesce(sum({dec("bonus_earned")}), 0) AS earned,
                   coalesce(sum({dec("bonus_spent")}), 0) AS spent
            FROM orders
            WHERE (bonus_earned <> 0 OR bonus_spent <> 0) AND order_date <= {last}
            GROUP BY customer_id, order_date
        )""",
        f"""lots AS (
            SELECT customer_id, day + {ttl} AS x_day,
                   sum(earned) OVER (
                       PARTITION BY customer_id ORDER BY day ROWS UNBOUNDED PRECEDING
                   ) AS cum_earned
            FROM bonus_days WHERE earned > 0
        )""",
        """outflows AS (
            SELECT customer_id, day,
                   sum(spent + greatest(-earned, 0)) OVER (
                       PARTITION BY customer_id ORDER BY day ROWS UNBOUNDED PRECEDING
                   ) AS cum_out
            FROM bonus_days WHERE spent + greatest(-earned, 0) <> 0
        )""",
        """expired AS (
            SELECT l.customer_id, l.x_day,
                   greatest(0, max(l.cum_earned - coalesce(o.cum_out, 0)) OVER (
                       PARTITION BY l.customer_id ORDER BY l.x_day ROWS UNBOUNDED PRECEDING
                   )) AS cum_expired
            FROM lots AS l ASOF LEFT JOIN outflows AS o
                ON l.customer_id = o.customer_id AND l.x_day > o.day
        )""",
        """expiries AS (
            SELECT customer_id, x_day, amount FROM (
                SELECT customer_id, x_day, cum_expired - coalesce(lag(cum_expired) OVER (
                    PARTITION BY customer_id ORDER BY x_day), 0) AS amount
                FROM expired
            ) WHERE amount > 0
        )""",
        """ledger AS (
            SELECT e.customer_id, k.cutoff,
                   sum(e.amount) AS x_total,
                   sum(e.amount) FILTER (WHERE e.x_day > k.cutoff - 60) AS x_60d,
                   k.cutoff - max(e.x_day) AS x_days_since
            FROM expiries AS e JOIN k ON e.x_day <= k.cutoff
            GROUP BY e.customer_id, k.cutoff
        )""",
        # lots earned by the cutoff that expire within the next SOON_DAYS days
        f"""soon AS (
            SELECT l.customer_id, k.cutoff, max(l.cum_earned) AS earned_soon
            FROM lots AS l JOIN k ON l.x_day > k.cutoff AND l.x_day <= k.cutoff + {SOON_DAYS}
                AND l.x_day - {ttl} <= k.cutoff
            GROUP BY l.customer_id, k.cutoff
        )""",
        """spent_by AS (
            SELECT o.customer_id, k.cutoff, arg_max(o.cum_out, o.day) AS out_by
            FROM outflows AS o JOIN k ON o.day <= k.cutoff
            GROUP BY o.customer_id, k.cutoff
        )""",
    )
    # without further spending, X after the next lots is max(X_cutoff, E_last - S_cutoff)
    expiring = "earned_soon - coalesce(out_by, 0) - coalesce(x_total, 0)"
    final += [
        "coalesce(x_total, 0)::DOUBLE AS bonus_expired_total",
        "(bonus_earned_sum - bonus_spent_sum - coalesce(x_total, 0))::DOUBLE AS bonus_balance",
        "coalesce(x_60d, 0)::DOUBLE AS bonus_expired_last_60d",
        "x_days_since::DOUBLE AS days_since_bonus_expiry",
        f"greatest(0, coalesce({expiring}, 0))::DOUBLE AS bonus_expiring_next_{SOON_DAYS}d",
    ]
    return Block(
        line=tuple(line),
        cum=tuple(cum),
        ctes=ctes,
        joins=("ledger", "soon", "spent_by"),
        final=tuple(final),
    )


def features_sql(blocks: list[Block], cutoffs: list[str], end: str, labelled: bool) -> str:
    """The whole query.

    Parameters
    ----------
    blocks : list of Block
        Optional feature groups; the core features are always computed.
    cutoffs : list of str
        SQL DATE literals of the cutoffs, sorted; the cutoff table ``k`` numbers them from 1
        in column ``i``.
    end : str
        SQL timestamp literal: order lines after it are not read.
    labelled : bool
        Add ``churned`` (see :mod:`churnkit.features._labels`).
    """

    bucket = " + ".join(f"(day > {c})::INT" for c in cutoffs)
    m = len(cutoffs)

    def items(kind: str) -> list[str]:
        return [item for b in blocks for item in getattr(b, kind)]

    ctes = items("ctes")
    joins = [f"LEFT JOIN {j} USING (customer_id, cutoff)" for j in items("joins")]
    buckets = "day_buckets"
    if line := items("line"):
        ctes.insert(0, _line_buckets_cte(line, bucket, m, end))
        buckets = "buckets"
    label = ""
    if labelled:
        ctes.append(IN_WINDOW_CTE)
        joins.append("LEFT JOIN in_window AS w USING (customer_id, cutoff)")
        # DOUBLE, not the DECIMAL of its literals, so that Arrow hands over plain floats
        label = f",\n({CHURNED_SQL})::DOUBLE AS churned"
    return f"""
    WITH {_days_ctes(bucket, m, end)},
    {",".join(ctes) + "," if ctes else ""}
    {_cum_cte(buckets, items("cum"))},
    recent AS (
        SELECT d.customer_id, k.cutoff, {", ".join(_recent_columns())}
        FROM days AS d JOIN k ON d.day > k.cutoff - 365 AND d.day <= k.cutoff
        WHERE d.n_lines > 0
        GROUP BY d.customer_id, k.cutoff
    )
    SELECT customer_id, cutoff,
           {", ".join((*core_final(), *items("final")))}{label}
    FROM cum
    LEFT JOIN recent USING (customer_id, cutoff)
    {" ".join(joins)}
    ORDER BY cutoff, customer_id
    """


def _line_buckets_cte(line: list[str], bucket: str, m: int, end: str) -> str:
    """Per customer and cutoff bucket, the line-level aggregates the blocks ask for."""
    return f"""line_buckets AS (
                SELECT customer_id, b, {", ".join(line)}
                FROM (
                    SELECT *, {bucket} AS b FROM (
                        SELECT *, order_date::DATE AS day FROM orders WHERE order_date <= {end}
                    )
                )
                WHERE b < {m}
                GROUP BY customer_id, b
            ),
            -- both come from the same lines, so they have the same (customer, bucket) keys
            buckets AS (SELECT * FROM day_buckets JOIN line_buckets USING (customer_id, b))"""


def _days_ctes(bucket: str, m: int, end: str) -> str:
    """Purchase days (lines of a day summed, gaps between buying days) and their buckets:
    a day's bucket ``b`` is the number of cutoffs it falls after."""
    return f"""days AS MATERIALIZED (
        SELECT *, {bucket} AS b,
               CASE WHEN n_lines > 0 THEN day - lag(day) OVER (
                   PARTITION BY customer_id, n_lines > 0 ORDER BY day) END AS gap
        FROM (
            SELECT customer_id, order_date::DATE AS day,
                   count(*) FILTER (WHERE {_BUY}) AS n_lines,
                   coalesce(sum({dec("revenue")}) FILTER (WHERE {_BUY}), 0) AS rev,
                   count(*) FILTER (WHERE is_return) AS n_return,
                   coalesce(-sum({dec("revenue")}) FILTER (WHERE is_return), 0) AS returned
            FROM orders WHERE order_date <= {end}
            GROUP BY customer_id, order_date
        )
    ),
    day_buckets AS (
        SELECT customer_id, b,
               count(*) FILTER (WHERE n_lines > 0) AS n_days,
               min(day) FILTER (WHERE n_lines > 0) AS first_b,
               max(day) FILTER (WHERE n_lines > 0) AS last_b,
               sum(rev) AS money_b,
               arg_max(rev, day) FILTER (WHERE n_lines > 0) AS money_last_b,
               count(gap) AS n_gaps_b,
               sum(gap) AS gap_sum_b,
               sum(gap * gap) AS gap_sq_b,
               arg_max(gap, day) AS gap_last_b,
               sum(n_return) AS n_return_b,
               sum(returned) AS returned_b
        FROM days WHERE b < {m}
        GROUP BY customer_id, b
    )"""


def _cum_cte(buckets: str, extra: list[str]) -> str:
    """Everything up to each cutoff: the buckets before it summed (cutoff ``i`` sees b < i)."""
    return f"""cum AS (
        SELECT x.customer_id, k.cutoff, k.labelled,
               sum(n_days)::BIGINT AS frequency,
               min(first_b) AS first_day,
               max(last_b) AS last_day,
               sum(money_b) AS money,
               arg_max(money_last_b, last_b) AS money_last,
               sum(n_gaps_b)::BIGINT AS n_gaps,
               sum(gap_sum_b)::BIGINT AS gap_sum,
               sum(gap_sq_b)::BIGINT AS gap_sq,
               arg_max(gap_last_b, last_b) AS gap_last,
               coalesce(sum(n_return_b), 0)::BIGINT AS return_lines,
               coalesce(sum(returned_b), 0) AS return_value
               {"".join(f", {c}" for c in extra)}
        FROM {buckets} AS x JOIN k ON x.b < k.i
        GROUP BY x.customer_id, k.cutoff, k.labelled
        HAVING sum(n_days) > 0
    )"""


def _recent_columns() -> list[str]:
    """Orders and revenue in the last 30/90/180/365 days and in the 90 days before the last 90."""
    recent = [
        item
        for w in WINDOWS
        for item in (
            f"count(*) FILTER (WHERE d.day > k.cutoff - {w}) AS orders_{w}d",
            f"sum(d.rev) FILTER (WHERE d.day > k.cutoff - {w}) AS rev_{w}d",
        )
    ]
    previous = "d.day > k.cutoff - 180 AND d.day <= k.cutoff - 90"
    return [
        *recent,
        f"count(*) FILTER (WHERE {previous}) AS orders_prev_90d",
        f"sum(d.rev) FILTER (WHERE {previous}) AS rev_prev_90d",
    ]
