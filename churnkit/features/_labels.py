"""Churn labels at a horizon: did the customer buy again in ``(cutoff, cutoff + H]``?

The SQL pieces here are shared with :mod:`churnkit.features._build`, which computes the label in
the same query as the features.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from churnkit.core._errors import ChurnkitError, DataValidationError

if TYPE_CHECKING:
    from churnkit.io._transaction_log import TransactionLog

# (customer, cutoff) pairs with a purchase occasion in the label window. Expects a table
# ``days`` (customer_id, day DATE, n_lines = non-return lines of that day) and the cutoff
# table ``k`` built by ``cutoff_table``.
IN_WINDOW_CTE = """
in_window AS (
    SELECT DISTINCT d.customer_id, k.cutoff
    FROM days AS d JOIN k ON d.day > k.cutoff AND d.day <= k.label_end
    WHERE d.n_lines > 0
)"""

# the label of one (customer, cutoff) row, given ``labelled`` from ``k`` and a LEFT JOIN
# of ``in_window`` aliased ``w``
CHURNED_SQL = "CASE WHEN NOT labelled THEN NULL WHEN w.customer_id IS NULL THEN 1.0 ELSE 0.0 END"


def as_cutoffs(cutoffs: Any, log: TransactionLog) -> pd.DatetimeIndex:
    """Validate cutoffs and return them as sorted days.

    A cutoff is a day: features see the whole day (rows with ``order_date <= cutoff``).
    Times of day are dropped, as in :meth:`TransactionLog.until`.

    Raises
    ------
    ChurnkitError
        When no cutoff is given, one cannot be read as a date, two are the same day, or one
        is before the first order or after the end of the data (``log.as_of``).
    DataValidationError
        When the log has no order lines.
    """
    if isinstance(cutoffs, str) or not isinstance(cutoffs, Iterable):
        cutoffs = [cutoffs]
    values = list(cutoffs)
    if not values:
        raise ChurnkitError("cutoffs is empty; pass at least one date, e.g. ['2024-06-30'].")
    days = []
    for value in values:
        try:
            day = pd.Timestamp(value)
        except (TypeError, ValueError) as e:
            raise ChurnkitError(
                f"cutoff {value!r} is not a date; pass dates such as '2024-06-30'."
            ) from e
        if pd.isna(day):
            raise ChurnkitError(f"cutoff {value!r} is missing; pass a date such as '2024-06-30'.")
        days.append(day.tz_localize(None).normalize() if day.tzinfo else day.normalize())
    index = pd.DatetimeIndex(days).astype("datetime64[ns]")
    duplicated = index[index.duplicated()]
    if len(duplicated):
        raise ChurnkitError(
            f"cutoffs repeat the day(s) {[d.date().isoformat() for d in duplicated]}; "
            "pass each cutoff once."
        )
    if not len(log.orders) or pd.isna(log.as_of):
        raise DataValidationError(
            f"{log.source}: the log has no order lines, so there is nothing to build features "
            "or labels from; load orders with at least one purchase."
        )
    first = log.orders["order_date"].min()
    early = index[index < first]
    if len(early):
        raise ChurnkitError(
            f"cutoff(s) {[d.date().isoformat() for d in early]} are before the first order "
            f"({first.date().isoformat()}) of {log.source}: no customer has bought yet. "
            "Use cutoffs between the first order date and log.as_of."
        )
    late = index[index > log.as_of]
    if len(late):
        raise ChurnkitError(
            f"cutoff(s) {[d.date().isoformat() for d in late]} are after the end of the data "
            f"({log.as_of.date().isoformat()}, log.as_of): features there would count days "
            "without data as days without purchases. Use cutoffs on or before log.as_of."
        )
    return index.sort_values()


def positive_days(value: Any, name: str) -> int:
    """Validate a number of days (a positive whole number) passed as argument ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ChurnkitError(
            f"{name} must be a positive whole number of days, got {value!r}; e.g. {name}=90."
        )
    return int(value)


def cutoff_table(
    cutoffs: pd.DatetimeIndex, horizon: int | None, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The cutoff table ``k`` the SQL joins against.

    Columns: ``cutoff`` (day), ``label_end`` (cutoff + horizon) and ``labelled`` (the label
    window ends on or before ``as_of``, so the label is known).
    """
    end = cutoffs + pd.Timedelta(days=horizon or 0)
    return pd.DataFrame(
        {
            "cutoff": cutoffs,
            "label_end": end,
            "labelled": (end <= as_of) if horizon is not None else False,
        }
    )


def make_labels(log: TransactionLog, cutoffs: Any, horizon: int) -> pd.DataFrame:
    """Churn label of every customer at each cutoff.

    ``churned`` is 1.0 when the customer has no purchase occasion in ``(cutoff, cutoff +
    horizon]``, 0.0 when there is one (a purchase exactly on ``cutoff + horizon`` counts, one
    on ``cutoff`` does not), and NaN when ``cutoff + horizon`` is after the end of the data
    (``log.as_of``): the window is not over, so the label is unknown — never a silent 1.
    Only customers with at least one purchase occasion on or before the cutoff get a row; a
    day with only returns is not a purchase occasion.

    Parameters
    ----------
    log : TransactionLog
        The orders.
    cutoffs : date or list of dates
        Days on or before ``log.as_of``.
    horizon : int
        Label window length in days.

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff`` (datetime64[ns]), ``churned`` (float64), sorted by cutoff
        and customer.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnkit.io._transaction_log import TransactionLog
    >>> log = TransactionLog(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-31", "2024-01-01"]),
    ...     "revenue": [10.0, 5.0, 7.0],
    ...     "is_return": [False, False, False],
    ... }), as_of="2024-03-31")
    >>> make_labels(log, "2024-01-01", horizon=30)["churned"].tolist()
    [0.0, 1.0]
    """
    from churnkit.core._duck import query_df

    days = as_cutoffs(cutoffs, log)
    h = positive_days(horizon, "horizon")
    k = cutoff_table(days, h, log.as_of)
    out = query_df(
        f"""
        WITH days AS MATERIALIZED (
            SELECT customer_id, order_date::DATE AS day,
                   count(*) FILTER (WHERE NOT is_return) AS n_lines
            FROM orders WHERE order_date <= ?
            GROUP BY customer_id, order_date
        ),
        base AS (
            SELECT DISTINCT d.customer_id, k.cutoff, k.labelled
            FROM days AS d JOIN k ON d.day <= k.cutoff
            WHERE d.n_lines > 0
        ),
        {IN_WINDOW_CTE}
        SELECT b.customer_id, b.cutoff, {CHURNED_SQL} AS churned
        FROM base AS b LEFT JOIN in_window AS w USING (customer_id, cutoff)
        ORDER BY b.cutoff, b.customer_id
        """,
        [k["label_end"].max().to_pydatetime()],
        orders=log.orders,
        k=duck_cutoffs(k),
    )
    out["cutoff"] = out["cutoff"].astype("datetime64[ns]")
    out["churned"] = out["churned"].astype("float64")
    return out


def duck_cutoffs(k: pd.DataFrame) -> pd.DataFrame:
    """The cutoff table as DuckDB reads it: DATE columns and ``i``, the cutoff's rank from 1."""
    # DuckDB compares DATE with DATE fastest; days are midnight, so nothing is lost
    return k.assign(
        cutoff=k["cutoff"].dt.date, label_end=k["label_end"].dt.date, i=range(1, len(k) + 1)
    )
