"""The demo: a generated pet shop run through churnkit's stages into ``reports/demo``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from churnkit._outputs import atomic_folder, write_json, write_manifest
from churnkit._stages import compute_segments, write_segments, write_validation

DEMO_STEPS = ("generate", "validate", "segment")


@dataclass
class DemoResult:
    """Where the demo wrote its outputs and how long each step took (seconds)."""

    folder: Path
    timings: dict[str, float] = field(default_factory=dict)
    log_summary: dict[str, object] = field(default_factory=dict)


def run_demo(
    out: str | os.PathLike[str] = "reports/demo",
    *,
    n_customers: int = 20_000,
    seed: int = 0,
    lang: str = "en",
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Generate the demo shop, export it as a Russian 1C-style CSV, and run every stage on it.

    The inputs are written to ``out/data`` first and read back through
    :func:`churnkit.load_orders`, so the demo exercises the same path a user's export takes,
    including a few planted data problems that the validation report must catch.

    Parameters
    ----------
    out : path
        Output folder; replaced atomically when every step has succeeded.
    n_customers, seed : int
        Size and seed of the generated shop.
    lang : {"en", "ru"}
        Language of figure labels.
    on_step : callable, optional
        Called with each step's name (see ``DEMO_STEPS``) before it starts, for progress display.

    Examples
    --------
    >>> result = run_demo("reports/demo", n_customers=2_000)  # doctest: +SKIP
    >>> sorted(p.name for p in result.folder.iterdir())  # doctest: +SKIP
    ['data', 'manifest.json', 'segments', 'validation']
    """
    from churnkit._io import load_orders
    from churnkit.datasets import make_shop

    notify = on_step or (lambda _name: None)
    timings: dict[str, float] = {}
    out = Path(out)
    with atomic_folder(out) as tmp:
        notify("generate")
        t0 = time.perf_counter()
        shop = make_shop(n_customers=n_customers, seed=seed)
        data = tmp / "data"
        data.mkdir()
        export = shop.to_csv(data / "orders.csv", dirty=True)
        customer_columns = shop.customers_to_csv(data / "customers.csv")
        timings["generate"] = time.perf_counter() - t0

        notify("validate")
        t0 = time.perf_counter()
        log = load_orders(
            data / "orders.csv",
            columns=export["columns"],
            customers=data / "customers.csv",
            customer_columns=customer_columns,
            as_of=shop.end,
            name="data/orders.csv",
        )
        write_validation(log, tmp / "validation")
        timings["validate"] = time.perf_counter() - t0

        notify("segment")
        t0 = time.perf_counter()
        write_segments(compute_segments(log), tmp / "segments", lang=lang)
        timings["segment"] = time.perf_counter() - t0

        write_json({k: round(v, 3) for k, v in timings.items()}, tmp / "timings.json")
        write_manifest(
            tmp,
            stage="demo",
            inputs={"orders": data / "orders.csv", "customers": data / "customers.csv"},
            config={"n_customers": n_customers, "lang": lang, "as_of": str(shop.end.date())},
            seed=seed,
        )
    return DemoResult(folder=out, timings=timings, log_summary=log.summary())
