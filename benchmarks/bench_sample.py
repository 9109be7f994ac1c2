"""Draw an interview sample from 1,000,000 scored customers, then export it.

The scores and customers are synthetic (shaped like ``ChurnModel.score`` output and
``make_shop`` customers, with every kind of exclusion in them: no consent, test and employee
accounts, a 20,000-row do-not-contact list, 50,000 recent contacts, bad phones, shared
phones), so the benchmark needs no fitted model. Target on a 2-core machine: the draw
≤ 10 s (median of the runs); the export of the 1,200 drawn cases is timed apart.

    python benchmarks/bench_sample.py [--customers 1000000] [--repeats 3]
"""

from __future__ import annotations

import json
from pathlib import Path

# run as a script, so this folder is on sys.path
from _harness import DATA, bench_args, child_peak_mb, print_medians, run_child, timed

TARGETS = {"draw_s": 10.0}


def make_inputs(n: int, seed: int = 0) -> Path:
    """Scores, customers, do-not-contact list and contact history as Parquet, cached."""
    import numpy as np
    import pandas as pd

    folder = DATA / f"sample_{n}_{seed}"
    if (folder / "scores.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(7).radd("C")
    p = rng.beta(2, 3, n)
    value = rng.gamma(2.0, 2500.0, n)
    drivers = np.array(["bonuses expired 12 days ago", "no order for 94 days — usually every 31",
                        "last delivery took 9 days", "last order via android app"], dtype=object)  # fmt: skip
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "population": np.where(rng.random(n) < 0.55, "first_time", "loyal"),
            "segment": rng.choice(["first_time", "at_risk", "sleeping", "loyal"], n),
            "p_churn": p,
            "p_churn_survival": np.clip(p + rng.normal(0, 0.05, n), 0, 1),
            "risk_band": np.select([p >= 0.75, p >= 0.5], ["high", "medium"], "low"),
            "expected_days_to_next_order": rng.gamma(2, 60, n),
            "expected_revenue_12m": value,
            "value_at_risk": value * p,
            "driver_1": drivers[rng.integers(0, 4, n)],
            "driver_2": drivers[rng.integers(0, 4, n)],
            "driver_3": drivers[rng.integers(0, 4, n)],
            "model_version": "bench",
            "scored_at": pd.Timestamp("2024-12-31"),
        }
    )
    digits = rng.integers(900_000_000, 999_999_999, n)
    shared = rng.random(n) < 0.03
    digits[shared] = digits[rng.integers(0, n, shared.sum())]
    phone = pd.Series(digits).astype(str).radd("+7 ")
    phone[rng.random(n) < 0.03] = "нет"
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "first_name": "Анна",
            "phone": phone,
            "email": ids.str.lower() + "@mail.ru",
            "timezone": "Europe/Moscow",
            "research_opt_in": rng.random(n) < 0.65,
            "is_test": rng.random(n) < 0.002,
            "is_employee": rng.random(n) < 0.005,
        }
    )
    # 2% on the do-not-contact list, 5% contacted before (20,000 and 50,000 of a million)
    n_dnc, n_history = n // 50, n // 20
    dnc = pd.DataFrame({"customer_id": ids.sample(n_dnc, random_state=seed).to_numpy()})
    history = pd.DataFrame(
        {
            "customer_id": ids.sample(n_history, random_state=seed + 1).to_numpy(),
            "contacted_at": pd.Timestamp("2024-12-31")
            - pd.to_timedelta(rng.integers(0, 720, n_history), "D"),
        }
    )
    for name, frame in (
        ("scores", scores),
        ("customers", customers),
        ("dnc", dnc),
        ("history", history),
    ):
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def child(folder: str) -> None:
    """One measured run in its own process: read, draw, export."""
    import tempfile
    import time

    import pandas as pd

    from churnkit import draw_interview_sample, export_interview_sample

    figures: dict[str, float] = {}
    data = Path(folder)
    frames = timed(
        figures,
        "read_s",
        lambda: {
            n: pd.read_parquet(data / f"{n}.parquet")
            for n in ("scores", "customers", "dnc", "history")
        },
    )
    cpu = time.process_time()
    draw = timed(
        figures,
        "draw_s",
        lambda: draw_interview_sample(
            frames["scores"],
            frames["customers"],
            quotas=300,
            contrast=30,
            do_not_contact=frames["dnc"],
            contact_history=frames["history"],
            seed=1,
        ),
    )
    # CPU seconds of the draw: what it costs on a machine that other work does not slow down
    figures["draw_cpu_s"] = time.process_time() - cpu
    out = Path(tempfile.mkdtemp()) / "sample"
    timed(figures, "export_s", lambda: export_interview_sample(draw, out))
    figures["frame_k"] = float(draw.strata["eligible"].sum()) / 1e3
    figures["drawn"] = float(len(draw.sample))
    figures["peak_mb"] = child_peak_mb()
    print(json.dumps(figures))


def main() -> None:
    args = bench_args(__doc__, "FOLDER")
    if args.child:
        child(args.child)
        return
    folder = make_inputs(args.customers)
    print(f"bench_sample: {args.customers:,} scored customers, {args.repeats} runs")
    runs = run_child(Path(__file__), [str(folder)], args.repeats)
    ok = print_medians(runs, TARGETS)
    print("\nall targets met" if ok else "\nsome targets missed")


if __name__ == "__main__":
    main()
