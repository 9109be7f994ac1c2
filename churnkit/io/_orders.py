"""Loading orders from CSV/Parquet files, DataFrames and DuckDB relations into a TransactionLog.

Text files are read as strings (:func:`churnkit.core._tables.read_source`), so nothing is
coerced by the reader;
every value is then parsed by :mod:`churnkit.io._parse` and every row the loader cannot use is
rejected with exactly one reason and kept in the :class:`ValidationReport`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import DataValidationError
from churnkit.core._schema import ORDER_OPTIONAL, ORDER_REQUIRED
from churnkit.core._tables import STRING, Source, read_source
from churnkit.io._columns import (
    REWRITTEN_IDS,
    _coercion,
    column_label,
    examples,
    resolve_columns,
    text_extras,
)
from churnkit.io._customers import TableSource, _load_customers
from churnkit.io._parse import Parsed, parse_dates, parse_ids, parse_numbers, parse_text
from churnkit.io._transaction_log import TransactionLog
from churnkit.io._validation import N_EXAMPLES, REASONS, ValidationReport

EARLIEST = np.datetime64("1990-01-01", "ns")


def _require_readable(parsed: Parsed, raw: pd.Series, label: str, what: str, hint: str) -> None:
    """A required column where no non-blank value parses is a structural problem."""
    if parsed.bad.any() and not (~parsed.bad & ~parsed.blank).any():
        example = examples(np.flatnonzero(parsed.bad), raw)[:3]
        raise DataValidationError(
            f"{label}: none of the {int(parsed.bad.sum()):,} values can be read as {what} "
            f"(e.g. row, value: {example}). {hint}"
        )


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


# -- orders ----------------------------------------------------------------------------------
def load_orders(
    source: TableSource,
    columns: Mapping[str, str] | None = None,
    customers: TableSource | None = None,
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
    src = read_source(source, sep=sep, encoding=encoding, name=name, what="orders")
    mapped = _Mapped.of(src, columns)
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
    required = _parse_required(mapped, date_format, decimal)
    masks = _rejection_masks(required, as_of, table)
    masks["exact_duplicate"], first_copy = _duplicates(src.frame)
    code = _reason_codes(masks, len(src.frame))
    orders, coercions = _kept_orders(mapped, required, code, decimal)
    report = _report(
        src, src.frame, code, np.flatnonzero(code), mapped.raw_of, first_copy, orders, coercions
    )
    if table is not None:
        _check_against_customers(report, orders, table)
    assert report.reconciles, "rows read != rows used + rows rejected"
    return TransactionLog(orders, table, report, as_of=as_of, source=src.name)


# -- the steps of load_orders ------------------------------------------------------------------
@dataclass
class _Mapped:
    """The source, its canonical columns (-> source column), their labels and raw values."""

    src: Source
    cols: dict[str, str]
    label: dict[str, str]
    raw_of: dict[str, pd.Series]

    @classmethod
    def of(cls, src: Source, columns: Mapping[str, str] | None) -> _Mapped:
        cols = resolve_columns(src, columns, ORDER_REQUIRED, tuple(ORDER_OPTIONAL), "columns")
        return cls(
            src,
            cols,
            {k: column_label(src, k, c) for k, c in cols.items()},
            {k: src.frame[c] for k, c in cols.items()},
        )


@dataclass
class _Required:
    """The parsed required columns; ``day`` is the order date without its time."""

    ids: Parsed
    dates: Parsed
    revenue: Parsed
    day: np.ndarray


def _parse_required(mapped: _Mapped, date_format: str | None, decimal: str | None) -> _Required:
    """Customer ids, dates and revenue parsed; a column where nothing parses stops the load."""
    raw_of, label = mapped.raw_of, mapped.label
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
    return _Required(ids, dates, revenue, day)


def _rejection_masks(
    required: _Required, as_of: Any, customers: pd.DataFrame | None
) -> dict[str, np.ndarray]:
    """Rows each reason of :data:`REASONS` applies to (but exact duplicates)."""
    limit = pd.Timestamp(as_of if as_of is not None else pd.Timestamp.today()).normalize()
    ids, dates, revenue, day = required.ids, required.dates, required.revenue, required.day
    masks = {
        "missing_customer_id": ids.values.isna().to_numpy(),
        "missing_date": dates.blank,
        "unparseable_date": dates.bad,
        "implausible_date": day < EARLIEST,
        "future_date": day > limit.to_datetime64(),
        "missing_revenue": revenue.blank,
        "non_numeric_revenue": revenue.bad,
    }
    if customers is not None and "is_test" in customers.columns:
        test = customers["is_test"].fillna(False).to_numpy(dtype=bool)
        masks["test_account"] = ids.values.isin(customers.loc[test, "customer_id"]).to_numpy(
            dtype=bool
        )
    return masks


def _reason_codes(masks: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per row, 1 + the index in :data:`REASONS` of the first reason that applies; 0 = kept."""
    code = np.zeros(n, dtype=np.int8)
    for k, reason in enumerate(REASONS, start=1):
        mask = masks.get(reason)
        if mask is not None and mask.any():
            code[mask & (code == 0)] = k
    return code


def _kept_orders(
    mapped: _Mapped, required: _Required, code: np.ndarray, decimal: str | None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The kept rows as the orders table, and the values that had to be rewritten."""
    src, cols, raw_of = mapped.src, mapped.cols, mapped.raw_of
    n = len(code)
    keep = None if not code.any() else np.flatnonzero(code == 0)
    kept = np.ones(n, dtype=bool) if keep is None else code == 0

    def take(values: Any) -> Any:
        if keep is None:
            return values
        return values[keep] if isinstance(values, np.ndarray) else values.take(keep)

    out: dict[str, Any] = {
        "customer_id": take(required.ids.values.array),
        "order_date": take(required.day),
        "revenue": take(required.revenue.values),
    }
    out["is_return"] = out["revenue"] < 0
    if required.dates.has_time:
        out["order_datetime"] = take(required.dates.values)
    coercions: list[dict[str, Any]] = []

    def note(key: str, mask: np.ndarray, action: str) -> None:
        if (mask & kept).any():
            coercions.append(_coercion(key, cols[key], mask & kept, raw_of[key], action))

    note("customer_id", required.ids.coerced, REWRITTEN_IDS)
    for key, kind in ORDER_OPTIONAL.items():
        if key not in cols:
            continue
        if key == "order_id":
            order_ids = parse_ids(raw_of[key], mapped.label[key])
            out[key] = take(order_ids.values.array)
            note(key, order_ids.coerced, REWRITTEN_IDS)
        elif kind == "str":
            out[key] = take(parse_text(raw_of[key], from_file=src.text).array)
        else:
            numbers = parse_numbers(raw_of[key], decimal)
            out[key] = take(numbers.values)
            note(key, numbers.bad, "are not numbers and were set to NaN")
    extras = [c for c in src.frame.columns if c not in cols.values()]
    out.update({c: take(v) for c, v in text_extras(src, extras).items()})
    out["source_row"] = take(np.arange(1, n + 1, dtype=np.int64))
    return pd.DataFrame(out, copy=False), coercions


def _check_against_customers(
    report: ValidationReport, orders: pd.DataFrame, customers: pd.DataFrame
) -> None:
    """Add the customers table's coercions, and warn of orders whose customer it lacks."""
    report.coercions.extend(customers.attrs.get("coercions", []))
    unknown = ~orders["customer_id"].isin(customers["customer_id"]).to_numpy(dtype=bool)
    if unknown.any():
        sample = orders.loc[unknown, ["customer_id", "source_row"]].head(3)
        report.warnings.append(
            f"{int(unknown.sum()):,} order rows ({orders.loc[unknown, 'customer_id'].nunique():,} "
            f"customers) have a customer_id that is not in the customers table, e.g. "
            + ", ".join(f"{c!r} (row {r})" for c, r in sample.itertuples(index=False))
            + "; they are kept."
        )


def _report(
    src: Source,
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
