"""Design-weighted shares from a stratified sample, with a Wilson interval on the effective n.

The estimator is the stratified mean of a 0/1 variable, ``p = Σ_s W_s p_s`` with ``W_s`` the
stratum's share of the population (``N_s / N``) and ``p_s`` the share among the stratum's
respondents; its variance is the textbook stratified-sampling one with the finite population
correction (Cochran 1977, *Sampling Techniques*, eq. 5.6 with 5.9),

    V(p) = Σ_s W_s² (1 - n_s/N_s) s_s² / n_s,   s_s² = n_s p_s (1 - p_s) / (n_s - 1).

The interval is Wilson's score interval with ``n`` replaced by the design's effective sample
size ``n_eff = p (1 - p) / V(p)`` (Korn & Graubard 1998, "Confidence intervals for proportions
with small expected number of positive counts estimated from survey data", *Survey
Methodology* 24(2); Dean & Pagano 2015, *J. Survey Statistics and Methodology* 3(4), found
this Wilson variant close to nominal). Why not Kish's ``n_eff = (Σw)²/Σw²`` alone: it only
accounts for unequal weights and ignores the variance that stratification removes, so it is
conservative when strata differ; it is the fallback when ``V`` is zero though the share is
not known (every stratum all-0 or all-1 but the overall share strictly between 0 and 1, or
``p`` itself 0 or 1), where Wilson on Kish's n still gives a sensible one-sided interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Share:
    """A weighted share with its interval and the effective sample size behind it."""

    share: float
    low: float
    high: float
    n_eff: float


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on ``n`` (possibly fractional) cases.

    Examples
    --------
    >>> [round(x, 4) for x in wilson(0.5, 8)]
    [0.2152, 0.7848]
    """
    if n <= 0 or not np.isfinite(p):
        return 0.0, 1.0
    if np.isinf(n):
        return p, p
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def stratified_share(
    y: np.ndarray, stratum: np.ndarray, weight_of: np.ndarray, size_of: np.ndarray
) -> Share:
    """Weighted share of ``y`` (0/1 per respondent) with a 95% Wilson interval on the design n_eff.

    Parameters
    ----------
    y : array of 0/1
        One value per respondent.
    stratum : array of int
        Each respondent's stratum index into ``weight_of`` and ``size_of``; every stratum
        must have at least one respondent.
    weight_of : array of float
        ``W_s``: each stratum's share of the target population (sums to 1).
    size_of : array of float
        ``N_s``: each stratum's population size (for the finite population correction).

    Examples
    --------
    Two strata, W = (0.4, 0.6): 4 of 8 and 1 of 4 respondents say "price".

    >>> s = stratified_share(np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0]),
    ...                      np.array([0] * 8 + [1] * 4), np.array([0.4, 0.6]),
    ...                      np.array([400.0, 600.0]))
    >>> round(s.share, 4), round(s.n_eff, 3)
    (0.35, 8.14)
    """
    n_s = np.bincount(stratum, minlength=len(weight_of)).astype(float)
    p_s = np.bincount(stratum, weights=y, minlength=len(weight_of)) / n_s
    share = float(weight_of @ p_s)
    share = min(max(share, 0.0), 1.0)  # rounding of W_s may step a hair outside [0, 1]
    fpc = 1.0 - n_s / size_of
    s2 = np.where(n_s > 1, p_s * (1 - p_s) * n_s / np.maximum(n_s - 1, 1), share * (1 - share))
    variance = float((weight_of**2 * fpc * s2 / n_s).sum())
    if np.all(fpc <= 0):  # a census of every stratum: the share is known exactly
        return Share(share, share, share, float("inf"))
    if variance > 0 and 0 < share < 1:
        n_eff = share * (1 - share) / variance
    else:
        w = (weight_of / n_s)[stratum]
        n_eff = float(w.sum() ** 2 / (w**2).sum())
    low, high = wilson(share, n_eff)
    return Share(share, low, high, float(n_eff))
