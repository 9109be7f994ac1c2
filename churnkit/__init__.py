"""churnkit: find the customers who are about to leave, learn why, and decide what to fix first.

The public API is the ``__all__`` list below. Heavy libraries (pandas, DuckDB, matplotlib)
are imported only when a name that needs them is first used, so ``import churnkit`` is cheap.

Examples
--------
>>> import churnkit
>>> shop = churnkit.datasets.make_shop(n_customers=500, seed=0)  # doctest: +SKIP
>>> log = churnkit.load_orders(shop.orders, customers=shop.customers)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from churnkit._errors import (
    ChurnkitError,
    ConfigError,
    DataValidationError,
    MissingColumnError,
    SegmentRulesError,
)

__version__ = "0.1.0"

# public name -> private module that defines it
_LAZY: dict[str, str] = {
    "TransactionLog": "churnkit._log",
    "ValidationReport": "churnkit._validation",
    "load_orders": "churnkit._io",
    "load_customers": "churnkit._io",
    "SegmentRules": "churnkit._segment_rules",
    "default_segment_rules": "churnkit._segment_rules",
    "assign_segments": "churnkit._segments",
    "segment_dynamics": "churnkit._dynamics",
    "SegmentDynamics": "churnkit._dynamics",
    "segment_profile": "churnkit._profile",
    "plot_segment_sizes": "churnkit._plots",
    "plot_retention_rates": "churnkit._plots",
    "plot_migration_heatmap": "churnkit._plots",
    "BGNBD": "churnkit._bgnbd",
    "GammaGamma": "churnkit._gamma_gamma",
    "expected_revenue": "churnkit._gamma_gamma",
    "rfm_summary": "churnkit._rfm_summary",
}

__all__ = [
    "BGNBD",
    "ChurnkitError",
    "ConfigError",
    "DataValidationError",
    "GammaGamma",
    "MissingColumnError",
    "SegmentDynamics",
    "SegmentRules",
    "SegmentRulesError",
    "TransactionLog",
    "ValidationReport",
    "__version__",
    "assign_segments",
    "datasets",
    "default_segment_rules",
    "expected_revenue",
    "load_customers",
    "load_orders",
    "plot_migration_heatmap",
    "plot_retention_rates",
    "plot_segment_sizes",
    "rfm_summary",
    "segment_dynamics",
    "segment_profile",
]

if TYPE_CHECKING:  # pragma: no cover
    from churnkit import datasets
    from churnkit._bgnbd import BGNBD
    from churnkit._dynamics import SegmentDynamics, segment_dynamics
    from churnkit._gamma_gamma import GammaGamma, expected_revenue
    from churnkit._io import load_customers, load_orders
    from churnkit._log import TransactionLog
    from churnkit._plots import (
        plot_migration_heatmap,
        plot_retention_rates,
        plot_segment_sizes,
    )
    from churnkit._profile import segment_profile
    from churnkit._rfm_summary import rfm_summary
    from churnkit._segment_rules import SegmentRules, default_segment_rules
    from churnkit._segments import assign_segments
    from churnkit._validation import ValidationReport


def __getattr__(name: str) -> Any:
    if name == "datasets":
        return importlib.import_module("churnkit.datasets")
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'churnkit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
