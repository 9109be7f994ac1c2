"""Vectorised parsers for the values of exported tables: numbers, dates, booleans and ids.

Every parser takes a pandas Series as read from the source (text for CSV files, typed for
Parquet, DataFrames and DuckDB) and returns numpy arrays plus masks that say which values were
blank and which could not be read, so that the caller decides what to reject or report. Text is
handled with pyarrow compute kernels on the distinct values, never with a Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnkit.core._errors import DataValidationError
from churnkit.core._tables import STRING

# spaces Excel and 1C put between thousands: regular, no-break, narrow no-break, thin
_GROUP_SPACES = "[ \u00a0\u202f\u2009']"
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_ISO = (
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?$"
)
_DMY = (
    r"^(?P<a>\d{1,2})[./](?P<b>\d{1,2})[./](?P<y>\d{4})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?$"
)
_TRUE = ("true", "1", "yes", "y", "да", "д", "t")
_FALSE = ("false", "0", "no", "n", "нет", "н", "f")
_DAY_NS = 86_400_000_000_000


@dataclass
class Parsed:
    """Parsed values with masks: ``blank`` (nothing there) and ``bad`` (there but unreadable)."""

    values: np.ndarray
    blank: np.ndarray
    bad: np.ndarray


@dataclass
class ParsedDates(Parsed):
    """Parsed dates; ``has_time`` is True when any value carried a time of day."""

    has_time: bool = False


def is_text(series: pd.Series) -> bool:
    """True when ``series`` holds text (or mixed objects) that must be parsed."""
    return pd.api.types.is_string_dtype(series.dtype) or isinstance(
        series.dtype, pd.CategoricalDtype
    )


def _arrow(series: pd.Series) -> pa.Array:
    """The pyarrow string array of a text Series (converted to pyarrow strings if needed).

    A file read in blocks gives a chunked array; kernels such as ``dictionary_encode`` need
    one contiguous array.
    """
    values = pa.array((series if series.dtype == STRING else series.astype(STRING)).array)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(values), index=index, copy=False)


def as_text(series: pd.Series, *, strip: bool = True) -> pd.Series:
    """``series`` as pyarrow-backed strings, stripped, with blank strings turned into NA."""
    values = _arrow(series)
    if strip:
        values = pc.utf8_trim_whitespace(values)
    empty = pc.equal(values, "")
    if pc.any(empty).as_py():
        values = pc.if_else(empty, pa.scalar(None, values.type), values)
    return _series(values, series.index)


def _dictionary(text: pd.Series) -> tuple[pa.Array, np.ndarray]:
    """Distinct values and, per row, the index of its value (-1 for NA)."""
    encoded = _arrow(text).dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return encoded.dictionary, codes


def _take(values: np.ndarray, codes: np.ndarray, fill: object) -> np.ndarray:
    """``values[codes]`` with ``fill`` where the code is -1."""
    if not len(values):
        return np.full(len(codes), fill, dtype=values.dtype)
    out = values[np.maximum(codes, 0)]
    out[codes < 0] = fill
    return out


# -- numbers ---------------------------------------------------------------------------------
def detect_decimal(text: pd.Series) -> str:
    """Guess the decimal mark of a text column: ``","`` or ``"."``.

    A value with both marks decides (the later one is the decimal mark, as in "1.234,56");
    otherwise the mark that appears in more values wins, and a comma wins a tie because
    Russian and most European exports use it.
    """
    if bool(text.str.contains(r"\.\d*,", regex=True).any()):
        return ","
    if bool(text.str.contains(r",\d*\.", regex=True).any()):
        return "."
    commas = int(text.str.contains(",", regex=False).sum())
    dots = int(text.str.contains(".", regex=False).sum())
    return "," if commas >= dots else "."


def _parse_number_text(values: pa.Array, decimal: str) -> pa.Array:
    """Float64 values of distinct strings; null where a string is not a finite number."""
    group = "." if decimal == "," else ","
    cleaned = pc.replace_substring_regex(values, _GROUP_SPACES, "")
    cleaned = pc.replace_substring(cleaned, "\u2212", "-")  # the typographic minus sign
    # a grouping mark is only allowed in groups of three digits before the decimal mark
    grouped = pc.match_substring_regex(
        cleaned, rf"^[+-]?\d{{1,3}}(\{group}\d{{3}})+(\{decimal}\d*)?$"
    )
    cleaned = pc.if_else(grouped, pc.replace_substring(cleaned, group, ""), cleaned)
    if decimal == ",":
        cleaned = pc.replace_substring(cleaned, ",", ".")
    valid = pc.match_substring_regex(cleaned, _NUMBER)
    return pc.cast(pc.if_else(valid, cleaned, pa.scalar(None, pa.string())), pa.float64())


def parse_numbers(series: pd.Series, decimal: str | None = None) -> Parsed:
    """Parse a column into float64.

    Text may use a decimal comma and space, no-break space or apostrophe thousands separators
    ("1 234,56"); ``decimal`` is detected per column when None. "inf" and "nan" are not numbers.

    Examples
    --------
    >>> p = parse_numbers(pd.Series(["1 234,5", "", "н/д"]))
    >>> p.values.tolist()[0], p.blank.tolist(), p.bad.tolist()
    (1234.5, [False, True, False], [False, False, True])
    """
    if not is_text(series):
        if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(
            series.dtype
        ):
            return parse_numbers(series.astype(STRING), decimal)
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        blank = np.isnan(values)
        bad = np.isinf(values)
        values = np.where(bad, np.nan, values) if bad.any() else values
        return Parsed(values, blank, bad)
    text = as_text(series)
    blank = text.isna().to_numpy()
    uniques, codes = _dictionary(text)
    if decimal is None:
        decimal = detect_decimal(pd.Series(pd.arrays.ArrowStringArray(uniques)))
    parsed = _parse_number_text(uniques, decimal).to_numpy(zero_copy_only=False)
    values = _take(parsed, codes, np.nan)
    return Parsed(values, blank, np.isnan(values) & ~blank)


def numeric_or_none(series: pd.Series, decimal: str | None = None) -> np.ndarray | None:
    """The column as numbers if every non-blank value is one, else None (keep it as text).

    Values with a leading zero ("007") keep the column as text: they are codes, not numbers.
    """
    text = as_text(series)
    if not bool(text.notna().any()) or bool(text.str.match(r"^[+-]?0\d").fillna(False).any()):
        return None
    parsed = parse_numbers(text, decimal)
    if parsed.bad.any():
        return None
    return parsed.values


# -- dates -----------------------------------------------------------------------------------
def _from_parts(parts: dict[str, np.ndarray]) -> np.ndarray:
    """datetime64[ns] from component arrays; impossible dates (31.02) become NaT."""
    frame = pd.DataFrame(
        {
            "year": parts["y"],
            "month": parts["m"],
            "day": parts["d"],
            "hour": parts["H"],
            "minute": parts["M"],
            "second": parts["S"],
        }
    )
    # pandas rejects a whole frame with out-of-range parts, so mask them first
    ok = (
        frame["month"].between(1, 12)
        & frame["day"].between(1, 31)
        & frame["hour"].between(0, 23)
        & frame["minute"].between(0, 59)
        & frame["second"].between(0, 59)
        & frame["year"].between(1678, 2261)
    )
    out = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    if ok.any():
        out[ok.to_numpy()] = pd.to_datetime(frame[ok], errors="coerce").to_numpy()
    return out


def _field(struct: pa.Array, name: str) -> np.ndarray:
    """One named group of ``extract_regex`` as int64; -1 where the group did not take part."""
    column = pc.struct_field(struct, name)
    column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    return pc.cast(column, pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)


def _day_first(first: np.ndarray, second: np.ndarray, examples: list[str], context: str) -> bool:
    """Decide dd/mm versus mm/dd from the first two numbers of slashed dates."""
    first_big, second_big = int((first > 12).sum()), int((second > 12).sum())
    if first_big or second_big:
        return first_big >= second_big
    raise DataValidationError(
        f"{context}: dates like {examples[:3]} can be read as day/month or month/day and no "
        "value has a number above 12 to tell which. Pass date_format='%d/%m/%Y' (day first) "
        "or date_format='%m/%d/%Y' (month first)."
    )


def _parse_date_text(values: pa.Array, context: str) -> tuple[np.ndarray, bool]:
    """datetime64[ns] of distinct date strings (NaT if unreadable) and whether any had a time."""
    n = len(values)
    parts = {k: np.zeros(n, dtype=np.int64) for k in ("y", "m", "d", "H", "M", "S")}
    iso = pc.extract_regex(values, _ISO)
    is_iso = iso.is_valid().to_numpy(zero_copy_only=False)
    for key in parts:
        parts[key][is_iso] = _field(iso, key)[is_iso]
    dmy = pc.extract_regex(values, _DMY)
    is_dmy = dmy.is_valid().to_numpy(zero_copy_only=False)
    if is_dmy.any():
        first, second = _field(dmy, "a"), _field(dmy, "b")
        slashed = is_dmy & pc.match_substring(values, "/").to_numpy(zero_copy_only=False)
        # dotted dates are day-first by convention (31.01.2024); slashed ones must prove it
        day_first = np.ones(n, dtype=bool)
        if slashed.any():
            examples = values.filter(pa.array(slashed)).to_pylist()
            day_first[slashed] = _day_first(first[slashed], second[slashed], examples, context)
        parts["d"][is_dmy] = np.where(day_first, first, second)[is_dmy]
        parts["m"][is_dmy] = np.where(day_first, second, first)[is_dmy]
        for key in ("y", "H", "M", "S"):
            parts[key][is_dmy] = _field(dmy, key)[is_dmy]
    has_time = bool((parts["H"] >= 0).any())
    for key in ("H", "M", "S"):
        np.maximum(parts[key], 0, out=parts[key])
    return _from_parts(parts), has_time


def parse_dates(
    series: pd.Series, date_format: str | None = None, context: str = ""
) -> ParsedDates:
    """Parse a column of dates or timestamps into datetime64[ns].

    Text formats are detected from the values: ``2024-01-31``, ``2024-01-31 14:05(:33)``,
    ``31.01.2024``, ``31.01.2024 14:05(:33)``, ``31/01/2024`` and ``01/31/2024``. When
    day/month order cannot be decided from the values a :class:`DataValidationError` asks for
    ``date_format=``; an explicit ``date_format`` (strftime codes) is always used as given.

    Examples
    --------
    >>> p = parse_dates(pd.Series(["31.01.2024", "2024-02-01 10:00", "31.02.2024", ""]))
    >>> [str(v)[:16] for v in p.values], p.has_time
    (['2024-01-31T00:00', '2024-02-01T10:00', 'NaT', 'NaT'], True)
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_localize(None)  # keep the shop's local wall-clock time
        values = series.to_numpy(dtype="datetime64[ns]")
        blank = np.isnat(values)
        ns = values.view(np.int64)
        has_time = bool(((ns % _DAY_NS) != 0)[~blank].any())
        return ParsedDates(values, blank, np.zeros(len(values), dtype=bool), has_time)
    if not is_text(series):
        raise DataValidationError(
            f"{context}: expected dates, got a column of type {series.dtype}; pass text dates "
            "or datetime values."
        )
    text = as_text(series)
    blank = text.isna().to_numpy()
    uniques, codes = _dictionary(text)
    if date_format is not None:
        parsed = pd.to_datetime(
            pd.Series(uniques.to_pylist(), dtype=object), format=date_format, errors="coerce"
        ).to_numpy(dtype="datetime64[ns]")
        has_time = any(code in date_format for code in ("%H", "%I", "%M", "%S", "%X", "%c"))
    else:
        parsed, has_time = _parse_date_text(uniques, context)
    values = _take(parsed, codes, np.datetime64("NaT"))
    return ParsedDates(values, blank, np.isnat(values) & ~blank, has_time)


# -- booleans and ids ------------------------------------------------------------------------
def parse_bools(series: pd.Series) -> Parsed:
    """Parse true/false, 1/0, yes/no, y/n, да/нет, д/н (any case) into a nullable boolean array.

    Examples
    --------
    >>> p = parse_bools(pd.Series(["да", "Нет", "", "maybe"]))
    >>> p.values.tolist(), p.bad.tolist()
    ([True, False, <NA>, <NA>], [False, False, False, True])
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("boolean").array
        blank = values.isna()
        return Parsed(values, np.asarray(blank), np.zeros(len(values), dtype=bool))
    if pd.api.types.is_numeric_dtype(series.dtype):
        series = series.astype(STRING).str.replace(r"\.0+$", "", regex=True)
    text = as_text(series).str.lower()
    blank = text.isna().to_numpy()
    true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    values = pd.array(np.where(true, True, False), dtype="boolean")
    values[~(true | false)] = pd.NA
    return Parsed(values, blank, ~(true | false | blank))


@dataclass
class Ids:
    """Identifiers as text, and the rows whose value had to be rewritten (e.g. 123.0 -> "123")."""

    values: pd.Series
    coerced: np.ndarray


def parse_ids(series: pd.Series, context: str) -> Ids:
    """Identifiers as pyarrow strings: stripped, integers as decimal text, NA when blank.

    Whole floats such as ``123.0`` (what Excel makes of a numeric id) become ``"123"`` and are
    flagged in ``coerced``; a text column does the same for "123.0" when every value is a
    number. Fractional ids raise a :class:`DataValidationError`.

    Examples
    --------
    >>> ids = parse_ids(pd.Series([1.0, None, 12.0]), "orders.csv: customer_id")
    >>> ids.values.tolist(), ids.coerced.tolist()
    (['1', <NA>, '12'], [True, False, True])
    """
    coerced = np.zeros(len(series), dtype=bool)
    if pd.api.types.is_integer_dtype(series.dtype):
        text = pc.cast(pa.array(series.array), pa.string())
        return Ids(_series(text, series.index), coerced)
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(values)
        wrong = (finite & (np.floor(values) != values)) | np.isinf(values)
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            raise DataValidationError(
                f"{context}: ids must be text or whole numbers, row {row + 1} has {float(values[row])!r}. "
                "Fix the id column in the source (export it as text)."
            )
        whole = pa.array(np.where(finite, values, 0).astype(np.int64), mask=~finite)
        return Ids(_series(pc.cast(whole, pa.string()), series.index), finite)
    if not is_text(series):
        raise DataValidationError(
            f"{context}: ids must be text or integers, got a column of type {series.dtype}."
        )
    text = as_text(series)
    values = _arrow(text)
    # "123.0" is an Excel artefact only when the whole column is numeric; test cheaply first
    if (
        pc.any(pc.match_substring_regex(values, "[.,]")).as_py()
        and pc.all(pc.match_substring_regex(values, r"^\d+([.,]0+)?$")).as_py()
    ):
        trailing = pc.match_substring_regex(values, r"[.,]0+$")
        coerced = trailing.fill_null(False).to_numpy(zero_copy_only=False)
        text = _series(pc.replace_substring_regex(values, r"[.,]0+$", ""), series.index)
    return Ids(text, coerced)


def parse_text(series: pd.Series, *, from_file: bool) -> pd.Series:
    """A text column as pyarrow strings (or categoricals, as they came).

    Text read from a file is stripped and blanks become NA; typed columns (Parquet, DataFrames)
    keep their values; categoricals stay categoricals and other columns become pyarrow
    strings.
    """
    if from_file:
        return as_text(series)
    if series.dtype == STRING or isinstance(series.dtype, pd.CategoricalDtype):
        return series
    return series.astype(STRING)
