"""Shared benchmark plumbing: cached generated data, child-process runs, median tables.

Each measured run happens in a fresh Python process so that its peak resident memory
(``ru_maxrss``) belongs to that run alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"


def shop_parquet(n_customers: int, seed: int = 0) -> tuple[Path, Path]:
    """Orders and customers of ``make_shop(n_customers, seed)`` as Parquet, generated once and cached."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from churnkit.datasets import make_shop

    folder = DATA / f"shop_{n_customers}_{seed}"
    orders, customers = folder / "orders.parquet", folder / "customers.parquet"
    if not orders.exists():
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        print(f"generating make_shop({n_customers:,}) ...", flush=True)
        shop = make_shop(n_customers=n_customers, seed=seed)
        pq.write_table(pa.Table.from_pandas(shop.customers, preserve_index=False), customers)
        pq.write_table(pa.Table.from_pandas(shop.orders, preserve_index=False), orders)
        print(f"  {len(shop.orders):,} order lines in {time.perf_counter() - t0:.0f} s", flush=True)
    return orders, customers


def bench_args(doc: str, child: str | tuple[str, ...]) -> argparse.Namespace:
    """``--customers``, ``--repeats`` and the hidden ``--child`` (named ``child``) of a script."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    if isinstance(child, tuple):
        parser.add_argument("--child", nargs=len(child), metavar=child, help=argparse.SUPPRESS)
    else:
        parser.add_argument("--child", metavar=child, help=argparse.SUPPRESS)
    return parser.parse_args()


def child_peak_mb() -> float:
    """Peak resident memory of the current process in MB.

    Read from ``VmHWM`` (per address space, reset by exec) rather than ``ru_maxrss``, which
    Linux carries over from the parent across exec: a child started by a parent that just
    generated a large shop would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(script: Path, args: list[str], repeats: int) -> list[dict[str, float]]:
    """Run ``script --child args`` ``repeats`` times; each prints one JSON dict of figures."""
    runs = []
    for i in range(repeats):
        out = subprocess.run(
            [sys.executable, str(script), "--child", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            sys.exit(f"run {i + 1} failed:\n{out.stderr}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            f"  run {i + 1}/{repeats}: " + ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items()),
            flush=True,
        )
    return runs


def timed(figures: dict[str, float], name: str, fn: Callable[[], object]) -> object:
    """Call ``fn`` and record its wall time under ``name``."""
    t0 = time.perf_counter()
    result = fn()
    figures[name] = time.perf_counter() - t0
    return result


def print_medians(runs: list[dict[str, float]], targets: dict[str, float]) -> bool:
    """Print median/min/max per figure with its target; return True when every target holds."""
    ok = True
    print(f"\n{'figure':<28}{'median':>10}{'min':>10}{'max':>10}{'target':>10}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        med = statistics.median(values)
        target = targets.get(key)
        verdict = ""
        if target is not None:
            verdict = "  ok" if med <= target else "  OVER"
            ok &= med <= target
        shown = "" if target is None else f"{target:g}"
        print(f"{key:<28}{med:>10.2f}{min(values):>10.2f}{max(values):>10.2f}{shown:>10}{verdict}")
    return ok
