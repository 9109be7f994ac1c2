"""Probability calibration on a later held-out cutoff, and level correction under drift.

Two separate corrections, applied in this order when scoring:

1. :class:`Calibrator` reshapes raw model scores into probabilities. It is fitted on the
   latest labelled cutoff, which the model did not train on (never a random split of customers
   across time). Platt scaling is a strictly increasing map and keeps the ranking; isotonic
   regression is only non-decreasing and can merge neighbouring scores into ties.
2. :class:`DriftCorrection` fixes the *level*. The churn base rate moves as the customer base
   ages and with the season; trees cannot extrapolate that, so a model calibrated on earlier
   cutoffs is right in ranking but wrong in level at a later cutoff. The correction fits the
   base-rate trend across the labelled cutoffs, extrapolates it to the scoring cutoff, and adds
   one constant in logit space so the mean prediction matches the extrapolated rate. Adding a
   constant in logit space is strictly increasing, so the ranking (AUC) is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize
from scipy.special import expit, logit

from churnkit.core._errors import ChurnkitError

__all__ = ["Calibrator", "DriftCorrection", "shift_to_mean"]

# probabilities are kept this far from 0 and 1 so that logits stay finite
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, _EPS, 1 - _EPS))


def _probabilities(p: Any, name: str = "p") -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr > 1))
    if arr.ndim != 1 or bad.size:
        where = f"; position {bad[0]} holds {arr[bad[0]]:g}" if bad.size else ""
        raise ChurnkitError(f"{name} must be a 1-D array of probabilities in [0, 1]{where}.")
    return arr


def _check_fitted(obj: Any, attr: str) -> None:
    if not hasattr(obj, attr):
        raise ChurnkitError(f"this {type(obj).__name__} is not fitted yet; call fit(...) first.")


class Calibrator:
    """Map raw churn scores to calibrated probabilities, fitted on a held-out later cutoff.

    Parameters
    ----------
    method : {"platt", "isotonic"}
        ``"platt"`` fits ``expit(a * logit(p) + b)`` by maximum likelihood; strictly
        increasing when ``a > 0``, so it never changes the ranking. ``"isotonic"`` fits a
        non-decreasing step function (scikit-learn's ``IsotonicRegression``); more flexible,
        but it turns nearby scores into ties.

    Attributes
    ----------
    coef_ : tuple of float
        ``(a, b)`` for Platt scaling.
    isotonic_ : IsotonicRegression
        The fitted step function for isotonic calibration.
    n_ : int
        Customers the calibration was fitted on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> raw = rng.uniform(0.05, 0.95, 2000)
    >>> y = (rng.random(2000) < expit(2 * logit(raw))).astype(int)  # raw is under-confident
    >>> cal = Calibrator("platt").fit(raw, y)
    >>> round(cal.coef_[0])
    2
    """

    def __init__(self, method: Literal["platt", "isotonic"] = "platt") -> None:
        self.method = method

    def fit(self, p: Any, y: Any) -> Calibrator:
        """Fit on raw scores ``p`` and churn labels ``y`` of the held-out cutoff."""
        p_arr = _probabilities(p)
        y_arr = np.asarray(y, dtype=float)
        if y_arr.shape != p_arr.shape:
            raise ChurnkitError(f"p and y differ in shape ({p_arr.shape} vs {y_arr.shape}).")
        if not np.isin(y_arr, (0.0, 1.0)).all() or y_arr.min() == y_arr.max():
            raise ChurnkitError(
                "calibration needs 0/1 labels of both classes on the held-out cutoff; got "
                f"{int(np.nansum(y_arr))} churners of {y_arr.size}. Drop unlabelled rows or "
                "choose a cutoff whose label window is complete."
            )
        if self.method == "platt":
            x = _logit(p_arr)

            def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
                z = ab[0] * x + ab[1]
                # log(1 + e^z) - y z, written stably; its gradient is (expit(z) - y) [x, 1]
                value = np.logaddexp(0.0, z) - y_arr * z
                r = expit(z) - y_arr
                return float(value.mean()), np.array([(r * x).mean(), r.mean()])

            result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="BFGS")
            self.coef_ = (float(result.x[0]), float(result.x[1]))
        elif self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            self.isotonic_ = IsotonicRegression(
                y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip"
            ).fit(p_arr, y_arr)
        else:
            raise ChurnkitError(
                f"unknown calibration method {self.method!r}; use 'platt' or 'isotonic'."
            )
        self.n_ = int(p_arr.size)
        return self

    def transform(self, p: Any) -> np.ndarray:
        """Calibrated probabilities for raw scores ``p``."""
        _check_fitted(self, "n_")
        p_arr = _probabilities(p)
        if self.method == "platt":
            a, b = self.coef_
            return expit(a * _logit(p_arr) + b)
        return self.isotonic_.predict(p_arr)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data state for saving (JSON)."""
        _check_fitted(self, "n_")
        state: dict[str, Any] = {"method": self.method, "n": self.n_}
        if self.method == "platt":
            state["coef"] = list(self.coef_)
        else:
            state["x"] = self.isotonic_.X_thresholds_.tolist()
            state["y"] = self.isotonic_.y_thresholds_.tolist()
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Calibrator:
        """Rebuild a fitted calibrator from :meth:`to_dict`'s output."""
        cal = cls(state["method"])
        if cal.method == "platt":
            cal.coef_ = (float(state["coef"][0]), float(state["coef"][1]))
        else:
            from sklearn.isotonic import IsotonicRegression

            # refitting on the thresholds reproduces the same step function exactly
            cal.isotonic_ = IsotonicRegression(
                y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip"
            ).fit(np.asarray(state["x"]), np.asarray(state["y"]))
        cal.n_ = int(state["n"])
        return cal


def shift_to_mean(p: Any, target: float) -> np.ndarray:
    """Add one constant to every logit so that the mean probability equals ``target``.

    The map ``p -> expit(logit(p) + delta)`` is strictly increasing, so every ranking metric
    is unchanged; only the level moves. Probabilities are first kept 1e-6 away from 0 and 1.

    Examples
    --------
    >>> q = shift_to_mean([0.1, 0.2, 0.4], 0.35)
    >>> round(float(q.mean()), 6), bool(np.all(np.diff(q) > 0))
    (0.35, True)
    """
    p_arr = _probabilities(p)
    if not 0 < target < 1:
        raise ChurnkitError(f"target mean must be strictly between 0 and 1, got {target!r}.")
    if p_arr.size == 0:
        return p_arr
    z = _logit(p_arr)

    def gap(delta: float) -> float:
        return float(expit(z + delta).mean() - target)

    # the mean is increasing in delta and spans (0, 1); widen the bracket until it holds
    lo, hi = -1.0, 1.0
    while gap(lo) > 0:
        lo *= 2
    while gap(hi) < 0:
        hi *= 2
    return expit(z + brentq(gap, lo, hi, xtol=1e-12))


class DriftCorrection:
    """Extrapolate the churn base rate across cutoffs and correct the predictions' level.

    Parameters
    ----------
    trend : {"linear", "last"}
        ``"linear"`` fits ``logit(rate) = a + b * days`` by least squares weighted by the
        customers labelled at each cutoff and extrapolates it; ``"last"`` carries the latest
        observed rate forward (no trend; the fallback when only one cutoff is labelled).
    max_shift : float
        Largest change of the extrapolated rate allowed beyond the latest observed rate, in
        logit units. Linear trends fitted on a few cutoffs can run away when extrapolated far;
        the cap keeps the correction to a plausible size (0.5 logit is about 10 percentage
        points around a 50 % rate).

    Attributes
    ----------
    history_ : DataFrame
        ``cutoff, rate, n`` of the labelled cutoffs.
    coef_ : tuple of float
        ``(a, b)`` of the fitted trend, with days counted from the first cutoff.

    Examples
    --------
    >>> cutoffs = pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"])
    >>> drift = DriftCorrection().fit(cutoffs, [0.30, 0.35, 0.40], [1000, 1000, 1000])
    >>> round(drift.rate_at("2024-10-01"), 2)
    0.46
    """

    def __init__(self, trend: Literal["linear", "last"] = "linear", max_shift: float = 0.5) -> None:
        self.trend = trend
        self.max_shift = max_shift

    def fit(self, cutoffs: Sequence[Any], rates: Any, n: Any | None = None) -> DriftCorrection:
        """Fit the trend of the observed churn ``rates`` at the labelled ``cutoffs``."""
        if self.trend not in ("linear", "last"):
            raise ChurnkitError(f"unknown trend {self.trend!r}; use 'linear' or 'last'.")
        history = pd.DataFrame(
            {
                "cutoff": pd.to_datetime(list(cutoffs)),
                "rate": np.asarray(rates, dtype=float),
                "n": np.ones(len(cutoffs)) if n is None else np.asarray(n, dtype=float),
            }
        ).sort_values("cutoff", ignore_index=True)
        if history.empty or history["cutoff"].duplicated().any():
            raise ChurnkitError(
                f"need one observed rate per distinct labelled cutoff, got {list(cutoffs)}."
            )
        bad = history[~history["rate"].between(0, 1, inclusive="neither")]
        if len(bad):
            row = bad.iloc[0]
            raise ChurnkitError(
                f"the churn rate at cutoff {row['cutoff'].date()} is {row['rate']:g}; the level "
                "correction needs rates strictly between 0 and 1 (check that labels exist)."
            )
        self.origin_ = history["cutoff"].iloc[0]
        days = (history["cutoff"] - self.origin_).dt.days.to_numpy(dtype=float)
        z = _logit(history["rate"].to_numpy())
        if self.trend == "linear" and len(history) >= 2:
            w = history["n"].to_numpy()
            slope, intercept = np.polyfit(days, z, 1, w=np.sqrt(w))
            self.coef_ = (float(intercept), float(slope))
        else:
            self.coef_ = (float(z[-1]), 0.0)
        self.history_ = history
        return self

    def rate_at(self, at: Any) -> float:
        """The extrapolated churn base rate at cutoff ``at``."""
        _check_fitted(self, "coef_")
        days = (pd.Timestamp(at) - self.origin_).days
        z = self.coef_[0] + self.coef_[1] * days
        last = float(_logit(self.history_["rate"].to_numpy()[-1:])[0])
        return float(expit(np.clip(z, last - self.max_shift, last + self.max_shift)))

    def transform(self, p: Any, at: Any) -> np.ndarray:
        """Shift ``p`` (all customers of one population at cutoff ``at``) to the trend's level."""
        return shift_to_mean(p, self.rate_at(at))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data state for saving (JSON)."""
        _check_fitted(self, "coef_")
        h = self.history_
        return {
            "trend": self.trend,
            "max_shift": self.max_shift,
            "cutoffs": [str(c.date()) for c in h["cutoff"]],
            "rates": h["rate"].tolist(),
            "n": h["n"].tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> DriftCorrection:
        """Rebuild a fitted correction from :meth:`to_dict`'s output."""
        drift = cls(state["trend"], state["max_shift"])
        return drift.fit(state["cutoffs"], state["rates"], state["n"])
