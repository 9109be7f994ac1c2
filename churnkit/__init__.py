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
    "build_features": "churnkit._features",
    "feature_descriptions": "churnkit._feature_text",
    "make_labels": "churnkit._labels",
    "draw_interview_sample": "churnkit._sample",
    "InterviewSample": "churnkit._sample",
    "SampleQuotaError": "churnkit._sample",
    "export_interview_sample": "churnkit._sample_export",
    "sample_status": "churnkit._sample_status",
    "SampleStatus": "churnkit._sample_status",
    "Codebook": "churnkit._codebook",
    "load_codebook": "churnkit._codebook",
    "code_answers": "churnkit._coding",
    "write_coding_sheet": "churnkit._coding_sheet",
    "read_coding_sheets": "churnkit._coding_sheet",
    "reliability": "churnkit._reliability",
    "reconcile": "churnkit._reliability",
    "krippendorff_alpha": "churnkit._reliability",
    "cohen_kappa": "churnkit._reliability",
    "saturation_curve": "churnkit._saturation",
    "saturation_sentence": "churnkit._saturation",
    "plot_saturation": "churnkit._saturation",
    "RetentionMatrix": "churnkit._matrix",
    "ProjectConfig": "churnkit._config",
    "load_config": "churnkit._config",
    "run_project": "churnkit._pipeline",
    "PipelineError": "churnkit._pipeline",
    "write_report": "churnkit.report._build",
    "ChurnModel": "churnkit._model",
    "SurvivalChurn": "churnkit._survival",
    "survival_target": "churnkit._survival",
    "km_table": "churnkit._survival",
    "backtest": "churnkit._backtest",
    "plot_roc": "churnkit._model_plots",
    "plot_calibration": "churnkit._model_plots",
    "plot_lift": "churnkit._model_plots",
    "plot_km_by_segment": "churnkit._model_plots",
    "plot_shap_summary": "churnkit._model_plots",
}

__all__ = [
    "BGNBD",
    "ChurnModel",
    "ChurnkitError",
    "Codebook",
    "ConfigError",
    "DataValidationError",
    "GammaGamma",
    "InterviewSample",
    "MissingColumnError",
    "PipelineError",
    "ProjectConfig",
    "RetentionMatrix",
    "SampleQuotaError",
    "SampleStatus",
    "SegmentDynamics",
    "SegmentRules",
    "SegmentRulesError",
    "SurvivalChurn",
    "TransactionLog",
    "ValidationReport",
    "__version__",
    "assign_segments",
    "backtest",
    "build_features",
    "code_answers",
    "cohen_kappa",
    "datasets",
    "default_segment_rules",
    "draw_interview_sample",
    "expected_revenue",
    "export_interview_sample",
    "feature_descriptions",
    "km_table",
    "krippendorff_alpha",
    "load_codebook",
    "load_config",
    "load_customers",
    "load_orders",
    "make_labels",
    "plot_calibration",
    "plot_km_by_segment",
    "plot_lift",
    "plot_migration_heatmap",
    "plot_retention_rates",
    "plot_roc",
    "plot_saturation",
    "plot_segment_sizes",
    "plot_shap_summary",
    "read_coding_sheets",
    "reconcile",
    "reliability",
    "rfm_summary",
    "run_project",
    "sample_status",
    "saturation_curve",
    "saturation_sentence",
    "segment_dynamics",
    "segment_profile",
    "survival_target",
    "write_coding_sheet",
    "write_report",
]

if TYPE_CHECKING:  # pragma: no cover
    from churnkit import datasets
    from churnkit._backtest import backtest
    from churnkit._bgnbd import BGNBD
    from churnkit._codebook import Codebook, load_codebook
    from churnkit._coding import code_answers
    from churnkit._coding_sheet import read_coding_sheets, write_coding_sheet
    from churnkit._config import ProjectConfig, load_config
    from churnkit._dynamics import SegmentDynamics, segment_dynamics
    from churnkit._feature_text import feature_descriptions
    from churnkit._features import build_features
    from churnkit._gamma_gamma import GammaGamma, expected_revenue
    from churnkit._io import load_customers, load_orders
    from churnkit._labels import make_labels
    from churnkit._log import TransactionLog
    from churnkit._matrix import RetentionMatrix
    from churnkit._model import ChurnModel
    from churnkit._model_plots import (
        plot_calibration,
        plot_km_by_segment,
        plot_lift,
        plot_roc,
        plot_shap_summary,
    )
    from churnkit._pipeline import PipelineError, run_project
    from churnkit._plots import (
        plot_migration_heatmap,
        plot_retention_rates,
        plot_segment_sizes,
    )
    from churnkit._profile import segment_profile
    from churnkit._reliability import cohen_kappa, krippendorff_alpha, reconcile, reliability
    from churnkit._rfm_summary import rfm_summary
    from churnkit._sample import InterviewSample, SampleQuotaError, draw_interview_sample
    from churnkit._sample_export import export_interview_sample
    from churnkit._sample_status import SampleStatus, sample_status
    from churnkit._saturation import plot_saturation, saturation_curve, saturation_sentence
    from churnkit._segment_rules import SegmentRules, default_segment_rules
    from churnkit._segments import assign_segments
    from churnkit._survival import SurvivalChurn, km_table, survival_target
    from churnkit._validation import ValidationReport
    from churnkit.report._build import write_report


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
