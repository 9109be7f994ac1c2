"""Metrics of churn models: ranking, calibration, lift, survival, and bootstrap intervals.

Conventions: ``y`` is the churn label (1 = churned, 0 = retained) and ``p`` the predicted
churn probability (higher = more likely to leave). Survival metrics take observed times, an
event flag and a score or survival curve, as in lifelines.

Every function checks its inputs and names the offending argument; nothing is dropped silently.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from churnkit.core._errors import ChurnkitError

__all__ = [
    "Interval",
    "bootstrap_ci",
    "brier",
    "calibration_table",
    "concordance_index",
    "expected_calibration_error",
    "integrated_brier_score",
    "log_loss",
    "pr_auc",
    "roc_auc",
    "top_decile_lift",
]


# -- input checks ------------------------------------------------------------------------------
def _vector(values: object, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ChurnkitError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ChurnkitError(
            f"{name} has {bad.size} missing or infinite value(s), first at position {bad[0]}; "
            "drop unlabelled rows (e.g. churned is NaN when the window runs past the data) first."
        )
    return arr


def _binary(
    y: object, p: object, *, probabilities: bool = True, both_classes: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    y_arr, p_arr = _vector(y, "y"), _vector(p, "p")
    if y_arr.size != p_arr.size:
        raise ChurnkitError(f"y and p differ in length ({y_arr.size} vs {p_arr.size}).")
    if y_arr.size == 0:
        raise ChurnkitError("y and p are empty; a metric needs at least one labelled customer.")
    off = np.flatnonzero((y_arr != 0) & (y_arr != 1))
    if off.size:
        raise ChurnkitError(
            f"y must hold 0/1 churn labels; position {off[0]} holds {y_arr[off[0]]:g}."
        )
    if probabilities:
        out = np.flatnonzero((p_arr < 0) | (p_arr > 1))
        if out.size:
            raise ChurnkitError(
                f"p must be probabilities in [0, 1]; position {out[0]} holds {p_arr[out[0]]:g}."
            )
    if both_classes and y_arr.min() == y_arr.max():
        raise ChurnkitError(
            f"y holds only class {int(y_arr[0])}; a ranking metric needs churned and retained "
            "customers. Use a longer test window or a larger population."
        )
    return y_arr, p_arr


# -- classification ----------------------------------------------------------------------------
def roc_auc(y: object, p: object) -> float:
    """Area under the ROC curve: the chance a random churner scores above a random stayer.

    Ties between a churner and a stayer count one half (Mann-Whitney U / (n1 n0)).

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y_arr, p_arr = _binary(y, p, probabilities=False)
    ranks = rankdata(p_arr)
    n1 = y_arr.sum()
    n0 = y_arr.size - n1
    return float((ranks[y_arr == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _average_precision(positive: np.ndarray, score: np.ndarray) -> float:
    # one threshold per distinct score, highest first: AP = sum (R_k - R_{k-1}) P_k
    order = np.argsort(-score, kind="stable")
    s, pos = score[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(pos)[last_of_tie]
    predicted = last_of_tie + 1
    recall = tp / pos.sum()
    precision = tp / predicted
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def pr_auc(y: object, p: object, positive: int = 1) -> float:
    """Area under the precision-recall curve (average precision) for one class.

    Parameters
    ----------
    y, p : array-like
        Churn labels and churn scores.
    positive : {1, 0}
        1 scores how well ``p`` finds churners; 0 how well ``1 - p`` finds retained customers.

    Returns
    -------
    float
        ``sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds, as
        scikit-learn's ``average_precision_score``. A random model scores the class share.

    Examples
    --------
    >>> round(pr_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    >>> round(pr_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], positive=0), 4)
    0.8333
    """
    if positive not in (0, 1):
        raise ChurnkitError(f"positive must be 1 (churned) or 0 (retained), got {positive!r}.")
    y_arr, p_arr = _binary(y, p, probabilities=False)
    if positive == 1:
        return _average_precision(y_arr, p_arr)
    return _average_precision(1 - y_arr, -p_arr)


def brier(y: object, p: object) -> float:
    """Mean squared error of the churn probability (Brier score; lower is better).

    Examples
    --------
    >>> round(brier([0, 1], [0.2, 0.6]), 4)
    0.1
    """
    y_arr, p_arr = _binary(y, p, both_classes=False)
    return float(np.mean((p_arr - y_arr) ** 2))


def log_loss(y: object, p: object) -> float:
    """Mean negative log-likelihood of the labels (natural log).

    Probabilities are clipped to ``[eps, 1 - eps]`` with float64's machine epsilon, as
    scikit-learn does, so a confident mistake costs about 36, not infinity.

    Examples
    --------
    >>> round(log_loss([0, 1], [0.2, 0.6]), 4)
    0.367
    """
    y_arr, p_arr = _binary(y, p, both_classes=False)
    eps = np.finfo(float).eps
    q = np.clip(p_arr, eps, 1 - eps)
    return float(-np.mean(y_arr * np.log(q) + (1 - y_arr) * np.log1p(-q)))


def _equal_mass_bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    # bin by mid-rank so tied scores share a bin and the result ignores the row order
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ChurnkitError(f"n_bins must be a positive integer, got {n_bins!r}.")
    mid_rank = rankdata(p) - 0.5
    return np.minimum((mid_rank * n_bins / p.size).astype(int), n_bins - 1)


def calibration_table(y: object, p: object, n_bins: int = 10) -> pd.DataFrame:
    """Observed churn rate against mean predicted probability in equal-mass bins.

    Customers are ordered by ``p`` and cut into ``n_bins`` groups of (nearly) equal size;
    tied probabilities always fall into the same bin, so bins can be unequal (or fewer than
    ``n_bins``) when many customers share a score.

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``bin, n, p_min, p_max, p_mean, observed``.

    Examples
    --------
    >>> calibration_table([0, 1, 0, 1], [0.1, 0.2, 0.7, 0.8], n_bins=2)["observed"].tolist()
    [0.5, 0.5]
    """
    y_arr, p_arr = _binary(y, p, both_classes=False)
    frame = pd.DataFrame({"bin": _equal_mass_bins(p_arr, n_bins), "y": y_arr, "p": p_arr})
    table = frame.groupby("bin").agg(
        n=("p", "size"),
        p_min=("p", "min"),
        p_max=("p", "max"),
        p_mean=("p", "mean"),
        observed=("y", "mean"),
    )
    return table.reset_index()


def expected_calibration_error(y: object, p: object, n_bins: int = 10) -> float:
    """Expected calibration error over equal-mass bins.

    ``ECE = sum_b (n_b / n) |observed_b - mean(p)_b|`` with the bins of
    :func:`calibration_table` (equal numbers of customers, ties kept together). Equal-mass
    bins keep every bin's observed rate equally precise, unlike equal-width bins that leave
    the upper bins nearly empty when churn probabilities are skewed.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 0, 1], [0.1, 0.2, 0.7, 0.8], n_bins=2), 4)
    0.3
    """
    y_arr, p_arr = _binary(y, p, both_classes=False)
    # the bins of calibration_table, summed with bincount: the bootstrap calls this often
    bins = _equal_mass_bins(p_arr, n_bins)
    n = np.bincount(bins, minlength=n_bins)
    gap = np.bincount(bins, weights=y_arr, minlength=n_bins) - np.bincount(
        bins, weights=p_arr, minlength=n_bins
    )
    return float(np.abs(gap[n > 0]).sum() / n.sum())


def top_decile_lift(y: object, p: object, fraction: float = 0.1) -> float:
    """Churn rate among the ``fraction`` highest-scored customers divided by the base rate.

    The top group holds ``ceil(fraction * n)`` customers. Customers tied at the boundary
    score contribute in proportion (the expected rate under a random tie-break), so the
    value does not depend on the row order.

    Examples
    --------
    >>> top_decile_lift([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.9], fraction=0.2)
    2.5
    """
    if not 0 < fraction <= 1:
        raise ChurnkitError(f"fraction must be in (0, 1], got {fraction!r}.")
    y_arr, p_arr = _binary(y, p, probabilities=False)
    k = int(np.ceil(fraction * y_arr.size))
    threshold = np.sort(p_arr)[::-1][k - 1]
    above = p_arr > threshold
    tied = p_arr == threshold
    churners = y_arr[above].sum() + (k - above.sum()) * y_arr[tied].mean()
    return float((churners / k) / y_arr.mean())


# -- survival ----------------------------------------------------------------------------------
def _survival_inputs(time: object, event: object) -> tuple[np.ndarray, np.ndarray]:
    t, e = _vector(time, "time"), _vector(event, "event")
    if t.size != e.size:
        raise ChurnkitError(f"time and event differ in length ({t.size} vs {e.size}).")
    off = np.flatnonzero((e != 0) & (e != 1))
    if off.size:
        raise ChurnkitError(
            f"event must be 1 (next purchase seen) or 0 (censored); position {off[0]} "
            f"holds {e[off[0]]:g}."
        )
    if (t < 0).any():
        raise ChurnkitError(f"time must be non-negative; position {np.argmin(t)} is {t.min()}.")
    return t, e


def concordance_index(time: object, score: object, event: object) -> float:
    """Harrell's concordance index, matching ``lifelines.utils.concordance_index``.

    A pair is comparable when the subject with the shorter time had an event; a censored
    subject tied in time with an event is taken to have lived longer, two events at the
    same time are not compared. The pair is concordant when the longer-lived subject has
    the higher ``score`` (so pass an expected duration or survival probability, or
    ``-p_churn``); tied scores count one half. Runs in O(n log n).

    Examples
    --------
    >>> concordance_index([1, 2, 3], [10, 20, 30], [1, 1, 1])
    1.0
    """
    t, e = _survival_inputs(time, event)
    s = _vector(score, "score")
    if s.size != t.size:
        raise ChurnkitError(f"score and time differ in length ({s.size} vs {t.size}).")
    return _harrell(t, e, s)


def _harrell(t: np.ndarray, e: np.ndarray, s: np.ndarray) -> float:
    # subject j outlives event subject i when key_j > key_i with key = 2t for events and
    # 2t + 1 for censorings (a censoring tied with an event counts as living longer; two
    # tied events are not compared). Visit the keys from the latest down, keeping the scores
    # of everyone already visited (strictly larger keys) in one sorted array.
    n = t.size
    key = 2 * rankdata(t, method="dense").astype(np.int64) + (1 - e.astype(np.int64))
    order = np.argsort(-key, kind="stable")
    k_sorted = key[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(k_sorted)) + 1, n]
    seen = np.empty(0)
    concordant = tied = comparable = 0.0
    for lo, hi in itertools.pairwise(bounds):
        group = order[lo:hi]
        if k_sorted[lo] % 2 == 0 and seen.size:  # events: compare with everyone seen
            below = np.searchsorted(seen, s[group], side="left")
            upto = np.searchsorted(seen, s[group], side="right")
            concordant += float(np.sum(seen.size - upto))
            tied += float(np.sum(upto - below))
            comparable += float(seen.size * group.size)
        add = np.sort(s[group])
        seen = np.insert(seen, np.searchsorted(seen, add), add)
    if comparable == 0:
        raise ChurnkitError(
            "no comparable pairs: the concordance index needs at least one event followed "
            "by a longer time."
        )
    return (concordant + 0.5 * tied) / comparable


def _km_censoring(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Kaplan-Meier of the censoring distribution G(t) = P(C > t): censorings are the events,
    # and events tied with a censoring are taken to happen first (leave the risk set)
    uniq, inv = np.unique(time, return_inverse=True)
    censored = np.bincount(inv, weights=1 - event, minlength=uniq.size)
    events = np.bincount(inv, weights=event, minlength=uniq.size)
    at_risk = np.cumsum(np.bincount(inv, minlength=uniq.size)[::-1])[::-1] - events
    ratio = np.divide(censored, at_risk, out=np.zeros_like(censored), where=censored > 0)
    return uniq, np.cumprod(1 - ratio)


def integrated_brier_score(time: object, event: object, survival: object, times: object) -> float:
    """Integrated Brier score of survival curves with inverse-probability-of-censoring weights.

    At each ``t`` (Graf et al. 1999; the estimator of scikit-survival's ``brier_score``)::

        BS(t) = mean_i [ S_i(t)^2 * 1{T_i <= t, event_i} / G(T_i)
                        + (1 - S_i(t))^2 * 1{T_i > t} / G(t) ]

    where ``G`` is the Kaplan-Meier estimate of the censoring survival function on the same
    data. The score integrates ``BS`` over ``times`` with the trapezoid rule and divides by
    ``times[-1] - times[0]``. Lower is better; 0.25 is what a constant 0.5 curve scores
    without censoring.

    Parameters
    ----------
    time, event : array-like, shape (n,)
        Observed durations and 1 = event seen, 0 = censored.
    survival : array-like, shape (n, len(times))
        Each subject's predicted survival probability at each of ``times``.
    times : array-like
        Increasing evaluation times, at least two, below the largest observed time.

    Examples
    --------
    >>> integrated_brier_score([1, 3], [1, 1], [[0.5, 0.5], [1.0, 1.0]], [1, 2])
    0.125
    """
    t, e = _survival_inputs(time, event)
    grid = _vector(times, "times")
    surv = np.asarray(survival, dtype=float)
    if grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ChurnkitError("times must hold at least two strictly increasing values.")
    if surv.shape != (t.size, grid.size):
        raise ChurnkitError(
            f"survival must have shape (n_subjects, n_times) = {(t.size, grid.size)}, "
            f"got {surv.shape}."
        )
    if not np.isfinite(surv).all() or (surv < 0).any() or (surv > 1).any():
        raise ChurnkitError("survival must hold probabilities in [0, 1] without missing values.")
    if grid[-1] >= t.max():
        raise ChurnkitError(
            f"times must stay below the largest observed time ({t.max()}); the censoring "
            f"weights are undefined at {grid[-1]}."
        )
    uniq, g = _km_censoring(t, e)

    def g_at(x: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(uniq, x, side="right") - 1
        return np.where(idx >= 0, g[np.maximum(idx, 0)], 1.0)

    # where G is 0 nobody is left to represent the subject: weight 0, as scikit-survival does
    g_subject, g_grid = g_at(t), g_at(grid)
    w_subject = np.divide(1.0, g_subject, out=np.zeros_like(g_subject), where=g_subject > 0)
    w_grid = np.divide(1.0, g_grid, out=np.zeros_like(g_grid), where=g_grid > 0)
    died = (t[:, None] <= grid[None, :]) & (e[:, None] == 1)
    alive = t[:, None] > grid[None, :]
    scores = died * surv**2 * w_subject[:, None] + alive * (1 - surv) ** 2 * w_grid[None, :]
    bs = scores.mean(axis=0)
    return float(np.trapezoid(bs, grid) / (grid[-1] - grid[0]))


# -- intervals ---------------------------------------------------------------------------------
class Interval(NamedTuple):
    """A metric's value on the data and its bootstrap percentile interval."""

    estimate: float
    lo: float
    hi: float


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: object,
    p: object,
    n_boot: int = 200,
    seed: int | None = 0,
    level: float = 0.95,
) -> Interval:
    """Percentile bootstrap interval of ``metric(y, p)`` over customers.

    Customers are resampled with replacement. When ``y`` holds both classes, resamples that
    lose one are drawn again (the interval is conditional on both classes being present,
    which ranking metrics need).

    Parameters
    ----------
    metric : callable
        ``metric(y, p) -> float``, e.g. :func:`roc_auc`.
    y, p : array-like
        Churn labels and scores.
    n_boot : int
        Number of resamples.
    seed : int or None
        Seed of the resampling; the same seed gives the same interval.
    level : float
        Coverage of the interval, e.g. 0.95.

    Returns
    -------
    Interval
        ``(estimate, lo, hi)``: the metric on all data and the interval's bounds.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 300)
    >>> p = np.clip(0.3 * y + rng.uniform(0, 0.7, 300), 0, 1)
    >>> est, lo, hi = bootstrap_ci(roc_auc, y, p, n_boot=100, seed=1)
    >>> lo < est < hi
    True
    """
    if not 0 < level < 1:
        raise ChurnkitError(f"level must be in (0, 1), got {level!r}.")
    if n_boot < 2:
        raise ChurnkitError(f"n_boot must be at least 2, got {n_boot!r}.")
    y_arr, p_arr = _binary(y, p, probabilities=False, both_classes=False)
    estimate = float(metric(y_arr, p_arr))
    rng = np.random.default_rng(seed)
    n = y_arr.size
    need_both = y_arr.min() != y_arr.max()
    values = np.empty(n_boot)
    done = draws = 0
    while done < n_boot:
        draws += 1
        if draws > 20 * n_boot:
            raise ChurnkitError(
                f"only {done} of {n_boot} resamples held both classes (y has "
                f"{int(y_arr.sum())} churners in {n}); too few to bootstrap this metric."
            )
        idx = rng.integers(0, n, n)
        yb = y_arr[idx]
        if need_both and yb.min() == yb.max():
            continue
        values[done] = metric(yb, p_arr[idx])
        done += 1
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return Interval(estimate, float(lo), float(hi))
