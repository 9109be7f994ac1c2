"""Plots of churn models: ROC, calibration, lift/gains, Kaplan–Meier by segment, SHAP summary.

Each function draws on ``ax`` (a new figure when None) and returns the Axes; nothing is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError
from churnkit.models._metrics import calibration_table, roc_auc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from churnkit.models._churn_model import ChurnModel

__all__ = ["plot_calibration", "plot_km_by_segment", "plot_lift", "plot_roc", "plot_shap_summary"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4.5))[1]


def _as_dict(scores: Any) -> dict[str, np.ndarray]:
    if isinstance(scores, dict):
        return {str(k): np.asarray(v, dtype=float) for k, v in scores.items()}
    return {"model": np.asarray(scores, dtype=float)}


def plot_roc(y: Any, scores: Any, ax: Axes | None = None) -> Axes:
    """ROC curves of one or several models (``scores``: array or dict name -> array).

    Examples
    --------
    >>> ax = plot_roc([0, 1, 0, 1], {"gbm": [0.1, 0.8, 0.3, 0.6]})
    >>> ax.get_xlabel()
    'False positive rate (retained flagged)'
    """
    from sklearn.metrics import roc_curve

    ax = _axes(ax)
    y_arr = np.asarray(y, dtype=float)
    for name, p in _as_dict(scores).items():
        fpr, tpr, _ = roc_curve(y_arr, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y_arr, p):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("False positive rate (retained flagged)")
    ax.set_ylabel("True positive rate (churners found)")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right")
    return ax


def plot_calibration(y: Any, scores: Any, n_bins: int = 10, ax: Axes | None = None) -> Axes:
    """Observed churn rate against mean predicted probability in equal-mass bins.

    Examples
    --------
    >>> ax = plot_calibration([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], n_bins=2)
    >>> ax.get_title()
    'Calibration'
    """
    ax = _axes(ax)
    for name, p in _as_dict(scores).items():
        table = calibration_table(y, p, n_bins)
        ax.plot(table["p_mean"], table["observed"], marker="o", label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    ax.set_xlabel("Predicted churn probability (bin mean)")
    ax.set_ylabel("Observed churn rate")
    ax.set_title("Calibration")
    ax.legend(loc="upper left")
    return ax


def plot_lift(y: Any, scores: Any, ax: Axes | None = None) -> Axes:
    """Cumulative gains: share of churners found when contacting the top x% by score.

    Examples
    --------
    >>> ax = plot_lift([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6])
    >>> ax.get_ylabel()
    'Share of churners found'
    """
    ax = _axes(ax)
    y_arr = np.asarray(y, dtype=float)
    if y_arr.sum() == 0:
        raise ChurnkitError("plot_lift needs at least one churner in y.")
    share = np.arange(1, y_arr.size + 1) / y_arr.size
    for name, p in _as_dict(scores).items():
        order = np.argsort(-p, kind="stable")
        ax.plot(np.r_[0, share], np.r_[0, np.cumsum(y_arr[order]) / y_arr.sum()], label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="random")
    ax.set_xlabel("Share of customers contacted (highest score first)")
    ax.set_ylabel("Share of churners found")
    ax.set_title("Cumulative gains")
    ax.legend(loc="lower right")
    return ax


def plot_km_by_segment(
    km: pd.DataFrame, horizon: int | None = None, ax: Axes | None = None
) -> Axes:
    """Kaplan–Meier curves of the wait for the next purchase, one per group.

    Parameters
    ----------
    km : DataFrame
        From :func:`churnkit.models._survival.km_table` (``group, day, survival, lo, hi``).
    horizon : int, optional
        Draw a vertical line at the churn horizon.
    ax : Axes, optional
        Where to draw (a new figure when None).

    Examples
    --------
    >>> km = pd.DataFrame({"group": "loyal", "day": [0, 1], "survival": [1.0, 0.9],
    ...                    "lo": [1.0, 0.8], "hi": [1.0, 0.95]})
    >>> plot_km_by_segment(km).get_title()
    'Still waiting for the next purchase'
    """
    ax = _axes(ax)
    for group, part in km.groupby("group", sort=True):
        line = ax.step(part["day"], part["survival"], where="post", label=str(group))[0]
        ax.fill_between(
            part["day"], part["lo"], part["hi"], step="post", alpha=0.15, color=line.get_color()
        )
    if horizon is not None:
        ax.axvline(horizon, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("Days after the cutoff")
    ax.set_ylabel("Share without a new purchase")
    ax.set_ylim(0, 1.02)
    ax.set_title("Still waiting for the next purchase")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_shap_summary(
    model: ChurnModel,
    features: pd.DataFrame,
    population: str = "loyal",
    max_rows: int = 2000,
    max_display: int = 12,
    ax: Axes | None = None,
) -> Axes:
    """SHAP beeswarm of one population's GBM (``shap``'s plot on LightGBM contributions).

    Contributions come from LightGBM (``pred_contrib``) on at most ``max_rows`` rows (the
    first ones of that population), in logit units of the uncalibrated model.

    Examples
    --------
    >>> ax = plot_shap_summary(model, features, "loyal")  # doctest: +SKIP
    """
    import warnings

    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        # shap 0.51 calls a matplotlib colormap method that matplotlib marks for deprecation
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    from churnkit.models._churn_model import POPULATION_CODES
    from churnkit.models._gbm import design_matrix, predict

    model._check_fitted()
    if population not in model.boosters_:
        raise ChurnkitError(
            f"the model has no {population!r} population; it has {list(model.boosters_)}."
        )
    rows = features[features["population"] == POPULATION_CODES[population]].head(max_rows)
    if rows.empty:
        raise ChurnkitError(f"the feature table has no {population} customers to explain.")
    booster = model.boosters_[population]
    x = design_matrix(rows, model.schema_)
    contrib = predict(booster, x, contrib=True)
    shown = x.apply(lambda c: c.cat.codes.astype(float) if hasattr(c, "cat") else c)
    explanation = shap.Explanation(
        values=contrib[:, :-1],
        base_values=contrib[:, -1],
        data=shown.to_numpy(dtype=float),
        feature_names=list(x.columns),
    )
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 6))
        fig.subplots_adjust(left=0.32)  # room for the feature names
    previous = plt.gca()
    # the beeswarm jitters points with numpy's global generator: seeded here (and restored),
    # so equal models draw equal figures
    state = np.random.get_state()  # noqa: NPY002 - shap reads the legacy global generator
    try:
        plt.sca(ax)
        np.random.seed(0)  # noqa: NPY002
        shap.plots.beeswarm(explanation, max_display=max_display, show=False, plot_size=None)
    finally:
        np.random.set_state(state)  # noqa: NPY002
        plt.sca(previous)
    ax.set_title(f"What drives the churn score ({population})")
    return ax
