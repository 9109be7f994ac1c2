"""Coding sheet round trip: XLSX with dropdowns out, coders' codes in, strict errors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from churnkit.coding._codebook import load_codebook
from churnkit.coding._reliability import reconcile, reliability
from churnkit.coding._sheet import read_coding_sheets, write_coding_sheet
from churnkit.core._errors import DataValidationError

ANSWERS = pd.DataFrame(
    {
        "answer_id": ["a1", "a2", "a3"],
        "text": [
            "Цены нормальные, но курьер опоздал",
            "Mainly my bonus points expired",
            "Не знаю",
        ],
    }
)


def _fill(path: Path, cells: dict[str, str], sheet: str = "coding") -> None:
    """Type values into cells like a coder would."""
    wb = load_workbook(path)
    for ref, value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return write_coding_sheet(ANSWERS, tmp_path / "sheet.xlsx", coders=["Anna", "Boris"], n_codes=2)


def test_layout_suggestions_and_dropdowns(sheet):
    wb = load_workbook(sheet)
    ws = wb["coding"]
    header = [c.value for c in ws[1]]
    assert header == [
        "answer_id",
        "text",
        "suggested",
        "suggested primary",
        "Anna primary",
        "Anna code 2",
        "Boris primary",
        "Boris code 2",
    ]
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == ["a1", "a2", "a3"]
    assert ws["C2"].value == "delivery.courier;delivery.slow"
    assert ws["D3"].value == "loyalty.bonus_expired"
    assert ws["D4"].value == "other"
    book = load_codebook()
    assert [c.value for c in wb["codes"]["A"]][1:] == book.ids
    (validation,) = ws.data_validations.dataValidation
    assert validation.type == "list"
    assert validation.formula1 == f"codes!$A$2:$A${len(book.ids) + 1}"
    assert str(validation.sqref) == "E2:H4"


def test_round_trip_into_reliability_and_reconcile(sheet):
    _fill(
        sheet,
        {
            "E2": "delivery.courier",
            "F2": "price",
            "G2": "delivery.courier",
            "E3": "loyalty.bonus_expired",
            "G3": " loyalty.bonus_expired ",  # stray spaces are forgiven
            "E4": "other",
            # Boris left a3 blank: not coded by him
        },
    )
    codes = read_coding_sheets(sheet)
    assert codes.columns.tolist() == ["coder", "answer_id", "code", "is_primary", "file", "row"]
    got = set(codes[["coder", "answer_id", "code", "is_primary", "row"]].itertuples(index=False))
    assert got == {
        ("Anna", "a1", "delivery.courier", True, 2),
        ("Anna", "a1", "price", False, 2),
        ("Boris", "a1", "delivery.courier", True, 2),
        ("Anna", "a2", "loyalty.bonus_expired", True, 3),
        ("Boris", "a2", "loyalty.bonus_expired", True, 3),
        ("Anna", "a3", "other", True, 4),
    }
    table = reliability(codes).set_index("code")
    assert table.at["price", "n_units"] == 2  # a3 was coded by Anna only
    final, todo = reconcile(codes)
    assert set(final["code"]) == {"delivery.courier", "loyalty.bonus_expired", "other"}
    assert todo[["answer_id", "code", "with_code"]].values.tolist() == [["a1", "price", "Anna"]]


def test_several_files_are_combined(tmp_path):
    a = write_coding_sheet(ANSWERS, tmp_path / "anna.xlsx", coders=["Anna"])
    b = write_coding_sheet(ANSWERS, tmp_path / "boris.xlsx", coders=["Boris"])
    _fill(a, {"E2": "price"})
    _fill(b, {"E2": "delivery", "F2": "price"})
    codes = read_coding_sheets([a, b])
    assert codes["coder"].tolist() == ["Anna", "Boris", "Boris"]
    assert codes["file"].tolist() == [str(a), str(b), str(b)]
    # the same coder in two files for the same answer is ambiguous
    c = write_coding_sheet(ANSWERS, tmp_path / "anna2.xlsx", coders=["Anna"])
    _fill(c, {"E2": "trust"})
    with pytest.raises(DataValidationError, match=r"coder 'Anna' coded answer 'a1' here and in"):
        read_coding_sheets([a, c])


@pytest.mark.parametrize(
    ("cells", "pattern"),
    [
        ({"E3": "prise"}, r"row 3, cell E3: 'prise' is not a code"),
        ({"F2": "price"}, r"row 2, cell E2: coder 'Anna' gave codes but no primary"),
        ({"G4": "trust", "H4": "trust"}, r"row 4, cell H4: coder 'Boris' gives 'trust' twice"),
        ({"A3": "a1", "E3": "price"}, r"row 3, cell A3: answer id 'a1' repeats row 2"),
        ({"A3": None, "E3": "price"}, r"row 3, cell A3: the answer id is empty"),
        ({"E1": "Anna primry"}, r"row 1: coder 'Anna' has code columns but no 'Anna primary'"),
        ({"A1": "id"}, r"row 1: no 'answer_id' column"),
    ],
)
def test_errors_name_file_sheet_row_and_cell(sheet, cells, pattern):
    _fill(sheet, cells)
    with pytest.raises(DataValidationError) as info:
        read_coding_sheets(sheet)
    message = str(info.value)
    assert message.startswith(f"{sheet}, sheet 'coding'")
    assert re.search(pattern, message), message


def test_malformed_workbooks(tmp_path, sheet):
    wb = load_workbook(sheet)
    wb["coding"].title = "Sheet1"
    wb.save(sheet)
    with pytest.raises(DataValidationError, match=r"sheet\.xlsx: no sheet 'coding'"):
        read_coding_sheets(sheet)
    plain = tmp_path / "plain.xlsx"
    pd.DataFrame({"answer_id": ["a1"], "code": ["price"]}).to_excel(
        plain, sheet_name="coding", index=False
    )
    with pytest.raises(DataValidationError, match="no coder columns"):
        read_coding_sheets(plain)
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"notes\.xlsx: cannot read it as an Excel"):
        read_coding_sheets(text)


def test_bad_writer_options(tmp_path):
    with pytest.raises(DataValidationError, match="unique"):
        write_coding_sheet(ANSWERS, tmp_path / "x.xlsx", coders=["A", "A"])
    with pytest.raises(DataValidationError, match="n_codes"):
        write_coding_sheet(ANSWERS, tmp_path / "x.xlsx", n_codes=0)
    with pytest.raises(DataValidationError, match="'suggested'"):
        write_coding_sheet(ANSWERS, tmp_path / "x.xlsx", coders=["suggested"])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataValidationError, match=r"gone\.xlsx: no such file"):
        read_coding_sheets(tmp_path / "gone.xlsx")
