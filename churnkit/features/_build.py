"""Point-in-time features per customer and cutoff, with the churn label at a horizon."""

from __future__ import annotations

import math
import numbers
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError, DataValidationError, MissingColumnError
from churnkit.features._labels import as_cutoffs, cutoff_table, duck_cutoffs, positive_days
from churnkit.features._sql import (
    Block,
    bonus_ledger_block,
    bonus_recorded_block,
    category_block,
    delivery_block,
    discount_block,
    features_sql,
    literal,
    mix_block,
    quality_block,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from churnkit.io._transaction_log import TransactionLog

# channel/device values that get their own share column (the most frequent ones)
MAX_MIX_LEVELS = 8
# order lines per query: bigger logs are computed in groups of customers, so that DuckDB's
# hash tables (about 200 bytes per line) stay near 1 GB; one query over 9.4M lines peaked
# at 3 GB on top of the log
PART_LINES = 5_000_000
POPULATIONS: tuple[str, ...] = ("first_time", "repeat")
# quality_issue text that means "no issue" (compared in lower case)
_NO_ISSUE = ("", "none", "no", "ok", "нет")
_BONUS = ("bonus_earned", "bonus_spent", "bonus_expired")


def build_features(
    log: TransactionLog,
    cutoffs: Any,
    horizon: int | None = None,
    *,
    bonus_ttl_days: int | None = None,
    segments: bool = True,
    slow_delivery_days: float = 5.0,
) -> pd.DataFrame:
    """Features of every customer at each cutoff, from the data known at that cutoff.

    One row per (customer, cutoff) for customers with at least one purchase occasion (one
    customer's non-return lines on one day) on or before the cutoff. Features use only rows
    with ``order_date <= cutoff``: removing every later row changes no feature. All cutoffs
    are computed in one DuckDB query (per group of customers, for large logs).

    Features (see :func:`feature_descriptions` for units and wording):

    - always: ``recency_days``, ``frequency`` (purchase days), ``monetary_total`` /
      ``_mean`` / ``_last`` (revenue of purchase occasions; returns excluded),
      ``tenure_days``, gaps between purchase days (``gap_mean``, ``gap_std``, ``gap_last``,
      ``recency_gap_ratio`` = recency / gap_mean), ``orders_<w>d`` and ``revenue_<w>d`` for
      the last w = 30, 90, 180, 365 days (the window ``(cutoff - w, cutoff]``),
      ``orders_trend_90d`` / ``revenue_trend_90d`` (last 90 days minus the 90 before),
      ``return_lines`` and ``return_share`` (returned revenue / purchased revenue);
    - with ``discount``: ``discount_mean``, ``discount_share`` (lines with a discount > 0);
    - with ``category``: ``category_breadth`` (distinct categories bought);
    - with ``channel`` / ``device``: ``<col>_share_<value>`` for the most frequent values
      (up to 8, counted on lines up to the last cutoff) and ``last_<col>``; with
      ``app_version``: ``last_app_version`` (a failing app release shows up there);
    - with ``delivery_days``: ``delivery_days_mean`` / ``_max`` / ``_last`` and
      ``delivery_slow_share`` (lines slower than ``slow_delivery_days``);
    - with ``quality_issue`` (bool, number > 0, or text other than none/no/ok/нет):
      ``quality_issue_share``;
    - with bonus columns: ``bonus_earned_total``, ``bonus_spent_total``,
      ``bonus_expired_total``, ``bonus_balance``, ``bonus_expired_last_60d``,
      ``days_since_bonus_expiry``. Without ``bonus_ttl_days`` expiries are read from the
      ``bonus_expired`` column and dated by the order that reports them; with it they are
      derived from the earned/spent ledger (FIFO, see :func:`bonus_ledger_block`), which
      also gives ``bonus_expiring_next_30d`` (what expires in the next 30 days unless spent).

    Shares are over lines where the value is recorded; a feature with nothing to measure
    (``gap_mean`` of a first-time buyer, a share with no recorded lines) is NaN.

    Parameters
    ----------
    log : TransactionLog
        The orders.
    cutoffs : date or list of dates
        Days on or before ``log.as_of``.
    horizon : int, optional
        Label window in days. When given, ``churned`` is 1.0 with no purchase occasion in
        ``(cutoff, cutoff + horizon]``, 0.0 with one, NaN when the window ends after
        ``log.as_of`` (see :func:`churnkit.make_labels`).
    bonus_ttl_days : int, optional
        Bonus lifetime; derive expiries from ``bonus_earned`` and ``bonus_spent``.
    segments : bool
        Add ``segment``, the lifecycle segment at each cutoff (:func:`churnkit.assign_segments`).
    slow_delivery_days : float
        Deliveries taking longer than this many days are slow.

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff`` (datetime64[ns]), ``population`` (category:
        first_time = exactly one purchase occasion by the cutoff, else repeat), [``segment``],
        the features, [``churned``]; sorted by cutoff and customer. Text features are pandas
        categoricals with sorted categories.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnkit.io._transaction_log import TransactionLog
    >>> log = TransactionLog(pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-05"]),
    ...     "revenue": [10.0, 5.0, 7.0, 3.0],
    ...     "is_return": [False, False, False, False],
    ... }), as_of="2024-03-31")
    >>> f = build_features(log, "2024-01-20", horizon=30, segments=False)
    >>> f[["customer_id", "population", "recency_days", "frequency", "monetary_total"]]
      customer_id  population  recency_days  frequency  monetary_total
    0           a      repeat             9          2            22.0
    1           b  first_time            15          1             3.0
    """
    days = as_cutoffs(cutoffs, log)
    h = None if horizon is None else positive_days(horizon, "horizon")
    ttl = None if bonus_ttl_days is None else positive_days(bonus_ttl_days, "bonus_ttl_days")
    slow = _as_days(slow_delivery_days)
    orders = log.orders
    k = cutoff_table(days, h, log.as_of)
    last = _timestamp(days.max())
    end = _timestamp(k["label_end"].max())
    dates = [f"DATE '{d.date().isoformat()}'" for d in days]

    import duckdb

    from churnkit.core._duck import arrow_table, connect

    con = connect()
    try:
        con.register("lines", orders)
        con.execute("CREATE TEMP VIEW orders AS SELECT * FROM lines")
        blocks, categoricals = _blocks(con, orders, last, ttl, slow)
        for statement in (item for block in blocks for item in block.setup):
            con.execute(statement)
        con.register("k", duck_cutoffs(k))
        sql = features_sql(blocks, dates, end, h is not None)
        parts = max(1, math.ceil(len(orders) / PART_LINES))
        tables = []
        for part in range(parts):
            if parts > 1:
                # every feature depends on one customer's lines only, so customers can be
                # computed in groups; each group's hash tables are a fraction of the whole
                con.execute(
                    "CREATE OR REPLACE TEMP VIEW orders AS SELECT * FROM lines "
                    f"WHERE hash(customer_id) % {parts} = {part}"
                )
            try:
                tables.append(arrow_table(con.sql(sql)))
            except duckdb.ConversionException as e:
                raise DataValidationError(
                    f"{log.source}: a money, discount or delivery value does not fit a decimal "
                    f"of 18 digits with 6 after the point ({e}); check those columns for huge "
                    "values."
                ) from e
    finally:
        # before the frame is built: DuckDB's working memory is free again by then
        con.close()
    return _finish(_frame(tables), log, days, categoricals, segments, h is not None)


def _frame(tables: list[pa.Table]) -> pd.DataFrame:
    """The query's result parts as one frame, sorted by cutoff and customer.

    ``self_destruct`` frees each Arrow column once it is converted.
    """
    import pyarrow as pa

    table = tables[0]
    if len(tables) > 1:
        table = pa.concat_tables(tables).sort_by(
            [("cutoff", "ascending"), ("customer_id", "ascending")]
        )
    # the caller's list must not keep the parts alive while they are converted
    tables.clear()
    return table.to_pandas(date_as_object=False, self_destruct=True)


def _blocks(
    con: duckdb.DuckDBPyConnection,
    orders: pd.DataFrame,
    last: str,
    ttl: int | None,
    slow: float,
) -> tuple[list[Block], dict[str, list[str]]]:
    """The feature blocks the columns of ``orders`` allow, and the categories of text features."""
    columns = set(orders.columns)
    blocks: list[Block] = []
    categoricals: dict[str, list[str]] = {}
    if "discount" in columns:
        blocks.append(discount_block())
    if "category" in columns:
        blocks.append(category_block(last))
    for column, shares in (
        ("channel", MAX_MIX_LEVELS),
        ("device", MAX_MIX_LEVELS),
        ("app_version", 0),
    ):
        if column in columns:
            values = _levels(con, column, last)
            categoricals[f"last_{column}"] = sorted(values)
            blocks.append(
                mix_block(
                    column, _share_columns(column, values[:shares]), categoricals[f"last_{column}"]
                )
            )
    if "delivery_days" in columns:
        blocks.append(delivery_block(slow))
    if "quality_issue" in columns:
        blocks.append(quality_block(_issue_sql(orders["quality_issue"])))
    if ttl is not None:
        missing = [c for c in _BONUS[:2] if c not in columns]
        if missing:
            raise MissingColumnError(
                f"bonus_ttl_days needs the order columns {missing} to rebuild the bonus ledger; "
                f"found {sorted(columns)}. Map them in load_orders(columns=...) or drop "
                "bonus_ttl_days to use the recorded bonus_expired column."
            )
        blocks.append(bonus_ledger_block(ttl, last))
    elif bonus := tuple(c for c in _BONUS if c in columns):
        blocks.append(bonus_recorded_block(bonus, last))
    return blocks, categoricals


def _levels(con: duckdb.DuckDBPyConnection, column: str, last: str) -> list[str]:
    """Values of ``column`` on bought lines of the days up to ``last``, most frequent first.

    These are the lines the features read (a day is a DATE there), so every value a
    feature meets is among them.
    """
    rows = con.execute(
        f"""
        SELECT CAST({column} AS VARCHAR) AS value, count(*) AS n FROM orders
        WHERE NOT is_return AND {column} IS NOT NULL AND order_date::DATE <= {last}::DATE
        GROUP BY 1 ORDER BY n DESC, value
        """
    ).fetchall()
    return [value for value, _ in rows]


def _share_columns(column: str, values: list[str]) -> dict[str, str]:
    """value -> output column name ``<column>_share_<slug>``, unique."""
    names: dict[str, str] = {}
    for value in values:
        slug = re.sub(r"\W+", "_", value.strip().lower()).strip("_") or "blank"
        name = f"{column}_share_{slug}"
        n = 2
        while name in names.values():
            name = f"{column}_share_{slug}_{n}"
            n += 1
        names[value] = name
    return names


def _issue_sql(values: pd.Series) -> str:
    """SQL test of one line's ``quality_issue`` being an issue, by the column's type."""
    if pd.api.types.is_bool_dtype(values):
        return "quality_issue"
    if pd.api.types.is_numeric_dtype(values):
        return "quality_issue > 0"
    fine = ", ".join(literal(v) for v in _NO_ISSUE)
    return f"lower(trim(CAST(quality_issue AS VARCHAR))) NOT IN ({fine})"


def _finish(
    out: pd.DataFrame,
    log: TransactionLog,
    days: pd.DatetimeIndex,
    categoricals: dict[str, list[str]],
    segments: bool,
    labelled: bool,
) -> pd.DataFrame:
    """Set dtypes, add population and segment, order the columns."""
    out["cutoff"] = out["cutoff"].astype("datetime64[ns]")
    for name, categories in categoricals.items():
        out[name] = pd.Categorical(out[name], categories=categories)
    population = pd.Categorical.from_codes(
        (out["frequency"] > 1).astype("int8"), categories=list(POPULATIONS)
    )
    out.insert(2, "population", population)
    if labelled:
        out["churned"] = out["churned"].astype("float64")
    if segments:
        out.insert(3, "segment", _segments(log, days, out))
    return out


def _segments(log: TransactionLog, days: pd.DatetimeIndex, out: pd.DataFrame) -> pd.Series:
    """Each row's lifecycle segment at its cutoff."""
    from churnkit.segments._assign import segments_at

    seg = segments_at(log, list(days))[["at", "customer_id", "segment"]].rename(
        columns={"at": "cutoff"}
    )
    if _same_keys(seg, out):
        return seg["segment"].set_axis(out.index)
    merged = out[["customer_id", "cutoff"]].merge(seg, on=["customer_id", "cutoff"], how="left")
    if merged["segment"].isna().any():
        row = merged[merged["segment"].isna()].iloc[0]
        raise ChurnkitError(
            f"assign_segments gave no segment to customer {row['customer_id']!r} at cutoff "
            f"{row['cutoff'].date()}, although the customer has a purchase by then; "
            "this is a bug, please report it."
        )
    return merged["segment"].set_axis(out.index)


def _same_keys(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two frames hold the same (customer_id, cutoff) rows in the same order.

    Both frames are sorted by cutoff and customer, and without registered customers who
    never bought they hold the same customers: comparing the keys then spares a merge on
    strings, which costs a second on a million customers.
    """
    return (
        len(a) == len(b)
        and np.array_equal(a["cutoff"].to_numpy(), b["cutoff"].to_numpy())
        and bool(
            (
                a["customer_id"].to_numpy(dtype=object) == b["customer_id"].to_numpy(dtype=object)
            ).all()
        )
    )


def _timestamp(value: pd.Timestamp) -> str:
    return f"TIMESTAMP '{value.isoformat()}'"


def _as_days(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ChurnkitError(
            f"slow_delivery_days must be a number of days >= 0, got {value!r}; e.g. 5."
        )
    return float(value)
