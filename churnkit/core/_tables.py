"""Reading tables: the one reader of every CSV/TSV, XLSX and Parquet table churnkit takes in.

:func:`read_source` reads what a loader validates (orders, customers, do-not-contact lists):
text files as strings, so the reader coerces nothing and every value is parsed and reported by
its loader. :func:`read_table` reads the other tables (answers, codes, scores, a sample and
every table a stage wrote) with types: ids, strata, codes and text stay text ("007" stays
"007"), columns whose every value is a number or a boolean become one, blank cells are missing.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from churnkit.core._errors import DataValidationError

PathLike = str | os.PathLike[str]
STRING = pd.StringDtype("pyarrow")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SEPARATORS = (";", "\t", ",", "|")
# columns read_table keeps as text whatever they hold (besides every name ending in "_id")
TEXT_COLUMNS = frozenset({"stratum", "code", "text"})
_BOOLEANS = {"true": True, "false": False}
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


@dataclass
class Source:
    """Raw columns as read, the name used in messages, and the file-line offset of row 1."""

    frame: pd.DataFrame
    name: str
    line_offset: int | None
    text: bool


# -- reading -------------------------------------------------------------------------------
def _from_arrow(table: pa.Table) -> pd.DataFrame:
    strings = {pa.string(): STRING, pa.large_string(): STRING}
    return table.to_pandas(
        types_mapper=strings.get,
        split_blocks=True,
        self_destruct=True,
        date_as_object=False,
        coerce_temporal_nanoseconds=True,
    )


def _detect_encoding(path: Path) -> str:
    """ "utf-8" if the whole file decodes as UTF-8, else "cp1251" (Russian Windows exports)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 24), b""):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _head(path: Path, encoding: str, size: int = 1 << 18) -> list[str]:
    """The first complete lines of a text file, decoded, BOM removed."""
    with open(path, "rb") as fh:
        raw = fh.read(size)
        more = bool(fh.read(1))
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw)
    lines = text.lstrip("\ufeff").splitlines()
    return [line for line in (lines[:-1] if more and len(lines) > 1 else lines) if line.strip()]


def _sniff(lines: list[str]) -> str:
    """The separator that splits the header into most columns and every sample line alike."""

    def score(sep: str) -> tuple[bool, int]:
        counts = [len(row) for row in csv.reader(lines[:50], delimiter=sep)]
        return counts[0] > 1 and all(c == counts[0] for c in counts), counts[0]

    return max(SEPARATORS, key=score)


def _read_text(path: Path, name: str, sep: str | None, encoding: str | None) -> pd.DataFrame:
    import pyarrow.csv as pacsv

    encoding = encoding or _detect_encoding(path)
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as e:
        raise DataValidationError(
            f"{name}: unknown encoding {encoding!r}; pass e.g. encoding='utf-8' or 'cp1251'."
        ) from e
    lines = _head(path, codec)
    if not lines:
        raise DataValidationError(f"{name}: the file is empty; export the table with a header row.")
    sep = sep or _sniff(lines)
    header = [h.strip() for h in next(csv.reader(lines[:1], delimiter=sep))]
    header = [h or f"column_{i + 1}" for i, h in enumerate(header)]
    _check_unique_names(header, name)
    slots = [f"c{i}" for i in range(len(header))]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                # pyarrow's own UTF-8 path is fast and skips a BOM; other codecs go through Python
                encoding="utf8" if codec in ("utf-8", "utf-8-sig") else codec,
                skip_rows=1,
                column_names=slots,
            ),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(slots, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise DataValidationError(
            f"{name}: cannot read the file as text with separator {sep!r} and encoding "
            f"{codec!r}: {e}. Pass sep= and encoding= if they were guessed wrong, or fix the "
            "line the reader names."
        ) from e
    return _from_arrow(table.rename_columns(header))


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        repetitive = set(_repetitive_text(path))
        columns = {}
        # one column at a time: only one column's Arrow buffers live beside the frame
        for column in pq.ParquetDataset(path).schema.names:
            table = pq.read_table(
                path, columns=[column], read_dictionary=[column] if column in repetitive else None
            )
            columns[column] = _from_arrow(table)[column]
            del table
            pa.default_memory_pool().release_unused()
    except (pa.ArrowInvalid, OSError) as e:
        raise DataValidationError(
            f"{name}: cannot read Parquet ({e}). Check that the file (or every file in the "
            "folder) is a complete Parquet file."
        ) from e
    return pd.DataFrame(columns, copy=False)


def _repetitive_text(path: Path, sample_rows: int = 65_536, max_share: float = 0.05) -> list[str]:
    """Text columns of a Parquet source with few distinct values in its first rows.

    They are read dictionary-encoded (pandas categoricals): a channel or a region repeated
    over millions of rows then costs an integer per row instead of a string. Ids and free
    text, with many distinct values, stay strings.
    """
    import pyarrow.parquet as pq

    first = path if path.is_file() else min(path.rglob("*.parquet"), default=None)
    if first is None:
        return []
    handle = pq.ParquetFile(first)
    text = [
        f.name
        for f in handle.schema_arrow
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    if not text:
        return []
    batch = next(handle.iter_batches(batch_size=sample_rows, columns=text), None)
    if batch is None or batch.num_rows == 0:
        return []
    limit = max_share * batch.num_rows
    return [c for c in text if len(batch.column(c).unique()) <= limit]


def _check_unique_names(names: list[str], name: str) -> None:
    seen: set[str] = set()
    repeated = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if repeated:
        raise DataValidationError(
            f"{name}: column names {sorted(set(repeated))} occur more than once; rename them so "
            "that every column has its own name."
        )


def read_source(
    source: Any,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
    what: str = "input",
    allow_empty: bool = False,
) -> Source:
    """Read a CSV/TSV/TXT or Parquet file, a folder of Parquet, a DataFrame or a DuckDB relation.

    Text files give every value as written (a string column each; nothing is coerced), with
    the encoding (UTF-8, else cp1251) and the separator detected unless given.
    """
    text = False
    if isinstance(source, pd.DataFrame):
        frame, shown = source, name or f"<{what} DataFrame>"
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        shown = name or str(source)
        suffix = path.suffix.lower()
        if not path.exists():
            raise DataValidationError(f"{shown}: file not found; check the path.")
        if path.is_dir() or suffix in PARQUET_SUFFIXES:
            frame = _read_parquet(path, shown)
        elif suffix in TEXT_SUFFIXES:
            frame, text = _read_text(path, shown, sep, encoding), True
        else:
            raise DataValidationError(
                f"{shown}: unsupported file type {suffix or '(no extension)'!r}. churnkit reads "
                f"{', '.join(TEXT_SUFFIXES + PARQUET_SUFFIXES)} files and folders of Parquet "
                "files; save the table as CSV or Parquet, or pass a pandas DataFrame."
            )
    elif type(source).__module__.split(".")[0] == "duckdb" and hasattr(source, "columns"):
        convert = getattr(source, "to_arrow_table", None) or source.fetch_arrow_table
        frame, shown = _from_arrow(convert()), name or f"<{what} DuckDB relation>"
    else:
        raise DataValidationError(
            f"{name or what}: cannot read a {type(source).__name__}; pass a path to a CSV or "
            "Parquet file, a pandas DataFrame or a DuckDB relation."
        )
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    _check_unique_names(list(frame.columns), shown)
    if not len(frame) and not allow_empty:
        raise DataValidationError(f"{shown}: the {what} table has no data rows.")
    return Source(frame, shown, 1 if text else None, text)


# -- typed tables ------------------------------------------------------------------------------
def read_table(path: PathLike, what: str, *, dates: Sequence[str] = ()) -> pd.DataFrame:
    """A table with types: CSV/TSV/TXT (encoding and separator detected), XLSX or Parquet.

    Columns named ``*_id``, ``stratum``, ``code`` or ``text`` stay text; in a text or XLSX
    file every other column becomes numbers (or booleans) when all its values are, else stays
    text; blank cells are missing. ``dates`` are parsed as dates.

    Raises
    ------
    DataValidationError
        The file is missing, empty of columns, or cannot be read; the message names it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "codes.csv"
    >>> _ = p.write_text("answer_id;code;is_primary;weight\n007;price;True;1,5\n", "utf-8")
    >>> read_table(p, "codes").iloc[0].tolist()
    ['007', 'price', True, '1,5']
    """
    path = Path(path)
    shown = str(path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        frame = typed(_read_excel(path, shown, what))
    elif suffix in PARQUET_SUFFIXES or path.is_dir():
        frame = _read_typed_parquet(path, shown)
    else:
        source = read_source(path, name=shown, what=what, allow_empty=True)
        frame = typed(source.frame)
    for column in dates:
        if column in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = pd.to_datetime(frame[column])
    return frame


def _read_excel(path: Path, shown: str, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataValidationError(f"{shown}: file not found; check the path.")
    try:
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    except (ValueError, KeyError, OSError) as e:
        raise DataValidationError(f"{shown}: cannot read the {what} workbook ({e}).") from e


def _read_typed_parquet(path: Path, shown: str) -> pd.DataFrame:
    if not path.exists():
        raise DataValidationError(f"{shown}: file not found; check the path.")
    try:
        frame = pd.read_parquet(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise DataValidationError(f"{shown}: cannot read Parquet ({e}).") from e
    for column in frame.columns:
        if _is_text_column(str(column)) and not pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].astype(str)
    return frame


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of text as read turned into what they hold (see :func:`read_table`).

    Examples
    --------
    >>> typed(pd.DataFrame({"n": ["1", ""], "ok": ["True", "False"], "s_id": ["01", "2"]})).dtypes.tolist()
    [dtype('float64'), dtype('bool'), dtype('O')]
    """
    return pd.DataFrame(
        {column: _typed_column(str(column), frame[column]) for column in frame.columns},
        index=frame.index,
    )


def _is_text_column(name: str) -> bool:
    return name.endswith("_id") or name in TEXT_COLUMNS


def _typed_column(name: str, column: pd.Series) -> Any:
    """One column as text (object, blank = NaN), booleans, integers or floats."""
    values = column.astype(object).where(column.notna(), "").map(str).to_numpy(dtype=object)
    blank = values == ""
    text = np.where(blank, np.nan, values).astype(object)
    if _is_text_column(name):
        return text
    if blank.all():
        return np.full(len(values), np.nan)
    filled = values[~blank]
    lower = np.char.lower(filled.astype(str))
    if np.isin(lower, list(_BOOLEANS)).all():
        flags = np.array([_BOOLEANS[v] for v in lower], dtype=bool)
        if not blank.any():
            return flags
        out = text.copy()
        out[~blank] = flags
        return out
    numbers = pd.to_numeric(pd.Series(filled), errors="coerce")
    if numbers.isna().any():
        return text
    if not blank.any() and all(_INTEGER.match(v) for v in filled):
        return numbers.to_numpy(dtype=np.int64)
    out_numbers = np.full(len(values), np.nan)
    out_numbers[~blank] = numbers.to_numpy(dtype=float)
    return out_numbers
