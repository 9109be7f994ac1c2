"""Loading orders and customers from CSV/Parquet files, DataFrames and DuckDB relations.

Text files are read as strings (pyarrow's CSV reader), so nothing is coerced by the reader;
every value is then parsed by :mod:`churnkit.io._parse` and every row the loader cannot use is
rejected with exactly one reason and kept in the :class:`ValidationReport`.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from churnkit.core._errors import ConfigError, DataValidationError, MissingColumnError
from churnkit.core._schema import (
    CUSTOMER_OPTIONAL,
    CUSTOMER_REQUIRED,
    ORDER_OPTIONAL,
    ORDER_REQUIRED,
)
from churnkit.io._parse import (
    STRING,
    Parsed,
    as_text,
    numeric_or_none,
    parse_bools,
    parse_dates,
    parse_ids,
    parse_numbers,
    parse_text,
)
from churnkit.io._transaction_log import TransactionLog
from churnkit.io._validation import N_EXAMPLES, REASONS, ValidationReport, describe_rows

Source = str | os.PathLike[str] | pd.DataFrame | Any

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SEPARATORS = (";", "\t", ",", "|")
EARLIEST = np.datetime64("1990-01-01", "ns")
REWRITTEN_IDS = "were whole-number floats (123.0) and were rewritten as text ids (123)"

# names seen in real exports, used only to suggest a mapping, never to map silently
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": ("Клиент", "Код клиента", "Покупатель", "ID клиента", "client_id", "user_id"),
    "order_date": ("Дата заказа", "Дата", "Дата документа", "date", "order date", "created_at"),
    "revenue": ("Сумма", "Выручка", "Сумма заказа", "Сумма продажи", "amount", "sales", "total"),
    "order_id": ("Номер заказа", "Номер", "Номер документа", "order number"),
    "quantity": ("Количество", "Кол-во", "qty"),
    "category": ("Категория", "Группа товаров"),
    "channel": ("Канал", "Канал продаж"),
    "device": ("Устройство",),
    "region": ("Регион", "Город"),
    "discount": ("Скидка",),
    "delivery_days": ("Срок доставки", "Дней доставки"),
    "bonus_earned": ("Начислено бонусов",),
    "bonus_spent": ("Списано бонусов",),
    "bonus_expired": ("Сгорело бонусов",),
    "registered_at": ("Дата регистрации",),
    "acquisition_channel": ("Источник", "Канал привлечения"),
    "first_name": ("Имя",),
    "email": ("Почта", "E-mail", "Электронная почта"),
    "phone": ("Телефон",),
    "is_test": ("Тестовый",),
    "is_employee": ("Сотрудник",),
}


@dataclass
class _Source:
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


def _read(
    source: Source, *, sep: str | None, encoding: str | None, name: str | None, what: str
) -> _Source:
    """Read any supported source into raw columns (strings for text files)."""
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
    if not len(frame):
        raise DataValidationError(f"{shown}: the {what} table has no data rows.")
    return _Source(frame, shown, 1 if text else None, text)


# -- column mapping --------------------------------------------------------------------------
def _similarity(found: str, target: str) -> float:
    a, b = found.strip().lower(), target.lower().replace("_", " ")
    return difflib.SequenceMatcher(None, a, b).ratio()


def _closest(key: str, found: list[str]) -> str | None:
    """The found column most like ``key`` or one of its aliases (ratio >= 0.6), if any."""
    targets = (key, *ALIASES.get(key, ()))
    scored = [(max(_similarity(f, t) for t in targets), f) for f in found]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= 0.6 else None


def _resolve(
    src: _Source,
    columns: Mapping[str, str] | None,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    argument: str,
) -> dict[str, str]:
    """Canonical name -> source column, from ``columns=`` and canonical names already present."""
    found = list(src.frame.columns)
    known = (*required, *optional)
    columns = dict(columns or {})
    for key, user in columns.items():
        if key not in known:
            raise ConfigError(
                f"{src.name}: {argument}= maps {user!r} to {key!r}, which is not a churnkit "
                f"column. Known columns: {list(known)}."
            )
        if user not in found:
            near = difflib.get_close_matches(str(user), found, n=1, cutoff=0.6)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise MissingColumnError(
                f"{src.name}: column {user!r} given in {argument}={{{key!r}: {user!r}}} is not "
                f"in the table. Columns found: {found}.{hint}"
            )
        if key in found and user != key:
            raise DataValidationError(
                f"{src.name}: {argument}= maps {user!r} to {key!r}, but the table already has a "
                f"column {key!r}. Rename or drop one of them."
            )
    users = list(columns.values())
    if len(set(users)) < len(users):
        raise ConfigError(f"{src.name}: {argument}= maps one column to several names: {columns}.")
    resolved = {k: columns.get(k, k) for k in known if k in columns or k in found}
    missing = [k for k in required if k not in resolved]
    if missing:
        unused = [f for f in found if f not in resolved.values()]
        guesses = {k: _closest(k, unused) for k in missing}
        names = ", ".join(repr(k) for k in missing)
        plural = "s" if len(missing) > 1 else ""
        message = f"{src.name}: required column{plural} {names} not found. Columns found: {found}."
        if any(guesses.values()):
            message += (
                " Did you mean "
                + ", ".join(
                    f"{g!r}" + (f" for {k!r}" if len(missing) > 1 else "")
                    for k, g in guesses.items()
                    if g
                )
                + "?"
            )
        mapping = {k: g or "<your column>" for k, g in guesses.items()}
        message += f" Map {'them' if plural else 'it'} with {argument}={mapping}."
        raise MissingColumnError(message)
    return resolved


# -- shared helpers --------------------------------------------------------------------------
def _label(src: _Source, canonical: str, column: str) -> str:
    return f"{src.name}: column {_column(canonical, column)}"


def _column(canonical: str, column: str) -> str:
    """How a column is named in reports: ``'quantity'`` or ``'quantity' ('Количество')``."""
    return repr(canonical) if column == canonical else f"{canonical!r} ({column!r})"


def _pairs(rows: np.ndarray, values: pd.Series | np.ndarray) -> list[tuple[int, str]]:
    """(1-based row, raw value as text) for the first rows in ``rows`` (0-based positions)."""
    picked = rows[:N_EXAMPLES]
    shown = pd.Series(values).iloc[picked] if len(picked) else pd.Series([], dtype=object)
    return [(int(r) + 1, "" if pd.isna(v) else str(v)) for r, v in zip(picked, shown, strict=True)]


def _require_readable(parsed: Parsed, raw: pd.Series, label: str, what: str, hint: str) -> None:
    """A required column where no non-blank value parses is a structural problem."""
    if parsed.bad.any() and not (~parsed.bad & ~parsed.blank).any():
        example = _pairs(np.flatnonzero(parsed.bad), raw)[:3]
        raise DataValidationError(
            f"{label}: none of the {int(parsed.bad.sum()):,} values can be read as {what} "
            f"(e.g. row, value: {example}). {hint}"
        )


def _text_extras(src: _Source, extras: list[str]) -> dict[str, Any]:
    """User columns: from a text file numeric when every value is a number, else text."""
    out: dict[str, Any] = {}
    for col in extras:
        raw = src.frame[col]
        if not src.text:
            # numpy columns as arrays so that taking kept rows stays a numpy take
            out[col] = raw.to_numpy() if isinstance(raw.dtype, np.dtype) else raw.array
            continue
        numbers = numeric_or_none(raw)
        out[col] = numbers if numbers is not None else as_text(raw, strip=False).array
    return out


def _duplicates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rows equal in every column to an earlier row, and the 1-based row of that first copy.

    DuckDB hashes each row (multi-threaded, no copy of the frame); sorting the hashes finds
    the repeated ones with little memory, and only rows whose hash repeats are compared
    exactly in pandas, so a hash collision can never reject a row.
    """
    from churnkit.core._duck import connect

    n = len(frame)
    # DuckDB cannot scan object columns of mixed Python types; their text is what is compared
    objects = [c for c in frame.columns if frame[c].dtype == object]
    scanned = frame.astype(dict.fromkeys(objects, STRING)) if objects else frame
    quoted = ", ".join('"' + str(c).replace('"', '""') + '"' for c in frame.columns)
    con = connect()
    try:
        con.register("raw", scanned)
        hashes = con.execute(f"SELECT hash({quoted}) AS h FROM raw").fetchnumpy()["h"]
    finally:
        con.close()
    ordered = np.sort(hashes)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    dup = np.zeros(n, dtype=bool)
    first = np.zeros(n, dtype=np.int64)
    if len(repeated):
        candidates = np.flatnonzero(pd.Series(hashes).isin(repeated).to_numpy())
        subset = scanned.iloc[candidates].reset_index(drop=True)
        groups = subset.groupby(list(subset.columns), dropna=False, sort=False).ngroup()
        first_of_group = pd.Series(candidates).groupby(groups.to_numpy()).transform("min")
        later = first_of_group.to_numpy() != candidates
        dup[candidates[later]] = True
        first[candidates[later]] = first_of_group.to_numpy()[later] + 1
    return dup, first


# -- customers -------------------------------------------------------------------------------
def _fail_rows(
    label: str, rows: np.ndarray, raw: pd.Series, problem: str, fix: str, src: _Source
) -> None:
    pairs = _pairs(rows, raw)
    where = describe_rows([r for r, _ in pairs], src.line_offset)
    values = [v for _, v in pairs]
    raise DataValidationError(
        f"{label}: {len(rows):,} {problem}, e.g. row {where} with values {values}. {fix}"
    )


def _load_customers(
    source: Source,
    columns: Mapping[str, str] | None,
    *,
    sep: str | None,
    encoding: str | None,
    decimal: str | None,
    date_format: str | None,
    name: str | None,
    argument: str,
) -> pd.DataFrame:
    src = _read(source, sep=sep, encoding=encoding, name=name, what="customers")
    cols = _resolve(src, columns, CUSTOMER_REQUIRED, tuple(CUSTOMER_OPTIONAL), argument)
    raw = src.frame
    out: dict[str, Any] = {}
    coercions: list[dict[str, Any]] = []
    for key in ("customer_id", *CUSTOMER_OPTIONAL):
        if key not in cols:
            continue
        column, label = raw[cols[key]], _label(src, key, cols[key])
        kind = CUSTOMER_OPTIONAL.get(key, "str")
        if kind == "str":
            ids = parse_ids(column, label)
            out[key] = ids.values.array
            if ids.coerced.any():
                coercions.append(
                    _coercion(f"customers.{key}", cols[key], ids.coerced, column, REWRITTEN_IDS)
                )
            continue
        parsed = parse_bools(column) if kind == "bool" else parse_dates(column, date_format, label)
        if parsed.bad.any():
            what = (
                "values that are not yes/no (true/false, 1/0, да/нет)"
                if kind == "bool"
                else "values that are not dates"
            )
            fix = "Fix them in the source." + (" Or pass date_format=." if kind == "date" else "")
            _fail_rows(label, np.flatnonzero(parsed.bad), column, what, fix, src)
        out[key] = parsed.values
    blank = pd.isna(out["customer_id"])
    if blank.any():
        _fail_rows(
            _label(src, "customer_id", cols["customer_id"]),
            np.flatnonzero(blank),
            raw[cols["customer_id"]],
            "rows have no customer id",
            "Fill them in or remove those rows.",
            src,
        )
    repeated = pd.Series(out["customer_id"]).duplicated(keep=False).to_numpy()
    if repeated.any():
        _fail_rows(
            _label(src, "customer_id", cols["customer_id"]),
            np.flatnonzero(repeated),
            raw[cols["customer_id"]],
            "rows share a customer id that must be unique",
            "Keep one row per customer.",
            src,
        )
    extras = [c for c in raw.columns if c not in cols.values()]
    out.update(_text_extras(src, extras))
    customers = pd.DataFrame(out)
    customers.attrs["coercions"] = coercions
    return customers


def _coercion(
    column: str, source_column: str, mask: np.ndarray, raw: pd.Series, action: str
) -> dict[str, Any]:
    rows = np.flatnonzero(mask)
    return {
        "column": column,
        "source_column": source_column,
        "count": len(rows),
        "action": action,
        "examples": _pairs(rows, raw),
    }


def load_customers(
    source: Source,
    columns: Mapping[str, str] | None = None,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    date_format: str | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Load and validate a customers table (one row per customer).

    Read and mapped like :func:`load_orders`. ``customer_id`` must be present and unique;
    ``registered_at`` is parsed like order dates; flags (``is_test``, ``research_opt_in``, …)
    accept true/false, 1/0, yes/no, y/n, да/нет, д/н in any case, blank meaning unknown (NA).
    Unknown extra columns are kept. Any value that cannot be read raises
    :class:`DataValidationError` naming the column, rows and values: a customers table is small
    and a wrong flag (e.g. ``is_test``) would silently change which orders are used.

    Parameters
    ----------
    source : path, DataFrame or DuckDB relation
        CSV/TSV/TXT or Parquet file, folder of Parquet files, DataFrame or relation.
    columns : dict, optional
        ``{canonical_name: your_column}``, e.g. ``{"customer_id": "Код клиента"}``.
    sep, encoding, decimal, date_format : str, optional
        Override what is detected from the file (see :func:`load_orders`).
    name : str, optional
        How the source is named in messages.

    Returns
    -------
    DataFrame
        ``customer_id`` (string), the canonical columns present (flags as nullable booleans,
        ``registered_at`` as datetime64[ns]) and the extra columns. ``attrs["coercions"]`` lists
        values that were rewritten (e.g. ids exported as 123.0).

    Examples
    --------
    >>> customers = load_customers(pd.DataFrame({"customer_id": [1, 2], "is_test": ["нет", "да"]}))
    >>> customers["is_test"].tolist()
    [False, True]
    """
    return _load_customers(
        source,
        columns,
        sep=sep,
        encoding=encoding,
        decimal=decimal,
        date_format=date_format,
        name=name,
        argument="columns",
    )


# -- orders ----------------------------------------------------------------------------------
def load_orders(
    source: Source,
    columns: Mapping[str, str] | None = None,
    customers: Source | None = None,
    *,
    as_of: Any = None,
    customer_columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    date_format: str | None = None,
    name: str | None = None,
) -> TransactionLog:
    """Load, validate and report on an order-lines table; return a :class:`TransactionLog`.

    Reads CSV/TSV/TXT the way Russian 1C and Excel export it (``;``, ``,`` or tab separator,
    UTF-8 with or without BOM or cp1251, decimal comma and space thousands separators, dates
    such as ``31.01.2024``, ``31.01.2024 14:05`` or ``2024-01-31``), Parquet files and folders,
    pandas DataFrames and DuckDB relations. Text is read as strings and parsed here, so the
    reader coerces nothing; typed columns (Parquet, DataFrames) skip string parsing.

    Every row that cannot be used is rejected with one reason, the first that applies:
    ``missing_customer_id``, ``missing_date``, ``unparseable_date``, ``implausible_date``
    (before 1990-01-01), ``future_date`` (after ``as_of``, or after today when ``as_of`` is
    None), ``missing_revenue``, ``non_numeric_revenue`` (including "inf"/"nan"),
    ``test_account`` (customer flagged ``is_test`` in ``customers``) and ``exact_duplicate``
    (every source column equal to an earlier row; the first copy is kept). Rejected rows are in
    ``log.report.rejected`` with their raw values.

    Returns (negative revenue) are **kept** with ``is_return=True`` and counted in
    ``report.n_returns``. Unreadable values of optional numeric columns become NaN and are
    listed in ``report.coercions``; orders of customers absent from ``customers`` are kept and
    counted in ``report.warnings``.

    Parameters
    ----------
    source : path, DataFrame or DuckDB relation
        The order lines.
    columns : dict, optional
        ``{canonical_name: your_column}``; canonical names already in the source are used as
        they are. Required: ``customer_id``, ``order_date``, ``revenue``; optional ones are
        listed in ``churnkit.core._schema.ORDER_OPTIONAL``. Nothing is mapped by guesswork.
    customers : path, DataFrame or DuckDB relation, optional
        The customers table, loaded with :func:`load_customers` and the same ``sep``,
        ``encoding``, ``decimal`` and ``date_format`` (load it yourself if those differ).
    as_of : date-like, optional
        The date the data describes; later orders are rejected as ``future_date``.
    customer_columns : dict, optional
        ``columns=`` for the customers table.
    sep, encoding, decimal, date_format : str, optional
        Override the detected separator, encoding (UTF-8, else cp1251), decimal mark (per
        column) and date format (strftime codes, e.g. ``"%d/%m/%Y"``).
    name : str, optional
        How the source is named in messages (default: the path as given).

    Returns
    -------
    TransactionLog
        ``orders`` holds ``customer_id`` (string), ``order_date`` (day), ``revenue``,
        ``is_return``, ``order_datetime`` (when the source had times), the optional canonical
        columns, the other source columns, and ``source_row`` (1-based data row of the source;
        in a CSV file, file line = row + 1). ``log.report`` is the :class:`ValidationReport`.

    Raises
    ------
    MissingColumnError
        A required column (or a column named in ``columns=``) is not in the source.
    DataValidationError
        The source is empty, unreadable or of an unsupported type; dates are ambiguous
        (dd/mm versus mm/dd: pass ``date_format=``); or no value of a required column can be read.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "Клиент": ["a", "a", "", "b"],
    ...     "Дата": ["31.01.2024", "01.02.2024", "02.02.2024", "31.02.2024"],
    ...     "Сумма": ["1 234,50", "-100", "5", "7"],
    ... })
    >>> log = load_orders(orders, {"customer_id": "Клиент", "order_date": "Дата", "revenue": "Сумма"})
    >>> log.orders["revenue"].tolist(), log.report.rejected_counts
    ([1234.5, -100.0], {'missing_customer_id': 1, 'unparseable_date': 1})
    """
    src = _read(source, sep=sep, encoding=encoding, name=name, what="orders")
    cols = _resolve(src, columns, ORDER_REQUIRED, tuple(ORDER_OPTIONAL), "columns")
    table = None
    if customers is not None:
        table = _load_customers(
            customers,
            customer_columns,
            sep=sep,
            encoding=encoding,
            decimal=decimal,
            date_format=date_format,
            name=None,
            argument="customer_columns",
        )
    raw, n = src.frame, len(src.frame)
    label = {k: _label(src, k, c) for k, c in cols.items()}
    raw_of = {k: raw[c] for k, c in cols.items()}

    ids = parse_ids(raw_of["customer_id"], label["customer_id"])
    dates = parse_dates(raw_of["order_date"], date_format, label["order_date"])
    _require_readable(
        dates,
        raw_of["order_date"],
        label["order_date"],
        "dates",
        "Pass date_format= with the format of these values, e.g. date_format='%d.%m.%Y %H:%M'.",
    )
    revenue = parse_numbers(raw_of["revenue"], decimal)
    _require_readable(
        revenue,
        raw_of["revenue"],
        label["revenue"],
        "numbers",
        "Check that the amount column is the one mapped to 'revenue'; pass decimal= if the "
        "decimal mark is unusual.",
    )
    day = dates.values
    if dates.has_time:
        day = day.astype("datetime64[D]").astype("datetime64[ns]")
    limit = pd.Timestamp(as_of if as_of is not None else pd.Timestamp.today()).normalize()
    masks = {
        "missing_customer_id": ids.values.isna().to_numpy(),
        "missing_date": dates.blank,
        "unparseable_date": dates.bad,
        "implausible_date": day < EARLIEST,
        "future_date": day > limit.to_datetime64(),
        "missing_revenue": revenue.blank,
        "non_numeric_revenue": revenue.bad,
    }
    if table is not None and "is_test" in table.columns:
        test_ids = table.loc[table["is_test"].fillna(False).to_numpy(dtype=bool), "customer_id"]
        masks["test_account"] = ids.values.isin(test_ids).to_numpy(dtype=bool)
    duplicate, first_copy = _duplicates(raw)
    masks["exact_duplicate"] = duplicate

    code = np.zeros(n, dtype=np.int8)
    for k, reason in enumerate(REASONS, start=1):
        mask = masks.get(reason)
        if mask is not None and mask.any():
            code[mask & (code == 0)] = k
    rejected_rows = np.flatnonzero(code)
    keep = None if not len(rejected_rows) else np.flatnonzero(code == 0)
    kept = np.ones(n, dtype=bool) if keep is None else code == 0

    def take(values: Any) -> Any:
        return (
            values
            if keep is None
            else values[keep]
            if isinstance(values, np.ndarray)
            else values.take(keep)
        )

    out: dict[str, Any] = {
        "customer_id": take(ids.values.array),
        "order_date": take(day),
        "revenue": take(revenue.values),
    }
    out["is_return"] = out["revenue"] < 0
    if dates.has_time:
        out["order_datetime"] = take(dates.values)
    coercions: list[dict[str, Any]] = []

    def note(key: str, mask: np.ndarray, action: str) -> None:
        if (mask & kept).any():
            coercions.append(_coercion(key, cols[key], mask & kept, raw_of[key], action))

    note("customer_id", ids.coerced, REWRITTEN_IDS)
    for key, kind in ORDER_OPTIONAL.items():
        if key not in cols:
            continue
        if key == "order_id":
            order_ids = parse_ids(raw_of[key], label[key])
            out[key] = take(order_ids.values.array)
            note(key, order_ids.coerced, REWRITTEN_IDS)
        elif kind == "str":
            out[key] = take(parse_text(raw_of[key], from_file=src.text).array)
        else:
            numbers = parse_numbers(raw_of[key], decimal)
            out[key] = take(numbers.values)
            note(key, numbers.bad, "are not numbers and were set to NaN")
    extras = [c for c in raw.columns if c not in cols.values()]
    out.update({c: take(v) for c, v in _text_extras(src, extras).items()})
    out["source_row"] = take(np.arange(1, n + 1, dtype=np.int64))
    orders = pd.DataFrame(out, copy=False)

    report = _report(src, raw, code, rejected_rows, raw_of, first_copy, orders, coercions)
    if table is not None:
        report.coercions.extend(table.attrs.get("coercions", []))
        unknown = ~orders["customer_id"].isin(table["customer_id"]).to_numpy(dtype=bool)
        if unknown.any():
            sample = orders.loc[unknown, ["customer_id", "source_row"]].head(3)
            report.warnings.append(
                f"{int(unknown.sum()):,} order rows ({orders.loc[unknown, 'customer_id'].nunique():,} "
                f"customers) have a customer_id that is not in the customers table, e.g. "
                + ", ".join(f"{c!r} (row {r})" for c, r in sample.itertuples(index=False))
                + "; they are kept."
            )
    assert report.reconciles, "rows read != rows used + rows rejected"
    return TransactionLog(orders, table, report, as_of=as_of, source=src.name)


def _report(
    src: _Source,
    raw: pd.DataFrame,
    code: np.ndarray,
    rows: np.ndarray,
    raw_of: dict[str, pd.Series],
    first_copy: np.ndarray,
    orders: pd.DataFrame,
    coercions: list[dict[str, Any]],
) -> ValidationReport:
    """The report of one load: counts, examples and the raw rejected rows with their values."""
    reasons = np.asarray(REASONS)[code[rows] - 1] if len(rows) else np.array([], dtype=object)
    value_column = {
        "missing_customer_id": "customer_id",
        "missing_date": "order_date",
        "unparseable_date": "order_date",
        "implausible_date": "order_date",
        "future_date": "order_date",
        "missing_revenue": "revenue",
        "non_numeric_revenue": "revenue",
        "test_account": "customer_id",
    }
    values = pd.Series("", index=range(len(rows)), dtype=object)
    counts, examples = {}, {}
    for reason in REASONS:
        where = np.flatnonzero(reasons == reason)
        if not len(where):
            continue
        at = rows[where]
        if reason == "exact_duplicate":
            shown = "duplicate of row " + pd.Series(first_copy[at]).astype(str)
        else:
            shown = raw_of[value_column[reason]].iloc[at].astype(STRING).fillna("")
        values.iloc[where] = shown.to_numpy(dtype=object)
        counts[reason] = len(where)
        examples[reason] = list(
            zip((at[:N_EXAMPLES] + 1).tolist(), shown.iloc[:N_EXAMPLES], strict=True)
        )
    source_columns = raw.iloc[rows].reset_index(drop=True)
    taken = {"source_row", "reason", "value"}
    source_columns.columns = [f"source:{c}" if c in taken else c for c in source_columns.columns]
    rejected = pd.concat(
        [
            pd.DataFrame(
                {
                    "source_row": (rows + 1).astype(np.int64),
                    "reason": pd.array(reasons, dtype="string"),
                    "value": pd.array(values.to_numpy(), dtype="string"),
                }
            ),
            source_columns,
        ],
        axis=1,
    )
    return ValidationReport(
        source=src.name,
        rows_read=len(raw),
        rows_used=len(orders),
        rejected_counts=counts,
        examples=examples,
        n_returns=int(orders["is_return"].sum()),
        coercions=coercions,
        rejected=rejected,
        line_offset=src.line_offset,
    )
