"""TransactionLog: validated orders (and optionally customers) that every stage reads."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import DataValidationError
from churnkit.core._schema import ORDER_REQUIRED

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._validation import ValidationReport


class TransactionLog:
    """Validated order lines of one shop, plus its customers table when there is one.

    Build it with :func:`churnkit.load_orders`, which validates and reports what it rejected.
    The constructor itself only checks the canonical columns and their types; it expects
    frames that have already been validated.

    Conventions
    -----------
    - ``orders.order_date`` is a day (``datetime64[ns]`` at midnight); one customer's lines on
      one day are one *purchase occasion*.
    - Lines with negative revenue are returns: they stay in ``orders`` (``is_return`` is True)
      and reduce net revenue, but a day with only returns is not a purchase occasion.

    Parameters
    ----------
    orders : DataFrame
        Canonical columns ``customer_id`` (string), ``order_date`` (day), ``revenue`` (float),
        ``is_return`` (bool) and any optional columns.
    customers : DataFrame, optional
        One row per ``customer_id``.
    report : ValidationReport, optional
        What loading read, used and rejected.
    as_of : Timestamp, optional
        The date the data describes; defaults to the last order date.
    source : str
        Where the orders came from, for messages.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]),
    ...     "revenue": [10.0, 5.0, 7.0],
    ...     "is_return": [False, False, False],
    ... })
    >>> log = TransactionLog(orders)
    >>> log.n_customers, len(log.purchases())
    (2, 2)
    """

    def __init__(
        self,
        orders: pd.DataFrame,
        customers: pd.DataFrame | None = None,
        report: ValidationReport | None = None,
        as_of: Any = None,
        source: str = "<DataFrame>",
    ) -> None:
        import pandas as pd

        missing = [c for c in (*ORDER_REQUIRED, "is_return") if c not in orders.columns]
        if missing:
            raise DataValidationError(
                f"{source}: TransactionLog needs the canonical columns {missing}; build it "
                "with churnkit.load_orders(...), which maps and validates your columns."
            )
        if not pd.api.types.is_datetime64_any_dtype(orders["order_date"]):
            raise DataValidationError(
                f"{source}: column 'order_date' must be datetime64, got "
                f"{orders['order_date'].dtype}; use churnkit.load_orders(...) to parse dates."
            )
        self.orders = orders
        self.customers = customers
        self.report = report
        self.source = source
        if as_of is None:
            as_of = orders["order_date"].max() if len(orders) else pd.NaT
        self.as_of = pd.Timestamp(as_of)

    # -- facts ---------------------------------------------------------------------------
    @property
    def start(self) -> pd.Timestamp:
        """First order date."""
        return self.orders["order_date"].min()

    @property
    def end(self) -> pd.Timestamp:
        """Last order date."""
        return self.orders["order_date"].max()

    @property
    def n_customers(self) -> int:
        """Customers with at least one order line."""
        return int(self.orders["customer_id"].nunique())

    @property
    def n_orders(self) -> int:
        """Orders (distinct ``order_id`` when present, else purchase occasions)."""
        if "order_id" in self.orders.columns:
            return int(self.orders["order_id"].nunique())
        return len(self.purchases())

    @property
    def revenue(self) -> float:
        """Net revenue (returns subtracted)."""
        return float(self.orders["revenue"].sum())

    # -- views -----------------------------------------------------------------------------
    def until(self, at: Any) -> TransactionLog:
        """The log as it was known at the end of day ``at`` (rows with order_date <= at)."""
        import pandas as pd

        at = pd.Timestamp(at).normalize()
        kept = self.orders[self.orders["order_date"] <= at]
        return TransactionLog(kept, self.customers, self.report, as_of=at, source=self.source)

    def purchases(self, at: Any = None) -> pd.DataFrame:
        """One row per purchase occasion (customer, day) on or before ``at``.

        Returns
        -------
        DataFrame
            ``customer_id, order_date, revenue`` (sum of the day's non-return lines),
            ``n_lines``, sorted by customer and date.
        """
        from churnkit.core._duck import query_df

        where = "NOT is_return"
        params: list[Any] = []
        if at is not None:
            import pandas as pd

            where += " AND order_date <= ?"
            params.append(pd.Timestamp(at).normalize().to_pydatetime())
        return query_df(
            f"""
            SELECT customer_id, order_date, sum(revenue) AS revenue, count(*) AS n_lines
            FROM orders WHERE {where}
            GROUP BY customer_id, order_date
            ORDER BY customer_id, order_date
            """,
            params,
            via_arrow=True,
            orders=self.orders,
        )

    def summary(self) -> dict[str, Any]:
        """Plain facts about the log, for reports and ``repr``."""
        rejected = self.report.n_rejected if self.report is not None else 0
        return {
            "source": self.source,
            "customers": self.n_customers,
            "orders": self.n_orders,
            "order_lines": len(self.orders),
            "first_order": None if not len(self.orders) else self.start.date().isoformat(),
            "last_order": None if not len(self.orders) else self.end.date().isoformat(),
            "as_of": None if self.as_of is None else str(self.as_of.date()),
            "revenue": round(self.revenue, 2),
            "returns": int(self.orders["is_return"].sum()),
            "rejected_rows": rejected,
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"TransactionLog({s['customers']:,} customers, {s['orders']:,} orders, "
            f"{s['first_order']} to {s['last_order']}, revenue {s['revenue']:,.2f}, "
            f"{s['rejected_rows']:,} rows rejected)"
        )

    def _repr_html_(self) -> str:
        s = self.summary()
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k).replace('_', ' '))}</th>"
            f"<td style='text-align:right'>{html.escape(_fmt(v))}</td></tr>"
            for k, v in s.items()
        )
        extra = ""
        if self.report is not None and self.report.n_rejected:
            extra = "<p>Rejected rows by reason:</p>" + self.report.reasons_table().to_html(
                index=False
            )
        return f"<div><strong>TransactionLog</strong><table>{rows}</table>{extra}</div>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
