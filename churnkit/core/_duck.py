"""A thin layer over DuckDB, the engine for heavy aggregation.

DuckDB scans pandas/Arrow frames in place, so the frames are registered, not copied.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa


def connect() -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection using every core and no progress bar."""
    import duckdb

    con = duckdb.connect(database=":memory:")
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    # DuckDB's own progress bar would interleave with churnkit's in a terminal; inside
    # Jupyter without ipywidgets DuckDB refuses the change (and draws no bar there)
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
    return con


def query_df(
    sql: str, params: list[Any] | None = None, via_arrow: bool = False, **tables: Any
) -> pd.DataFrame:
    """Run ``sql`` with each keyword frame visible under its name and return a DataFrame.

    ``via_arrow`` converts the result through Arrow, several times faster for millions of
    rows (text stays ``object``, timestamps nanoseconds), but DECIMAL columns would arrive as
    Python decimals: cast them to DOUBLE in the query.

    Examples
    --------
    >>> import pandas as pd
    >>> query_df("SELECT max(x) AS m FROM t", t=pd.DataFrame({"x": [1, 2]}))["m"].item()
    2
    """
    con = connect()
    try:
        for name, frame in tables.items():
            con.register(name, frame)
        if via_arrow:
            relation = con.sql(sql, params=params or None)
            return arrow_table(relation).to_pandas(coerce_temporal_nanoseconds=True)
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def arrow_table(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """Run ``relation`` and return its rows as an Arrow table.

    Converting a wide result from Arrow to pandas is several times faster than DuckDB's
    ``.df()``, and the Arrow table outlives the connection, so DuckDB's working memory can be
    freed before the frame is built.

    Examples
    --------
    >>> con = connect()
    >>> arrow_table(con.sql("SELECT 1 AS x")).num_rows
    1
    """
    # ``to_arrow_table`` since DuckDB 1.4; ``fetch_arrow_table`` before (deprecated since)
    convert = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    return convert()
