"""XLSX files whose bytes depend only on their data (fixed document dates and zip times)."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EPOCH", "fix_xlsx_times", "write_xlsx"]

PathLike = str | os.PathLike[str]
EPOCH = datetime(2000, 1, 1)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CORE_DATES = re.compile(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: PathLike,
    *,
    stamp: datetime | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write DataFrames as sheets of one XLSX whose bytes depend only on the data.

    openpyxl stamps the document with the current time and the zip entries with the local
    clock; both are replaced by ``stamp`` (default 2000-01-01) and 1980-01-01, so equal
    frames give equal files. Headers are bold and frozen; ``choices`` maps a column name to
    the values offered as a drop-down in every sheet that has it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.xlsx"
    >>> a = write_xlsx({"s": pd.DataFrame({"x": [1]})}, p).read_bytes()
    >>> a == write_xlsx({"s": pd.DataFrame({"x": [1]})}, p).read_bytes()
    True
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    stamp = stamp or EPOCH
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "churnkit"
    wb.properties.created = stamp
    for title, frame in sheets.items():
        ws = wb.create_sheet(title)
        ws.append([str(c) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        ws.freeze_panes = "A2"
        for j, column in enumerate(frame.columns, start=1):
            letter = get_column_letter(j)
            shown = frame[column].head(200).map(_cell).map(lambda v: "" if v is None else str(v))
            longest = max([len(str(column)), *shown.str.len()])
            ws.column_dimensions[letter].width = min(max(10, longest + 2), 60)
            if pd.api.types.is_float_dtype(frame[column]):
                # full precision stays in the cell; people see three decimals
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = "0.000"
            if choices and column in choices and len(frame):
                listed = ",".join(choices[column])
                dv = DataValidation(
                    type="list",
                    formula1=f'"{listed}"',
                    allow_blank=True,
                    showErrorMessage=True,
                    error=f"Choose one of: {', '.join(choices[column])}",
                )
                dv.add(f"{letter}2:{letter}{len(frame) + 1}")
                ws.add_data_validation(dv)
    buffer = io.BytesIO()
    wb.save(buffer)
    path = Path(path)
    path.write_bytes(fix_xlsx_times(buffer.getvalue(), stamp))
    return path


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def fix_xlsx_times(data: bytes, stamp: datetime) -> bytes:
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(rf"\g<1>{iso}\g<2>", content.decode()).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, content)
    return out.getvalue()
