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
from typing import Any

from churnkit._version import __version__ as __version__
from churnkit.core._errors import ChurnkitError as ChurnkitError
from churnkit.core._errors import ConfigError as ConfigError
from churnkit.core._errors import DataValidationError as DataValidationError
from churnkit.core._errors import MissingColumnError as MissingColumnError
from churnkit.core._errors import SegmentRulesError as SegmentRulesError

# every public name but the errors above, once, with the module that defines it
_LAZY: dict[str, str] = {
    # io: reading and validating the exports
    "load_orders": "churnkit.io._orders",
    "load_customers": "churnkit.io._customers",
    "TransactionLog": "churnkit.io._transaction_log",
    "ValidationReport": "churnkit.io._validation",
    # segments
    "SegmentRules": "churnkit.segments._rules",
    "default_segment_rules": "churnkit.segments._rules",
    "assign_segments": "churnkit.segments._assign",
    "segment_dynamics": "churnkit.segments._dynamics",
    "SegmentDynamics": "churnkit.segments._dynamics",
    "segment_profile": "churnkit.segments._profile",
    "plot_segment_sizes": "churnkit.segments._plots",
    "plot_retention_rates": "churnkit.segments._plots",
    "plot_migration_heatmap": "churnkit.segments._plots",
    # features and labels
    "build_features": "churnkit.features._build",
    "feature_descriptions": "churnkit.features._descriptions",
    "make_labels": "churnkit.features._labels",
    "rfm_summary": "churnkit.features._rfm_summary",
    # models
    "ChurnModel": "churnkit.models._churn_model",
    "SurvivalChurn": "churnkit.models._survival",
    "survival_target": "churnkit.models._survival",
    "km_table": "churnkit.models._survival",
    "BGNBD": "churnkit.models._bgnbd",
    "GammaGamma": "churnkit.models._gamma_gamma",
    "expected_revenue": "churnkit.models._gamma_gamma",
    "backtest": "churnkit.models._backtest",
    "plot_roc": "churnkit.models._plots",
    "plot_calibration": "churnkit.models._plots",
    "plot_lift": "churnkit.models._plots",
    "plot_km_by_segment": "churnkit.models._plots",
    "plot_shap_summary": "churnkit.models._plots",
    # the interview sample
    "SampleDesign": "churnkit.sample._design",
    "draw_interview_sample": "churnkit.sample._draw",
    "InterviewSample": "churnkit.sample._draw",
    "SampleQuotaError": "churnkit.sample._quotas",
    "export_interview_sample": "churnkit.sample._export",
    "sample_status": "churnkit.sample._status",
    "design_precision": "churnkit.sample._precision",
    "SampleStatus": "churnkit.sample._status",
    # coding the answers
    "Codebook": "churnkit.coding._codebook",
    "load_codebook": "churnkit.coding._codebook",
    "code_answers": "churnkit.coding._coder",
    "write_coding_sheet": "churnkit.coding._sheet",
    "read_coding_sheets": "churnkit.coding._sheet",
    "reliability": "churnkit.coding._reliability",
    "reconcile": "churnkit.coding._reliability",
    "krippendorff_alpha": "churnkit.coding._reliability",
    "cohen_kappa": "churnkit.coding._reliability",
    "saturation_curve": "churnkit.coding._saturation",
    "saturation_sentence": "churnkit.coding._saturation",
    "plot_saturation": "churnkit.coding._saturation",
    # the retention matrix and the report
    "RetentionMatrix": "churnkit.matrix._matrix",
    "write_report": "churnkit.report._build",
    # the pipeline
    "ProjectConfig": "churnkit.pipeline._config",
    "load_config": "churnkit.pipeline._config",
    "run_project": "churnkit.pipeline._runner",
    "PipelineError": "churnkit.pipeline._runner",
}

_ERRORS = (ChurnkitError, ConfigError, DataValidationError, MissingColumnError, SegmentRulesError)
__all__ = sorted(["__version__", "datasets", *(e.__name__ for e in _ERRORS), *_LAZY])


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
