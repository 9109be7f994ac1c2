"""What every stage shares: domain errors, output folders and manifests, DuckDB, table reading.

In: nothing from the rest of churnkit (this is the bottom layer). Out: ``ChurnkitError`` and
its subclasses, atomic output folders with deterministic CSV/JSON/XLSX writers and manifests,
the canonical column names, a DuckDB connection helper and the one reader of result tables.
"""
