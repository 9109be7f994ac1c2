"""Reading and validating the shop's exports.

In: orders and customers as CSV/TSV/Parquet files, DataFrames or DuckDB relations. Out: a
:class:`~churnkit.TransactionLog` (clean orders, customers, and a
:class:`~churnkit.ValidationReport` with every rejected row and why).
"""
