"""Churn models on 1,000,000 customers (~10M order lines): fit and score.

Fit = point-in-time features at 3 stacked cutoffs, one LightGBM per population (early
stopping + calibration on the latest), the survival models (Weibull AFT and Cox on a
25k-row sample each, the better kept). Score = features at the data end, both models,
BG/NBD + Gamma-Gamma for the 12-month value, drivers (SHAP) for at most 20,000 high-risk
customers. Targets on a 2-core machine: fit + score ≤ 90 s wall and ≤ 4 GB peak memory.

    python benchmarks/bench_models.py [--customers 1000000] [--repeats 3]
"""

from __future__ import annotations

import json
from pathlib import Path

# run as a script, so this folder is on sys.path
from _harness import bench_args, child_peak_mb, print_medians, run_child, shop_parquet, timed

TARGETS = {"fit_score_s": 90.0, "peak_mb": 4096.0}
CUTOFFS = ("2023-09-30", "2023-12-31", "2024-03-31")


def child(orders: str) -> None:
    """One measured run in its own process."""
    import churnkit

    figures: dict[str, float] = {}
    log = timed(figures, "load_validate_s", lambda: churnkit.load_orders(orders))
    model = churnkit.ChurnModel(horizon=90)
    timed(figures, "fit_s", lambda: model.fit(log, list(CUTOFFS)))
    scores = timed(figures, "score_s", lambda: model.score(log, log.as_of))
    figures["fit_score_s"] = figures["fit_s"] + figures["score_s"]
    figures["customers_scored_k"] = len(scores) / 1e3
    figures["order_lines_m"] = len(log.orders) / 1e6
    figures["peak_mb"] = child_peak_mb()
    print(json.dumps(figures))


def main() -> None:
    args = bench_args(__doc__, "ORDERS")
    if args.child:
        child(args.child)
        return
    orders, _ = shop_parquet(args.customers)
    print(f"bench_models: {args.customers:,} customers, {args.repeats} runs")
    runs = run_child(Path(__file__), [str(orders)], args.repeats)
    ok = print_medians(runs, TARGETS)
    print("\nall targets met" if ok else "\nsome targets missed")


if __name__ == "__main__":
    main()
