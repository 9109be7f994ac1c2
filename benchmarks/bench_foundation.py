"""Load → validate → segments → dynamics on 1,000,000 customers (~10M order lines).

Targets on a 2-core machine: load-to-segments ≤ 15 s wall and ≤ 2 GB peak memory. The
floor is one DuckDB pass over the same Parquet (per-customer aggregates); its ratio to
churnkit's time is printed too.

    python benchmarks/bench_foundation.py [--customers 1000000] [--repeats 3]
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

# run as a script, so this folder is on sys.path
from _harness import bench_args, child_peak_mb, print_medians, run_child, shop_parquet, timed

TARGETS = {"total_s": 15.0, "peak_mb": 2048.0}


def child(mode: str, orders: str) -> None:
    """One measured run in its own process: the DuckDB floor, or churnkit's pipeline."""
    import churnkit
    from churnkit.core._duck import connect

    figures: dict[str, float] = {}
    if mode == "floor":
        con = connect()
        sql = (
            "SELECT customer_id, count(*), max(order_date), sum(revenue) "
            f"FROM read_parquet('{orders}') GROUP BY customer_id"
        )
        timed(figures, "duckdb_floor_s", lambda: con.execute(sql).fetchall())
        figures["floor_peak_mb"] = child_peak_mb()
        print(json.dumps(figures))
        return
    log = timed(figures, "load_validate_s", lambda: churnkit.load_orders(orders))
    at = log.as_of
    timed(figures, "assign_segments_s", lambda: churnkit.assign_segments(log, at=at))
    timed(figures, "segment_dynamics_s", lambda: churnkit.segment_dynamics(log, freq="M"))
    figures["total_s"] = (
        figures["load_validate_s"] + figures["assign_segments_s"] + figures["segment_dynamics_s"]
    )
    figures["order_lines_m"] = len(log.orders) / 1e6
    figures["peak_mb"] = child_peak_mb()
    print(json.dumps(figures))


def main() -> None:
    args = bench_args(__doc__, ("MODE", "ORDERS"))
    if args.child:
        child(*args.child)
        return
    orders, _ = shop_parquet(args.customers)
    print(f"bench_foundation: {args.customers:,} customers, {args.repeats} runs each")
    floor = run_child(Path(__file__), ["floor", str(orders)], args.repeats)
    runs = run_child(Path(__file__), ["pipeline", str(orders)], args.repeats)
    print_medians(floor, {})
    ok = print_medians(runs, TARGETS)
    ratio = statistics.median(r["total_s"] for r in runs) / statistics.median(
        r["duckdb_floor_s"] for r in floor
    )
    print(f"\nchurnkit load-to-segments / DuckDB floor (medians): {ratio:.1f}x")
    print("\nall targets met" if ok else "\nsome targets missed")


if __name__ == "__main__":
    main()
