"""The retention matrix as a workbook researchers can read: figures, respondents and the method."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from churnkit.core._xlsx import EPOCH, fix_xlsx_times

# per segment in the ``matrix`` sheet: each interval next to the interviews it rests on
MATRIX_COLUMNS = (
    "label",
    "count",
    "primary_share",
    "primary_low",
    "primary_high",
    "respondents",
    "n_eff",
    "low_n",
    "mention_share",
    "money_at_risk",
    "money_low",
    "money_high",
)
# the figures greyed out where ``low_n`` is set
_FLAGGED = ("primary_share", "primary_low", "primary_high", "respondents", "n_eff", "low_n")
_FLAGGED += ("mention_share", "money_at_risk", "money_low", "money_high")


def matrix_sheet(cells: pd.DataFrame, segments: list[str]) -> pd.DataFrame:
    """One row per (group, code), :data:`MATRIX_COLUMNS` per segment side by side."""
    wide = []
    for segment in segments:
        part = cells[cells["segment"] == segment].set_index(["group", "code"])
        wide.append(part[list(MATRIX_COLUMNS)].add_prefix(f"{segment}: "))
    matrix = pd.concat(wide, axis=1).reset_index()
    label_cols = [c for c in matrix.columns if c.endswith(": label")]
    matrix.insert(2, "label", matrix[label_cols[0]])
    return matrix.drop(columns=label_cols)


def write_workbook(
    cells: pd.DataFrame,
    segments: list[str],
    sheets: Mapping[str, pd.DataFrame],
    method: list[str],
    path: Path,
) -> Path:
    """Sheets ``matrix``, ``cells``, then ``sheets``, then ``method`` (one paragraph a row).

    In the ``matrix`` sheet the figures of a cell flagged ``low_n`` are grey and italic.
    Document dates and zip times are fixed: equal matrices give equal bytes.
    """
    from openpyxl.styles import Font

    matrix = matrix_sheet(cells, segments)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        matrix.to_excel(writer, sheet_name="matrix", index=False)
        cells.to_excel(writer, sheet_name="cells", index=False)
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
        pd.DataFrame({"note": method}).to_excel(writer, sheet_name="method", index=False)
        sheet = writer.sheets["matrix"]
        grey = Font(italic=True, color="808080")
        position = {c: j + 1 for j, c in enumerate(matrix.columns)}
        for segment in segments:
            flagged = matrix[f"{segment}: low_n"].to_numpy(dtype=bool)
            for i in flagged.nonzero()[0]:
                for column in _FLAGGED:
                    sheet.cell(row=i + 2, column=position[f"{segment}: {column}"]).font = grey
        writer.sheets["method"].column_dimensions["A"].width = 120
    path.write_bytes(fix_xlsx_times(buffer.getvalue(), EPOCH))
    return path
