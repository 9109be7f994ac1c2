"""The coding sheet: an Excel workbook for human coders, and reading the filled sheets back.

The ``coding`` sheet has one row per answer: its id, its text, the suggested codes, and for
every coder a ``<coder> primary`` column and a few ``<coder> code 2``, ``code 3``… columns,
each cell a dropdown of the codebook's ids (Excel data validation over the ``codes`` sheet,
which also lists every code's label, group and definition). A coder picks the primary reason
first and any further reasons after it; a row left blank by a coder means "not coded by
this coder" (missing for reliability), and ``other`` means "coded: no reason given".

Reading is strict, because a silent typo becomes a wrong matrix: an unknown code, a second
code with no primary, a repeated code or answer, or a sheet without the expected columns is an
error naming the file, the sheet, the row and the cell.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from churnkit.coding._codebook import Codebook
from churnkit.coding._coder import _default_codebook, code_answers
from churnkit.core._errors import DataValidationError

SHEET = "coding"
CODES_SHEET = "codes"
ID_HEADER = "answer_id"
TEXT_HEADER = "text"
SUGGESTED_HEADER = "suggested"
SUGGESTED_PRIMARY_HEADER = "suggested primary"
PRIMARY = "primary"
_FIXED_HEADERS = (ID_HEADER, TEXT_HEADER, SUGGESTED_HEADER, SUGGESTED_PRIMARY_HEADER)
OUTPUT_COLUMNS = ("coder", "answer_id", "code", "is_primary", "file", "row")

# "<coder> primary" or "<coder> code 2": coder names may contain spaces
_CODER_HEADER = re.compile(r"^(?P<coder>.+?) (?P<slot>primary|code (?P<n>[2-9]|[1-9]\d+))$")
_TEXT_WIDTH = 80


def write_coding_sheet(
    answers: pd.DataFrame,
    path: str | os.PathLike[str],
    coders: Sequence[str] = ("coder_1", "coder_2"),
    suggested: pd.DataFrame | None = None,
    codebook: Codebook | None = None,
    n_codes: int = 4,
    id_col: str = "answer_id",
    text_col: str = "text",
    lang: str = "en",
) -> Path:
    """Write an XLSX coding sheet for human coders, with a dropdown of valid codes per cell.

    Parameters
    ----------
    answers : pandas.DataFrame
        One row per answer with ``id_col`` and ``text_col``.
    path : str or path-like
        The ``.xlsx`` file to write (its folder must exist).
    coders : sequence of str
        Coder names; each gets ``<name> primary`` and ``<name> code 2`` … columns.
    suggested : pandas.DataFrame, optional
        Suggested codes as returned by :func:`churnkit.code_answers`; computed with
        ``codebook`` when omitted.
    codebook : Codebook, optional
        The codes coders may choose from; the default codebook when omitted.
    n_codes : int, default 4
        Code columns per coder (the primary one included).
    id_col, text_col : str
        Names of the answer id and text columns of ``answers``.
    lang : str, default "en"
        Language of the code labels on the ``codes`` sheet.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataValidationError
        If coder names repeat or are empty, ``n_codes`` < 1, or ``answers`` is invalid (see
        :func:`churnkit.code_answers`).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> answers = pd.DataFrame({"answer_id": ["a1"], "text": ["Баллы сгорели"]})
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "sheet.xlsx"
    >>> write_coding_sheet(answers, out, coders=["Anna", "Boris"]).name
    'sheet.xlsx'
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = _default_codebook() if codebook is None else codebook
    coders = _check_coders(coders)
    if n_codes < 1:
        raise DataValidationError(f"n_codes must be at least 1 (the primary code), got {n_codes}")
    if suggested is None:
        suggested = code_answers(answers, book, id_col=id_col, text_col=text_col)
    by_answer = suggested.groupby(id_col, sort=False)
    joined = by_answer["code"].agg(";".join)
    primary = suggested[suggested["is_primary"]].set_index(id_col)["code"]

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    headers = list(_FIXED_HEADERS)
    headers += [_header(c, slot) for c in coders for slot in range(1, n_codes + 1)]
    ws.append(headers)
    for answer_id, text in zip(answers[id_col], answers[text_col], strict=True):
        ws.append([answer_id, text, joined.get(answer_id, ""), primary.get(answer_id, "")])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "C2"
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = _TEXT_WIDTH
    ws.column_dimensions["C"].width = 30
    ws.column_dimensions["D"].width = 18
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")

    codes = wb.create_sheet(CODES_SHEET)
    codes.append(["code", "label", "group", "definition"])
    for code in book.ids:
        c = book.code(code)
        codes.append([code, c.label.get(lang, c.label[book.languages[0]]), c.group, c.definition])
    for cell in codes[1]:
        cell.font = Font(bold=True)
    codes.column_dimensions["A"].width = 28
    codes.column_dimensions["B"].width = 32
    codes.column_dimensions["D"].width = 80

    # one dropdown over every coder column; Excel refers to the codes sheet's id column
    validation = DataValidation(
        type="list",
        formula1=f"{CODES_SHEET}!$A$2:$A${len(book.ids) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Unknown code",
        error="Pick a code from the list (see the 'codes' sheet).",
    )
    if len(answers):
        first, last = get_column_letter(5), get_column_letter(len(headers))
        validation.add(f"{first}2:{last}{len(answers) + 1}")
        ws.add_data_validation(validation)
    for col in range(5, len(headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 22
    path = Path(path)
    wb.save(path)
    return path


def read_coding_sheets(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Read one or more filled coding sheets into the long table coders' codes live in.

    Parameters
    ----------
    paths : path or iterable of paths
        Workbooks written by :func:`write_coding_sheet` and filled by coders; each may hold
        any of the coders' columns.
    codebook : Codebook, optional
        The codes that are allowed; the default codebook when omitted.

    Returns
    -------
    pandas.DataFrame
        ``coder, answer_id, code, is_primary, file, row``: one row per (coder, answer, code),
        ready for :func:`churnkit.reliability` and :func:`churnkit.reconcile`. Answers a coder
        left blank are absent for that coder (not coded).

    Raises
    ------
    DataValidationError
        Naming the file, sheet, row and cell: a missing ``coding`` sheet or column, no coder
        columns, an unknown code, codes without a primary, a code given twice in one row, an
        answer id that is empty or repeated, or the same coder coding the same answer in two
        files.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> answers = pd.DataFrame({"answer_id": ["a1"], "text": ["Баллы сгорели"]})
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "sheet.xlsx"
    >>> _ = write_coding_sheet(answers, out, coders=["Anna"])
    >>> read_coding_sheets(out).empty   # nobody has coded anything yet
    True
    """
    from openpyxl import load_workbook

    book = _default_codebook() if codebook is None else codebook
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    rows: list[tuple[Any, ...]] = []
    seen: dict[tuple[str, Any], str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise DataValidationError(f"{path}: no such file; check the path of the coding sheet")
        try:
            # not read_only: coding sheets are small, and a read-only workbook keeps the file
            # open until every row iterator is exhausted
            wb = load_workbook(path, data_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            # openpyxl raises InvalidFileException (a ValueError) or zipfile errors on non-XLSX
            raise DataValidationError(
                f"{path}: cannot read it as an Excel workbook ({e}); save the coding sheet as .xlsx"
            ) from e
        rows += _read_sheet(wb, path, book, seen)
    return pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS)).astype({"is_primary": bool})


def _read_sheet(
    wb: Any, path: Path, book: Codebook, seen: dict[tuple[str, Any], str]
) -> list[tuple[Any, ...]]:
    """Rows ``(coder, answer_id, code, is_primary, file, row)`` of one workbook's sheet."""
    if SHEET not in wb.sheetnames:
        raise DataValidationError(
            f"{path}: no sheet {SHEET!r} (sheets: {wb.sheetnames}); use the workbook written by "
            "`churnkit coding-sheet` and keep its sheet names"
        )
    where = f"{path}, sheet {SHEET!r}"
    values = wb[SHEET].iter_rows(values_only=True)
    header = [None if h is None else str(h).strip() for h in next(values, ())]
    id_at, slots = _sheet_columns(header, where)
    out: list[tuple[Any, ...]] = []
    ids: dict[Any, int] = {}
    for r, row in enumerate(values, start=2):
        row = tuple(row) + (None,) * (len(header) - len(row))
        cells = {i: _cell_text(v) for i, v in enumerate(row)}
        answer_id = row[id_at]
        if not _has_answer(answer_id, cells, slots, where, r, id_at):
            continue  # a blank line
        if answer_id in ids:
            raise DataValidationError(
                f"{where}, row {r}, cell {_cell(id_at, r)}: answer id "
                f"{answer_id!r} repeats row {ids[answer_id]}; each answer must have one row"
            )
        ids[answer_id] = r
        for coder, cols in slots.items():
            codes_here = _coder_codes(coder, cols, cells, book, where, r)
            if not codes_here:
                continue
            key = (coder, answer_id)
            if key in seen:
                raise DataValidationError(
                    f"{where}, row {r}: coder {coder!r} coded answer {answer_id!r} here and in "
                    f"{seen[key]}; keep one coding per coder and answer (or rename a coder)"
                )
            seen[key] = f"{path}, row {r}"
            out += [
                (coder, answer_id, code, i == cols[0][1], str(path), r)
                for code, i in codes_here.items()
            ]
    return out


def _sheet_columns(
    header: list[str | None], where: str
) -> tuple[int, dict[str, list[tuple[int, int]]]]:
    """The answer id's column, and per coder the (slot number, column) of each code column."""
    if ID_HEADER not in header:
        raise DataValidationError(
            f"{where}, row 1: no {ID_HEADER!r} column header (found {header}); restore the header row"
        )
    slots: dict[str, list[tuple[int, int]]] = {}  # coder -> [(slot number, column index)]
    for i, h in enumerate(header):
        m = _CODER_HEADER.match(h or "")
        if m and h not in _FIXED_HEADERS:
            number = 1 if m["slot"] == PRIMARY else int(m["n"])
            slots.setdefault(m["coder"], []).append((number, i))
    if not slots:
        raise DataValidationError(
            f"{where}, row 1: no coder columns; expected headers like '<coder> primary' and "
            f"'<coder> code 2' (found {header})"
        )
    for coder, cols in slots.items():
        if 1 not in {n for n, _ in cols}:
            raise DataValidationError(
                f"{where}, row 1: coder {coder!r} has code columns but no '{coder} primary' column"
            )
        cols.sort()
    return header.index(ID_HEADER), slots


def _has_answer(
    answer_id: Any,
    cells: dict[int, str],
    slots: dict[str, list[tuple[int, int]]],
    where: str,
    r: int,
    id_at: int,
) -> bool:
    """False for a blank line; an empty id beside codes is an error."""
    if answer_id is None or (isinstance(answer_id, str) and not answer_id.strip()):
        if any(cells[i] for cols in slots.values() for _, i in cols):
            raise DataValidationError(
                f"{where}, row {r}, cell {_cell(id_at, r)}: the answer id is "
                "empty but the row has codes; restore the id"
            )
        return False
    return True


def _coder_codes(
    coder: str,
    cols: list[tuple[int, int]],
    cells: dict[int, str],
    book: Codebook,
    where: str,
    r: int,
) -> dict[str, int]:
    """One coder's codes in row ``r`` (code -> column): known, not repeated, with a primary."""
    given = [(i, cells[i]) for _, i in cols if cells[i]]
    if not given:
        return {}
    primary_col = cols[0][1]
    if not cells[primary_col]:
        raise DataValidationError(
            f"{where}, row {r}, cell {_cell(primary_col, r)}: coder "
            f"{coder!r} gave codes but no primary code; fill '{coder} primary'"
        )
    codes_here: dict[str, int] = {}
    for i, code in given:
        if code not in book:
            raise DataValidationError(
                f"{where}, row {r}, cell {_cell(i, r)}: {code!r} is not a code of codebook "
                f"{book.name!r}; pick one from the dropdown (the 'codes' sheet lists them)"
            )
        if code in codes_here:
            raise DataValidationError(
                f"{where}, row {r}, cell {_cell(i, r)}: coder {coder!r} gives {code!r} twice "
                f"(also in {_cell(codes_here[code], r)}); clear one of them"
            )
        codes_here[code] = i
    return codes_here


def _cell(column: int, row: int) -> str:
    """The Excel name of a cell: 0-based column, 1-based row (``E3``)."""
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column + 1)}{row}"


def _cell_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _header(coder: str, slot: int) -> str:
    return f"{coder} {PRIMARY}" if slot == 1 else f"{coder} code {slot}"


def _check_coders(coders: Sequence[str]) -> list[str]:
    if isinstance(coders, str):
        coders = [coders]
    names = [str(c).strip() for c in coders]
    if not names or any(not n for n in names):
        raise DataValidationError(f"coders must be non-empty names, got {list(coders)!r}")
    if len(set(names)) != len(names):
        raise DataValidationError(f"coder names must be unique, got {names}")
    if SUGGESTED_HEADER in names:
        raise DataValidationError(
            f"{SUGGESTED_HEADER!r} names the suggested-code columns; give the coder another name"
        )
    return names
