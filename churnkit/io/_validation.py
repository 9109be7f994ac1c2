"""ValidationReport: what loading read, used, rejected (and why) and what it had to coerce."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# rejection reasons in the order they are tested: a row gets the first that applies
REASONS: tuple[str, ...] = (
    "missing_customer_id",
    "missing_date",
    "unparseable_date",
    "implausible_date",
    "future_date",
    "missing_revenue",
    "non_numeric_revenue",
    "test_account",
    "exact_duplicate",
)

HOW_TO_FIX: dict[str, str] = {
    "missing_customer_id": "Fill in the customer id in the source export; orders without a customer cannot be attributed.",
    "missing_date": "Fill in the order date in the source export.",
    "unparseable_date": "Fix the date text (e.g. 31.02 does not exist) or pass date_format= with the exact format.",
    "implausible_date": "Dates before 1990-01-01 are placeholders (e.g. 01.01.1900); put the real order date in the export.",
    "future_date": "The order is dated after as_of; check the date, or pass a later as_of= if the data really goes that far.",
    "missing_revenue": "Fill in the order amount in the source export (0 is a valid amount).",
    "non_numeric_revenue": "Replace text such as 'н/д' with a number; amounts may use a decimal comma and spaces.",
    "test_account": "These are orders of customers flagged is_test in the customers table; nothing to fix unless the flag is wrong.",
    "exact_duplicate": "The row repeats an earlier row in every column; remove the repeated export lines (the first copy is kept).",
}

N_EXAMPLES = 5


def describe_rows(rows: list[int], line_offset: int | None) -> str:
    """1-based row numbers as text, plus file lines when ``line_offset`` is known.

    Examples
    --------
    >>> describe_rows([3, 7], 1)
    '3, 7 (file lines 4, 8)'
    """
    shown = ", ".join(str(r) for r in rows)
    if line_offset is None or not rows:
        return shown
    lines = ", ".join(str(r + line_offset) for r in rows)
    return f"{shown} (file line{'s' if len(rows) > 1 else ''} {lines})"


def _named(coercion: dict[str, Any]) -> str:
    column, source = coercion["column"], coercion.get("source_column", coercion["column"])
    return column if source == column else f"{column} ({source!r})"


def _empty_rejected() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_row": pd.Series(dtype="int64"),
            "reason": pd.Series(dtype="string"),
            "value": pd.Series(dtype="string"),
        }
    )


@dataclass
class ValidationReport:
    """What :func:`churnkit.load_orders` read, used and rejected, with one reason per row.

    Row numbers are 1-based data rows of the source (the first row after a CSV header is row 1);
    for CSV files messages also give the file line (row + 1).

    Attributes
    ----------
    source : str
        The input, as named in messages.
    rows_read, rows_used : int
        Data rows in the source and rows kept in ``orders``.
    rejected_counts : dict
        Reason -> rows, in the order reasons are tested (see ``REASONS``); zero counts omitted.
    examples : dict
        Reason -> the first 5 ``(row, value)`` pairs.
    n_returns : int
        Kept rows with negative revenue (returns are kept, not rejected).
    coercions : list of dict
        Values that were changed or blanked instead of rejecting the row: ``column``, ``count``,
        ``action``, ``examples`` (``(row, value)`` pairs).
    warnings : list of str
        Facts worth a look that did not reject rows (e.g. customers missing from the
        customers table).
    rejected : DataFrame
        ``source_row``, ``reason``, ``value`` and the raw source columns of every rejected row.
    line_offset : int or None
        Added to a row number to get the file line (1 for CSV with a header), None when the
        source is not a text file.

    Examples
    --------
    >>> r = ValidationReport("orders.csv", rows_read=3, rows_used=2,
    ...                      rejected_counts={"missing_date": 1},
    ...                      examples={"missing_date": [(2, "")]}, line_offset=1)
    >>> r.n_rejected, r.reconciles
    (1, True)
    >>> r.reasons_table()["example_rows"].item()
    '2 (file line 3)'
    """

    source: str
    rows_read: int
    rows_used: int
    rejected_counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    n_returns: int = 0
    coercions: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected: pd.DataFrame = field(default_factory=_empty_rejected)
    line_offset: int | None = None

    @property
    def n_rejected(self) -> int:
        """Rows rejected for any reason."""
        return int(sum(self.rejected_counts.values()))

    @property
    def reconciles(self) -> bool:
        """True when every row read is either used or rejected (nothing lost)."""
        return self.rows_read == self.rows_used + self.n_rejected

    def where(self, rows: list[int]) -> str:
        """Row numbers as text, with file lines for text files: ``"3, 7 (file lines 4, 8)"``."""
        return describe_rows(rows, self.line_offset)

    def reasons_table(self) -> pd.DataFrame:
        """One row per rejection reason: rows, share of rows read, example rows, how to fix."""
        records = [
            {
                "reason": reason,
                "rows": count,
                "share": count / self.rows_read if self.rows_read else 0.0,
                "example_rows": self.where([row for row, _ in self.examples.get(reason, [])]),
                "how_to_fix": HOW_TO_FIX[reason],
            }
            for reason, count in self.rejected_counts.items()
        ]
        columns = ["reason", "rows", "share", "example_rows", "how_to_fix"]
        return pd.DataFrame.from_records(records, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary with a fixed key order (no rejected rows)."""
        return {
            "source": self.source,
            "rows_read": int(self.rows_read),
            "rows_used": int(self.rows_used),
            "n_rejected": self.n_rejected,
            "reconciles": self.reconciles,
            "n_returns": int(self.n_returns),
            "rejected_counts": {k: int(v) for k, v in self.rejected_counts.items()},
            "examples": {
                reason: [{"row": int(row), "value": str(value)} for row, value in pairs]
                for reason, pairs in self.examples.items()
            },
            "coercions": [
                {
                    "column": str(c["column"]),
                    "source_column": str(c.get("source_column", c["column"])),
                    "count": int(c["count"]),
                    "action": str(c["action"]),
                    "examples": [{"row": int(r), "value": str(v)} for r, v in c["examples"]],
                }
                for c in self.coercions
            ],
            "warnings": [str(w) for w in self.warnings],
        }

    def _headline(self) -> str:
        return (
            f"{self.source}: {self.rows_read:,} rows read, {self.rows_used:,} used, "
            f"{self.n_rejected:,} rejected, {self.n_returns:,} returns kept"
        )

    def _coercion_lines(self) -> list[str]:
        return [
            f"{_named(c)}: {c['count']:,} values {c['action']} "
            f"(rows {self.where([r for r, _ in c['examples']])}; "
            f"values {[v for _, v in c['examples']]})"
            for c in self.coercions
        ]

    def to_markdown(self) -> str:
        """The report as Markdown: headline, reasons table, coercions and warnings."""
        lines = [f"# Validation report: {self.source}", "", self._headline() + ".", ""]
        if self.rejected_counts:
            lines += [
                "| reason | rows | share | example rows | how to fix |",
                "|---|---:|---:|---|---|",
            ]
            lines += [
                f"| {r.reason} | {r.rows:,} | {r.share:.2%} | {r.example_rows} | {r.how_to_fix} |"
                for r in self.reasons_table().itertuples(index=False)
            ]
            lines.append("")
        if self.coercions:
            lines += ["## Coerced values", ""] + [f"- {c}" for c in self._coercion_lines()] + [""]
        if self.warnings:
            lines += ["## Warnings", ""] + [f"- {w}" for w in self.warnings] + [""]
        return "\n".join(lines).rstrip()

    def __str__(self) -> str:
        lines = [self._headline()]
        for r in self.reasons_table().itertuples(index=False):
            lines.append(f"  {r.reason}: {r.rows:,} ({r.share:.2%}), e.g. row {r.example_rows}")
        lines += [f"  coerced {c}" for c in self._coercion_lines()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        facts = {
            "rows read": self.rows_read,
            "rows used": self.rows_used,
            "rows rejected": self.n_rejected,
            "returns kept": self.n_returns,
        }
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td style='text-align:right'>{v:,}</td></tr>"
            for k, v in facts.items()
        )
        parts = [
            f"<div><strong>ValidationReport: {html.escape(self.source)}</strong>",
            f"<table>{rows}</table>",
        ]
        if self.rejected_counts:
            table = self.reasons_table().assign(share=lambda t: t["share"].map("{:.2%}".format))
            parts.append("<p>Rejected rows by reason:</p>" + table.to_html(index=False))
        for title, items in (
            ("Coerced values", self._coercion_lines()),
            ("Warnings", self.warnings),
        ):
            if items:
                listed = "".join(f"<li>{html.escape(i)}</li>" for i in items)
                parts.append(f"<p>{title}:</p><ul>{listed}</ul>")
        return "".join(parts) + "</div>"
