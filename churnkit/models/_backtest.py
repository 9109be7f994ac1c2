"""Honest temporal backtest of churn models: train on the past, score a later cutoff.

For each test cutoff ``c`` every model learns only from cutoffs whose label window ends on or
before ``c`` (``cutoff + horizon <= c``), with survival waits censored at ``c``; BG/NBD is
fitted on the purchases up to ``c``. Nothing after ``c`` is seen except the test labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError
from churnkit.models._metrics import (
    brier,
    concordance_index,
    expected_calibration_error,
    integrated_brier_score,
    log_loss,
    pr_auc,
    roc_auc,
    top_decile_lift,
)

if TYPE_CHECKING:
    from churnkit.io._transaction_log import TransactionLog
    from churnkit.models._churn_model import ChurnModel

__all__ = ["MODELS", "backtest"]

MODELS: tuple[str, ...] = ("gbm", "survival", "bgnbd", "rfm_logit", "recency")
# label metrics: name -> metric(y, p)
_LABEL_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "roc_auc": roc_auc,
    "pr_auc_churned": pr_auc,
    "pr_auc_retained": lambda y, p: pr_auc(y, p, positive=0),
    "brier": brier,
    "log_loss": log_loss,
    "ece": expected_calibration_error,
    "top_decile_lift": top_decile_lift,
}
# the C-index costs ~0.1 s per 10k customers; its interval uses at most this many resamples
_MAX_BOOT_CINDEX = 50
_IBS_POINTS = 12


def backtest(
    log: TransactionLog,
    cutoffs: Any,
    horizon: int = 90,
    models: tuple[str, ...] = MODELS,
    *,
    populations: tuple[str, ...] = ("first_time", "loyal"),
    n_boot: int = 200,
    seed: int = 0,
    model: ChurnModel | None = None,
) -> pd.DataFrame:
    """Score each model on each later cutoff it could honestly have been tested on.

    Parameters
    ----------
    log : TransactionLog
        The whole history.
    cutoffs : list of dates
        Candidate cutoffs. A cutoff is a test cutoff when its label window is complete
        and the GBM can be trained before it: at least two earlier cutoffs end their label
        windows on or before it, one of them a full window after another (training and
        the held-out calibration cutoff).
    horizon : int
        Label window in days.
    models : tuple of str
        From ``"gbm"`` (:class:`churnkit.ChurnModel`), ``"survival"`` (its survival model),
        ``"bgnbd"`` (P(no purchase in the window)), ``"rfm_logit"``, ``"recency"``.
    populations : tuple of str
        ``"first_time"`` and/or ``"loyal"``.
    n_boot : int
        Bootstrap resamples (over customers) for the 95% percentile intervals; the C-index
        uses at most 50. ECE is biased upwards by resampling noise, so its interval can
        lie entirely above the estimate.
    seed : int
        Seed of the resampling and of the models.
    model : ChurnModel, optional
        An unfitted model to clone the settings from (default ``ChurnModel(horizon)``).

    Returns
    -------
    DataFrame
        Tidy: one row per ``model, population, cutoff, metric`` with ``value``, ``lo``,
        ``hi``, ``n`` (customers), ``churners``, ``base_rate`` and ``train_cutoffs``
        (how many cutoffs the model learned from). Metrics: ``roc_auc``,
        ``pr_auc_churned``, ``pr_auc_retained``, ``brier``, ``log_loss``, ``ece``,
        ``top_decile_lift`` for every model; ``c_index`` (score = churn probability
        against the days to the next purchase) and ``ibs`` (over 1..horizon days) for
        ``survival`` and ``bgnbd``, which give whole curves.

    Examples
    --------
    >>> table = backtest(log, pd.date_range("2023-03-31", "2024-09-30", freq="QE"))  # doctest: +SKIP
    >>> table.query("metric == 'roc_auc'").pivot_table("value", "model", "population")  # doctest: +SKIP
    """
    from churnkit.models._churn_model import POPULATION_CODES, ChurnModel
    from churnkit.models._survival import censor, survival_target

    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ChurnkitError(f"models must be a non-empty subset of {list(MODELS)}, got {models}.")
    template = model if model is not None else ChurnModel(horizon=horizon, random_state=seed)
    params = {**_params(template), "horizon": horizon, "populations": tuple(populations)}
    params["survival"] = "survival" in models
    template = ChurnModel(**params)
    template._check_params()
    features = template.features(log, cutoffs)
    target = survival_target(log, features)
    h = pd.Timedelta(days=horizon)
    labelled = sorted(features.loc[features["churned"].notna(), "cutoff"].unique())
    rows: list[dict[str, Any]] = []
    tested = 0
    for c in map(pd.Timestamp, labelled):
        past = [t for t in labelled if t + h <= c]
        if len(past) < 2 or past[0] + h > past[-1]:
            continue
        tested += 1
        train = features[features["cutoff"].isin(past)]
        fitted = ChurnModel(**params).fit_features(
            train, censor(target.loc[train.index], train["cutoff"], c)
        )
        test = features[features["cutoff"] == c]
        scores = _scores(log, fitted, models, train, test, c, horizon)
        for name in populations:
            at = (test["population"] == POPULATION_CODES[name]).to_numpy()
            y = test["churned"].to_numpy(dtype=float)[at]
            wait = target.loc[test.index].to_numpy(dtype=float)[at]
            for m in models:
                p, curves = scores[m]
                part = None if curves is None else curves[at]
                for r in _metric_rows(y, p[at], part, wait, _grid(horizon), n_boot, seed):
                    rows.append(
                        {
                            **r,
                            "model": m,
                            "population": name,
                            "cutoff": c,
                            "train_cutoffs": len(past),
                        }
                    )
    if not tested:
        raise ChurnkitError(
            f"no cutoff among {[str(pd.Timestamp(c).date()) for c in labelled]} has two earlier "
            f"cutoffs whose {horizon}-day windows end by it, one a full window after the other. "
            "Add earlier cutoffs (e.g. quarterly over two years)."
        )
    cols = ["model", "population", "cutoff", "metric", "value", "lo", "hi", "n", "churners"]
    out = pd.DataFrame(rows)[[*cols, "base_rate", "train_cutoffs"]]
    return out.sort_values(["cutoff", "population", "model", "metric"], ignore_index=True)


def _params(model: ChurnModel) -> dict[str, Any]:
    return {k: v for k, v in model.__dict__.items() if not k.endswith("_")}


def _scores(
    log: TransactionLog,
    fitted: ChurnModel,
    models: tuple[str, ...],
    train: pd.DataFrame,
    test: pd.DataFrame,
    at: pd.Timestamp,
    horizon: int,
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Each model's churn probability (and survival curve over the IBS grid) on ``test``."""
    from churnkit.models._baselines import RECENCY, RFM, LogitBaseline, bgnbd_curves
    from churnkit.models._churn_model import POPULATION_CODES

    grid = _grid(horizon)
    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    if "gbm" in models:
        out["gbm"] = (fitted.predict_proba(test), None)
    if "survival" in models:
        curves = fitted.predict_survival(test, np.r_[grid, horizon])
        out["survival"] = (curves[:, -1], curves[:, :-1])
    if "bgnbd" in models:
        table = bgnbd_curves(log, at, np.r_[grid, horizon]).reindex(test["customer_id"])
        curves = table.to_numpy(dtype=float)
        out["bgnbd"] = (curves[:, -1], curves[:, :-1])
    for name, columns in (("rfm_logit", RFM), ("recency", RECENCY)):
        if name not in models:
            continue
        p = np.full(len(test), np.nan)
        for population in fitted.boosters_:
            code = POPULATION_CODES[population]
            rows = train[(train["population"] == code) & train["churned"].notna()]
            at_test = (test["population"] == code).to_numpy()
            base = LogitBaseline(columns).fit(rows)
            p[at_test] = base.predict_proba(test[at_test])
        out[name] = (p, None)
    return out


def _grid(horizon: int) -> np.ndarray:
    return np.unique(np.linspace(1.0, horizon - 1.0, _IBS_POINTS).round())


def _metric_rows(
    y: np.ndarray,
    p: np.ndarray,
    curves: np.ndarray | None,
    wait: np.ndarray,
    grid: np.ndarray,
    n_boot: int,
    seed: int,
) -> list[dict[str, Any]]:
    """One row per metric: value and percentile bootstrap interval over customers."""
    n = y.size
    common = {"n": n, "churners": int(y.sum()), "base_rate": float(y.mean()) if n else np.nan}
    # every metric is invariant to row order; customers ordered by score, and each resample's
    # indices sorted, hand the metrics' sorts nearly sorted input (several times faster)
    order = np.argsort(p, kind="stable")
    y, p, wait = y[order], p[order], wait[order]
    curves = None if curves is None else curves[order]
    metrics: dict[str, Callable[[np.ndarray], float]] = {
        name: (lambda idx, f=f: f(y[idx], p[idx])) for name, f in _LABEL_METRICS.items()
    }
    if curves is not None:
        metrics["c_index"] = lambda idx: concordance_index(wait[idx, 0], p[idx], wait[idx, 1])
        metrics["ibs"] = lambda idx: integrated_brier_score(
            wait[idx, 0], wait[idx, 1], curves[idx], grid
        )
    everyone = np.arange(n)
    rng = np.random.default_rng(seed)
    draws = [np.sort(rng.integers(0, n, n)) for _ in range(n_boot)]
    # both classes in every resample, as ranking metrics need (conditional interval)
    draws = [d for d in draws if 0 < y[d].sum() < n]
    rows = []
    for name, fn in metrics.items():
        use = draws[:_MAX_BOOT_CINDEX] if name == "c_index" else draws
        value = _safe(fn, everyone)
        boot = np.array([_safe(fn, d) for d in use]) if use else np.array([np.nan])
        boot = boot[np.isfinite(boot)]
        lo, hi = np.quantile(boot, [0.025, 0.975]) if boot.size else (np.nan, np.nan)
        rows.append({"metric": name, "value": value, "lo": float(lo), "hi": float(hi), **common})
    return rows


def _safe(fn: Callable[[np.ndarray], float], idx: np.ndarray) -> float:
    # a metric undefined on these customers (one class only, no comparable pair) is NaN
    try:
        return float(fn(idx))
    except ChurnkitError:
        return np.nan
