"""Loading the customers table: one row per customer, flags read strictly, every problem named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import DataValidationError
from churnkit.core._schema import CUSTOMER_OPTIONAL, CUSTOMER_REQUIRED
from churnkit.core._tables import Source, read_source
from churnkit.io._columns import (
    REWRITTEN_IDS,
    _coercion,
    column_label,
    examples,
    resolve_columns,
    text_extras,
)
from churnkit.io._parse import parse_bools, parse_dates, parse_ids
from churnkit.io._validation import describe_rows

TableSource = Any  # a path, a DataFrame or a DuckDB relation


def _fail_rows(
    label: str, rows: np.ndarray, raw: pd.Series, problem: str, fix: str, src: Source
) -> None:
    pairs = examples(rows, raw)
    where = describe_rows([r for r, _ in pairs], src.line_offset)
    values = [v for _, v in pairs]
    raise DataValidationError(
        f"{label}: {len(rows):,} {problem}, e.g. row {where} with values {values}. {fix}"
    )


def _load_customers(
    source: TableSource,
    columns: Mapping[str, str] | None,
    *,
    sep: str | None,
    encoding: str | None,
    decimal: str | None,
    date_format: str | None,
    name: str | None,
    argument: str,
) -> pd.DataFrame:
    src = read_source(source, sep=sep, encoding=encoding, name=name, what="customers")
    cols = resolve_columns(src, columns, CUSTOMER_REQUIRED, tuple(CUSTOMER_OPTIONAL), argument)
    raw = src.frame
    out: dict[str, Any] = {}
    coercions: list[dict[str, Any]] = []
    for key in ("customer_id", *CUSTOMER_OPTIONAL):
        if key not in cols:
            continue
        column, label = raw[cols[key]], column_label(src, key, cols[key])
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
            column_label(src, "customer_id", cols["customer_id"]),
            np.flatnonzero(blank),
            raw[cols["customer_id"]],
            "rows have no customer id",
            "Fill them in or remove those rows.",
            src,
        )
    repeated = pd.Series(out["customer_id"]).duplicated(keep=False).to_numpy()
    if repeated.any():
        _fail_rows(
            column_label(src, "customer_id", cols["customer_id"]),
            np.flatnonzero(repeated),
            raw[cols["customer_id"]],
            "rows share a customer id that must be unique",
            "Keep one row per customer.",
            src,
        )
    extras = [c for c in raw.columns if c not in cols.values()]
    out.update(text_extras(src, extras))
    customers = pd.DataFrame(out)
    customers.attrs["coercions"] = coercions
    return customers


def load_customers(
    source: TableSource,
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
