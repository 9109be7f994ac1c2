"""ValidationReport: counts reconcile, tables and exports are readable and deterministic."""

from __future__ import annotations

import json

from churnkit import ValidationReport
from churnkit.io._validation import HOW_TO_FIX, REASONS


def make_report(**overrides) -> ValidationReport:
    fields = {
        "source": "orders.csv",
        "rows_read": 10,
        "rows_used": 6,
        "rejected_counts": {"missing_date": 1, "exact_duplicate": 3},
        "examples": {
            "missing_date": [(4, "")],
            "exact_duplicate": [
                (2, "duplicate of row 1"),
                (5, "duplicate of row 1"),
                (9, "duplicate of row 8"),
            ],
        },
        "n_returns": 2,
        "coercions": [
            {
                "column": "quantity",
                "source_column": "Кол-во",
                "count": 1,
                "action": "are not numbers and were set to NaN",
                "examples": [(7, "x")],
            }
        ],
        "warnings": [
            "3 order rows (1 customers) have a customer_id that is not in the customers table"
        ],
        "line_offset": 1,
    }
    return ValidationReport(**(fields | overrides))


def test_counts_and_reconciliation():
    report = make_report()
    assert report.n_rejected == 4
    assert report.reconciles
    assert not make_report(rows_used=5).reconciles


def test_every_reason_has_a_fix():
    assert set(HOW_TO_FIX) == set(REASONS)
    assert all(text.endswith(".") for text in HOW_TO_FIX.values())


def test_reasons_table():
    table = make_report().reasons_table()
    assert list(table.columns) == ["reason", "rows", "share", "example_rows", "how_to_fix"]
    assert table["reason"].tolist() == ["missing_date", "exact_duplicate"]
    assert table["share"].tolist() == [0.1, 0.3]
    assert table["example_rows"].tolist() == ["4 (file line 5)", "2, 5, 9 (file lines 3, 6, 10)"]
    no_lines = make_report(line_offset=None).reasons_table()
    assert no_lines["example_rows"].tolist() == ["4", "2, 5, 9"]


def test_empty_report_table_has_columns():
    report = ValidationReport("x", rows_read=3, rows_used=3)
    assert report.reasons_table().empty and len(report.reasons_table().columns) == 5
    assert list(report.rejected.columns) == ["source_row", "reason", "value"]
    assert report.to_markdown().startswith("# Validation report: x")


def test_to_dict_is_json_and_deterministic():
    report = make_report()
    data = report.to_dict()
    assert list(data) == [
        "source",
        "rows_read",
        "rows_used",
        "n_rejected",
        "reconciles",
        "n_returns",
        "rejected_counts",
        "examples",
        "coercions",
        "warnings",
    ]
    assert json.dumps(data) == json.dumps(make_report().to_dict())
    assert data["examples"]["missing_date"] == [{"row": 4, "value": ""}]
    assert data["coercions"][0]["source_column"] == "Кол-во"


def test_text_outputs_name_rows_lines_and_fixes():
    report = make_report()
    markdown = report.to_markdown()
    assert "| exact_duplicate | 3 | 30.00% | 2, 5, 9 (file lines 3, 6, 10) |" in markdown
    assert "quantity ('Кол-во'): 1 values are not numbers" in markdown
    assert "## Warnings" in markdown
    text = str(report)
    assert text.startswith("orders.csv: 10 rows read, 6 used, 4 rejected, 2 returns kept")
    assert "missing_date: 1 (10.00%)" in text


def test_repr_html_shows_key_numbers_and_escapes():
    page = make_report(source="<orders>")._repr_html_()
    assert "&lt;orders&gt;" in page and "<orders>" not in page
    for text in (
        ">10<",
        ">6<",
        ">4<",
        ">2<",
        "exact_duplicate",
        "30.00%",
        HOW_TO_FIX["missing_date"],
    ):
        assert text in page
    assert "<li>" in page  # coercions and warnings are listed
