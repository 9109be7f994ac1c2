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


def query_df(sql: str, params: list[Any] | None = None, **tables: Any) -> pd.DataFrame:
    """Run ``sql`` with each keyword frame visible under its name and return a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> query_df("SELECT sum(x) AS s FROM t", t=pd.DataFrame({"x": [1, 2]}))["s"].item()
    3
    """
    con = connect()
    try:
        for name, frame in tables.items():
            con.register(name, frame)
        return con.execute(sql, params or []).df()
    finally:
        con.close()
