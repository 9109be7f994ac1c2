"""The demo: a generated pet shop run through every churnkit stage into ``reports/demo``.

It is :func:`churnkit.run_project` on generated inputs, in the order a real study runs:

1. generate the shop and export it as a Russian 1C/Excel CSV (with a few planted problems);
2. run the project: validate → segments → backtest → fit → score → sample → report;
3. "field" the interview sample: a share of the main sample answers, in words written from
   each customer's true churn reasons (:func:`churnkit.datasets.make_interviews`);
4. run the project again with the answers: the unchanged stages come from the cache, then
   coding → retention matrix → the report with the interview study.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from churnkit.core._outputs import write_csv

DEMO_STEPS = (
    "generate",
    "validate",
    "segments",
    "backtest",
    "fit",
    "score",
    "sample",
    "fielding",
    "code",
    "matrix",
    "report",
)
# chance that a called case completes an interview in the simulated fielding
RESPONSE_RATE = 0.4


@dataclass
class DemoResult:
    """Where the demo wrote its outputs, the PDF, and seconds per step."""

    folder: Path
    report: Path | None
    timings: dict[str, float] = field(default_factory=dict)


def run_demo(
    out: str | os.PathLike[str] = "reports/demo",
    *,
    n_customers: int = 20_000,
    seed: int = 0,
    lang: str = "en",
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Generate the demo shop and its interviews and run the whole pipeline on them.

    The inputs are written to ``out/data`` and read back through :func:`churnkit.load_orders`,
    so the demo exercises the same path a user's export takes. Outputs of each stage are
    replaced only when that stage succeeds; a second run with the same arguments takes every
    stage from the cache.

    Parameters
    ----------
    out : path
        Output folder (``data/``, one folder per stage, ``report/churn_report.pdf``).
    n_customers, seed : int
        Size and seed of the generated shop.
    lang : {"en", "ru"}
        Language of the report.
    on_step : callable, optional
        Called with each step's name (see ``DEMO_STEPS``) before it starts.

    Examples
    --------
    >>> result = run_demo("reports/demo", n_customers=3_000)  # doctest: +SKIP
    >>> result.report  # doctest: +SKIP
    PosixPath('reports/demo/report/churn_report.pdf')
    """
    from churnkit.datasets import make_shop
    from churnkit.pipeline._config import ProjectConfig
    from churnkit.pipeline._runner import run_project

    notify = on_step or (lambda _name: None)
    out = Path(out)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    notify("generate")
    t0 = time.perf_counter()
    shop = make_shop(n_customers=n_customers, seed=seed)
    export = _replace(data / "orders.csv", lambda p: shop.to_csv(p, dirty=True))
    customer_columns = _replace(data / "customers.csv", shop.customers_to_csv)
    timings["generate"] = time.perf_counter() - t0

    spec: dict[str, Any] = {
        "data": {
            "orders": "data/orders.csv",
            "customers": "data/customers.csv",
            "columns": export["columns"],
            "customer_columns": customer_columns,
        },
        "as_of": shop.end.date().isoformat(),
        "seed": seed,
        # the shop expires unspent bonus points after this many days
        "model": {"params": {"bonus_ttl_days": shop.bonus_ttl_days}},
        # 300 interviews for the default 20,000 customers; fewer in smaller shops
        "sample": {"quotas": max(40, round(300 * min(1.0, n_customers / 20_000)))},
        "report": {"lang": lang},
    }

    def run(config: ProjectConfig) -> Any:
        result = run_project(config, out, on_step=notify)
        for stage, seconds in result.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
        return result

    run(ProjectConfig.from_dict(spec, base_dir=out, source="demo config"))

    notify("fielding")
    t0 = time.perf_counter()
    _replace(data / "answers.csv", lambda p: _field(out / "sample", shop, seed, p))
    timings["fielding"] = time.perf_counter() - t0
    spec["interviews"] = {"answers": "data/answers.csv"}
    result = run(ProjectConfig.from_dict(spec, base_dir=out, source="demo config"))
    return DemoResult(folder=out, report=result.report, timings=timings)


def _field(sample_folder: Path, shop: Any, seed: int, path: Path) -> None:
    """Simulated fielding: cases answer at random, reserves released until each quota is met.

    Each stratum's quota is its number of main cases; main cases are called first, then the
    reserves in rank order, each completing with probability ``RESPONSE_RATE``. Answers are
    written from the customers' true churn reasons.
    """
    import pandas as pd

    from churnkit.datasets import make_interviews

    cases = pd.read_csv(sample_folder / "analysis.csv", dtype={"sample_id": str})
    cases = cases.merge(pd.read_csv(sample_folder / "sample_key.csv", dtype=str), on="sample_id")
    cases["is_reserve"] = cases["is_reserve"].astype(bool)
    rng = np.random.default_rng(seed)
    answered = []
    for _, group in cases.groupby("stratum", sort=True):
        quota = int((~group["is_reserve"]).sum())
        ordered = group.sort_values(["is_reserve", "reserve_rank"], kind="stable")
        done = ordered[rng.random(len(ordered)) < RESPONSE_RATE].head(quota)
        answered.append(done[["sample_id", "customer_id"]])
    who = pd.concat(answered, ignore_index=True)
    answers = make_interviews(who["customer_id"], shop.truth, seed=seed)
    answers = answers.merge(who, on="customer_id")[["answer_id", "sample_id", "lang", "text"]]
    write_csv(answers, path)


def _replace(path: Path, write: Callable[[Path], Any]) -> Any:
    """Write ``path`` through a temporary file, so a failure leaves the old file in place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        result = write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return result
