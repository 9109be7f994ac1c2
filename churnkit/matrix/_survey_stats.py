"""Design-weighted shares and money at risk from a stratified interview sample, with 95% intervals.

Everything is vectorised over the columns of ``Y`` (one column per reason), so a whole matrix
column (segment) is one call of :func:`estimate`. :data:`METHOD_NOTE` is the same method in
the words the matrix's ``method`` sheet uses; ``benchmarks/bench_coverage.py`` checks it by
simulation.

Estimator
---------
Respondent ``i`` of stratum ``s`` carries the weight ``w_i = N_s / r_s`` (``r_s`` respondents
of ``N_s`` eligible): the design weight ``N_s / n_s`` times the weighting-class non-response
adjustment ``n_s / r_s`` with the strata as classes (Kalton & Flores-Cervantes 2003;
:func:`respondent_weights` also takes finer classes inside strata). A share and a money figure
are both *separate ratio estimators over ratio groups* ``g`` (the populations; Cochran 1977
§6.10)::

    R_g = Σ_{i∈g} a_i y_i / Σ_{i∈g} a_i,       R = Σ_g (T_g / T) R_g,

with ``a_i = w_i`` and ``T_g = N_g`` for a share (then ``R = Σ_s W_s p_s``, the stratified
mean) and ``a_i = w_i v_i`` (``v_i`` the respondent's own value at risk) and ``T_g = V_g`` (the
population's known value at risk) for money, whose estimate is ``T × R``. So the money of the
reasons sums to the value at risk, and a total column is the sum of its populations.

Variance
--------
Stratified Taylor linearisation with the finite population correction (Cochran 1977 eq. 5.6
and 6.9; Wolter 2007 ch. 6): with ``c_i = (T_g/T) a_i / Σ_{j∈g} a_j``::

    V(R) = Σ_s (1 − r_s/N_s) · r_s/(r_s − 1) · [R_s (1 − R_s) Σ_{i∈s} c_i²
                                                + (R_s − R_g)² Σ_{i∈s} (c_i − c̄_s)²],

``R_s`` the stratum's own (value-weighted) share. For a headcount share (equal weights in a
stratum) this *is* the textbook ``Σ_s (1 − f_s) W_s² p_s (1 − p_s)/(r_s − 1)``. For money it
keeps the few cases' own values from setting their own variance (with skewed values, an
estimate that missed the big spenders would otherwise also get a small variance and an
interval below the truth). A stratum whose respondents all say the same thing (all 0, the
usual case for a rare reason, or all 1), or that has one respondent, tells nothing about its
own variance; the plug-in would give it zero, which made the earlier intervals too short.
Such a stratum takes ``R_s = R_g``, its population's share: a stratum-level prior.

Effective sample size and interval
----------------------------------
``n_eff = R(1−R)/V``, capped by Kish's effective number of respondents
``n_kish = 1 / Σ_i (1 − f_s) c_i²`` from the weights alone (Kish 1965 §11.7; without the fpc
``(Σw)²/Σw²``, never more than the respondents). When ``R`` is 0 or 1 or ``V`` is 0,
``n_eff = n_kish`` (Korn & Graubard 1998; Parker et al. 2017). Shares get Wilson's score
interval on ``n_eff`` (Wilson 1927; effective-n intervals for survey data compared by Korn &
Graubard 1998 and Dean & Pagano 2015); money the same formula with the normal quantile
replaced by Student's ``t`` on ``min(2 × cases, r − H)`` degrees of freedom (with ``x`` cases
a money share's variance has about the relative variance of a Poisson count, a chi-square on
``2x`` df). An estimate of exactly 0 has a lower bound of exactly 0, and of 1 an upper bound
of exactly 1. Korn–Graubard's interval (``method="kg"``), the plug-in variance
(``variance="plugin"``) and other caps are kept for the comparison in the benchmark.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley.
Dean, N. & Pagano, M. (2015). Evaluating confidence interval methods for binomial proportions
    in clustered surveys. *J. Survey Statistics and Methodology* 3(4), 484–503.
Kalton, G. & Flores-Cervantes, I. (2003). Weighting methods. *J. Official Statistics* 19(2),
    81–97.
Kish, L. (1965). *Survey Sampling*. Wiley.
Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
    number of positive counts estimated from survey data. *Survey Methodology* 24(2), 193–201.
Parker, J. D. et al. (2017). National Center for Health Statistics data presentation standards
    for proportions. *Vital Health Stat* 2(175).
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22, 209–212.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from churnkit.sample._precision import LOW_N, MIN_N_EFF

ALPHA = 0.05
Z95 = float(stats.norm.ppf(1 - ALPHA / 2))
METHODS = ("auto", "wilson", "wilson_t", "kg")

METHOD_NOTE = [
    "Estimator: each respondent of stratum s weighs N_s / r_s (N_s eligible predicted churners, "
    "r_s interviews): the design weight N_s / n_s times the non-response adjustment n_s / r_s "
    "within the stratum (weighting classes = strata). A share is the weighted share of "
    "respondents per population, combined with the populations' sizes (= the stratified mean "
    "sum_s W_s p_s).",
    "Money at risk of a reason = the population's value at risk V_p x the value-weighted share "
    "sum(w v y) / sum(w v) over its respondents (v = each respondent's own value at risk; a "
    "separate ratio estimator per population); the total column is the sum over populations, "
    "and the reasons of a column sum to its value at risk. Interviewees who say they still "
    "buy (not_churned) keep their value out of every reason.",
    "Variance: stratified Taylor linearisation with the finite population correction "
    "(1 - r_s/N_s) (Cochran 1977, eq. 5.6 and ch. 6; Wolter 2007). A stratum whose respondents "
    "all gave the same answer (or with one respondent) gets the variance of its population's "
    "share instead of zero.",
    "95% interval: Wilson score interval (Wilson 1927) on the effective sample size "
    "n_eff = p(1-p)/V, never more than Kish's effective number of respondents "
    "(sum w)^2 / sum w^2 (Kish 1965), so no interval is narrower than the interviews behind "
    "it allow (Korn & Graubard 1998; Dean & Pagano 2015). Money: the same on the value share, "
    "with Student's t on 2 x cases degrees of freedom. An estimate of 0 has lower bound 0.",
    "Limit: weighting corrects for different response between strata; if within a stratum "
    "people with one reason answer less often, no weighting on the sample's variables removes "
    "that bias.",
    "respondents = interviews behind a figure (the segment's respondents; with churned_only "
    "those who did churn); cases = those naming the reason as the main one; n_eff = the "
    "effective sample size of the interval; low_n flags figures resting on fewer than "
    f"{LOW_N} respondents or on n_eff < {MIN_N_EFF} (cf. NCHS standards, Parker et al. 2017): "
    "read them as indicative.",
    "Checked by simulation (benchmarks/bench_coverage.py: samples drawn with "
    "draw_interview_sample for proportional, equal-allocation, small-n, rare-reason and "
    "non-response designs): the 95% intervals cover the truth in 92-98% of samples in every "
    "cell (up to 99% where fewer than 20 cases are expected).",
]
REFERENCES = [
    "Cochran, W. G. (1977). Sampling Techniques, 3rd ed. Wiley.",
    "Dean, N. & Pagano, M. (2015). Evaluating confidence interval methods for binomial "
    "proportions in clustered surveys. J. Survey Statistics and Methodology 3(4), 484-503.",
    "Kalton, G. & Flores-Cervantes, I. (2003). Weighting methods. J. Official Statistics "
    "19(2), 81-97.",
    "Kish, L. (1965). Survey Sampling. Wiley.",
    "Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small "
    "expected number of positive counts estimated from survey data. Survey Methodology 24(2), "
    "193-201.",
    "Parker, J. D. et al. (2017). National Center for Health Statistics data presentation "
    "standards for proportions. Vital Health Stat 2(175).",
    "Wilson, E. B. (1927). Probable inference, the law of succession, and statistical "
    "inference. JASA 22, 209-212.",
    "Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.",
]


# ------------------------------------------------------------------------------ the design
@dataclass(frozen=True)
class Design:
    """The respondents of one segment (a matrix column) and what re-weights them.

    Attributes
    ----------
    stratum : (n,) int
        Each respondent's stratum, ``0..S-1``.
    size : (S,) float
        ``N_s``, eligible predicted churners per stratum (the frame).
    weight : (n,) float
        Final weight of each respondent (:func:`respondent_weights`).
    group : (n,) int
        Ratio group (population) of each respondent, ``0..G-1``; strata nest in groups.
    """

    stratum: np.ndarray
    size: np.ndarray
    weight: np.ndarray
    group: np.ndarray

    @property
    def respondents(self) -> int:
        return len(self.stratum)

    @property
    def per_stratum(self) -> np.ndarray:
        """Respondents per stratum, ``r_s``."""
        return np.bincount(self.stratum, minlength=len(self.size)).astype(float)

    @property
    def fpc(self) -> np.ndarray:
        """``1 − r_s/N_s`` per stratum (respondents as a simple random sample of ``N_s``)."""
        return np.clip(1.0 - self.per_stratum / self.size, 0.0, 1.0)

    @property
    def df(self) -> int:
        """Degrees of freedom: respondents minus strata with respondents."""
        return int(self.respondents - np.count_nonzero(self.per_stratum))

    def onehot(self) -> np.ndarray:
        """(S, n) indicator of each respondent's stratum."""
        out = np.zeros((len(self.size), self.respondents))
        out[self.stratum, np.arange(self.respondents)] = 1.0
        return out


def respondent_weights(
    stratum: np.ndarray,
    size: np.ndarray,
    responded: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    min_respondents: int = 5,
) -> np.ndarray:
    """Weights of the respondents: design weight × weighting-class non-response adjustment.

    Parameters
    ----------
    stratum : (m,) int
        Stratum of every *released* case (respondents and non-respondents).
    size : (S,) float
        ``N_s``.
    responded : (m,) bool, optional
        Who gave an interview (default: everyone).
    classes : (m,) int, optional
        Weighting classes inside strata (e.g. value band); a class with fewer than
        ``min_respondents`` respondents is merged into its stratum's remainder. Default: the
        strata themselves, which gives ``N_s / r_s``.
    min_respondents : int
        Respondents a class needs to be adjusted on its own.

    Returns
    -------
    (r,) float
        Weights of the respondents, in their order among the cases; they sum to ``N_s`` in
        every stratum with respondents.

    Examples
    --------
    >>> respondent_weights(np.array([0, 0, 0, 1, 1]), np.array([300.0, 100.0]),
    ...                    np.array([True, True, False, True, True])).tolist()
    [150.0, 150.0, 50.0, 50.0]
    """
    stratum = np.asarray(stratum)
    responded = np.ones(len(stratum), bool) if responded is None else np.asarray(responded, bool)
    n_s = np.bincount(stratum, minlength=len(size)).astype(float)
    d = (np.asarray(size, float) / np.maximum(n_s, 1))[stratum]  # design weight N_s / n_s
    cell = stratum.astype(np.int64)
    if classes is not None:
        classes = np.asarray(classes)
        span = int(classes.max()) + 2
        cell = cell * span + classes + 1
        _, inv = np.unique(cell, return_inverse=True)
        thin = np.bincount(inv, weights=responded)[inv] < min_respondents
        cell = np.where(thin, stratum.astype(np.int64) * span, cell)  # one remainder per stratum
    _, inv = np.unique(cell, return_inverse=True)
    released = np.bincount(inv, weights=d)
    answered = np.bincount(inv, weights=d * responded)
    if classes is not None and np.any((answered == 0) & (released > 0)):
        # a remainder class without a respondent: the stratum is the class
        return respondent_weights(stratum, size, responded, None)
    factor = np.divide(released, answered, out=np.zeros_like(released), where=answered > 0)
    return (d * factor[inv])[responded]


# ------------------------------------------------------------------------------ estimates
@dataclass(frozen=True)
class Estimate:
    """Estimates for the columns of ``Y`` (one per reason) with their 95% intervals.

    ``share``/``low``/``high`` are shares (or value-weighted shares, for money) in [0, 1];
    ``total`` is the ratio groups' total (``N`` or the value at risk), so that money is
    ``total × share``. ``respondents`` is the number of interviews the figure rests on,
    ``cases`` how many of them have ``y = 1``, ``n_eff`` the effective sample size of the
    interval and ``df`` its degrees of freedom.
    """

    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    n_eff: np.ndarray
    n_kish: float
    respondents: int
    cases: np.ndarray
    df: np.ndarray
    total: float

    @property
    def low_n(self) -> np.ndarray:
        """Figures to read as indicative: fewer than ``LOW_N`` respondents or a small ``n_eff``."""
        return (self.respondents < LOW_N) | (np.asarray(self.n_eff) < MIN_N_EFF)

    def first(self) -> Estimate:
        """The estimate of the first column, as scalars."""
        return Estimate(
            *(
                getattr(self, f.name)[0]
                if isinstance(getattr(self, f.name), np.ndarray)
                else getattr(self, f.name)
                for f in fields(self)
            )
        )


def estimate(
    Y: np.ndarray,
    design: Design,
    *,
    value: np.ndarray | None = None,
    totals: np.ndarray | None = None,
    domain: np.ndarray | None = None,
    method: str = "auto",
    variance: str = "binomial",
    cap: str | None = "kish",
) -> Estimate:
    """Weighted shares of the 0/1 columns of ``Y`` (or money shares, with ``value``) and intervals.

    Parameters
    ----------
    Y : (n, K) or (n,) array of 0/1
        One row per respondent of the design, one column per reason.
    design : Design
        The respondents' strata, weights and ratio groups.
    value : (n,) float, optional
        Each respondent's value at risk: the estimate becomes the value-weighted share ``R``
        (money at risk = ``total × R``).
    totals : (G,) float, optional
        Known total per ratio group (``V_g`` for money); default the weighted counts ``N_g``
        (of the domain, with ``domain``).
    domain : (n,) bool, optional
        Respondents inside the domain (e.g. those who did churn): shares among the domain,
        estimated as a ratio (domain estimation, Cochran 1977 §2.13), the others staying in
        the design so that the variance knows the domain's size is itself estimated.
    method : {"auto", "wilson", "wilson_t", "kg"}
        "auto" (the default, chosen by simulated coverage): Wilson for shares, Wilson with
        Student's t on ``min(2 × cases, respondents − strata)`` df for money. "kg":
        Korn & Graubard's (1998) Clopper–Pearson on the df-adjusted effective n.
    variance : {"binomial", "plugin"}
        "binomial" (default): the stratified variance with the stratum-level prior for strata
        without variation (module notes); "plugin": the classical linearisation, where such a
        stratum counts zero.
    cap : {"kish", "n", None}
        Upper bound on the effective sample size: Kish's n (with the fpc), the respondents, none.

    Returns
    -------
    Estimate
        Arrays over the columns of ``Y`` (scalars when ``Y`` is one-dimensional).

    Examples
    --------
    Two strata of 400 and 600, 8 and 4 respondents; 4 of 8 and 1 of 4 say "price" (the
    hand-worked fixture of the tests):

    >>> d = Design(np.array([0] * 8 + [1] * 4), np.array([400.0, 600.0]),
    ...            np.array([50.0] * 8 + [150.0] * 4), np.zeros(12, int))
    >>> e = estimate(np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0]), d)
    >>> round(float(e.share), 4), round(float(e.n_eff), 3), round(e.n_kish, 3)
    (0.35, 8.14, 9.174)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if method == "auto":
        method = "wilson" if value is None else "wilson_t"
    Y = np.asarray(Y, float)
    one = Y.ndim == 1
    Y = Y[:, None] if one else Y
    inside = np.ones(design.respondents) if domain is None else np.asarray(domain, float)
    if domain is not None:
        Y = Y * inside[:, None]
        if totals is None:
            totals = _group_sums(design, design.weight * inside)
        value = inside if value is None else np.asarray(value, float) * inside
    R, c, Rg, T = _ratio_parts(Y, design, value, totals)
    V = _variance(Y, design, value, c, Rg, inside, variance).sum(axis=0)
    # Kish's effective number of respondents, from the weights alone (not the values): an
    # estimate cannot rest on more interviews than the weighted respondents
    c_w = c if value is None else _ratio_parts(Y[:, :1], design, inside, None)[1]
    kish_den = float((design.fpc[design.stratum] * c_w * c_w).sum())
    n_kish = 1.0 / kish_den if kish_den > 0 else np.inf
    n_eff = _effective_n(R, V, n_kish, cap, inside.sum())
    cases = (Y > 0).sum(axis=0)
    df = np.full(Y.shape[1], float(max(design.df, 1)))
    if value is not None:  # a money share's variance rests on its cases' values
        df = np.where(cases > 0, np.minimum(2.0 * cases, df), df)
    if method == "kg" and design.respondents > 1:  # Korn & Graubard's df adjustment
        t_n = stats.t.ppf(1 - ALPHA / 2, design.respondents - 1)
        n_eff = n_eff * (t_n / stats.t.ppf(1 - ALPHA / 2, df)) ** 2
    low, high = interval(R, n_eff, method, df)
    out = Estimate(R, low, high, np.sqrt(V), n_eff, n_kish, int(inside.sum()), cases, df, T)
    return out.first() if one else out


def _group_sums(design: Design, a: np.ndarray) -> np.ndarray:
    groups = int(design.group.max()) + 1 if design.respondents else 0
    return np.bincount(design.group, weights=a, minlength=groups)


def _ratio_parts(
    Y: np.ndarray, design: Design, value: np.ndarray | None, totals: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Estimate R (K,), linearisation weights c (n,), group estimates R_g (G, K), total T."""
    a = design.weight if value is None else design.weight * value
    A = _group_sums(design, a)
    totals = _group_sums(design, design.weight) if totals is None else np.asarray(totals, float)
    T = float(totals.sum())
    onehot = np.zeros((len(A), len(a)))
    onehot[design.group, np.arange(len(a))] = 1.0
    Rg = np.divide(
        onehot @ (a[:, None] * Y),
        A[:, None],
        out=np.zeros((len(A), Y.shape[1])),
        where=A[:, None] > 0,
    )
    share = totals / T if T > 0 else np.zeros_like(totals)
    c = share[design.group] * a / np.where(A > 0, A, 1.0)[design.group]
    return np.clip(share @ Rg, 0.0, 1.0), c, Rg, T


def _variance(
    Y: np.ndarray,
    design: Design,
    value: np.ndarray | None,
    c: np.ndarray,
    Rg: np.ndarray,
    inside: np.ndarray,
    variance: str,
) -> np.ndarray:
    """Per-stratum variance (S, K), see the module notes:

        V_s = (1 − f_s) r_s/(r_s − 1) [R_s (1 − R_s) Σ c_i² + (R_s − R_g)² Σ (c_i − c̄_s)²],

    ``R_s`` the stratum's own (value-weighted) share; with ``variance="binomial"`` its
    population's share ``R_g`` when the stratum's respondents (in the domain) all say the same
    or it has one of them. ``variance="plugin"`` is the plain linearisation
    ``(1 − f_s) r_s/(r_s − 1) Σ (u_i − ū_s)²``, ``u_i = c_i (y_i − R_g)``.
    """
    onehot = design.onehot()
    r = design.per_stratum
    scale = design.fpc * np.divide(r, r - 1, out=np.zeros_like(r), where=r > 1)
    if variance == "plugin":
        u = c[:, None] * (Y - Rg[design.group])
        s1, s2 = onehot @ u, onehot @ (u * u)
        mean = np.divide(s1, r[:, None], out=np.zeros_like(s1), where=r[:, None] > 0)
        return scale[:, None] * np.maximum(s2 - r[:, None] * mean * mean, 0.0)
    if variance != "binomial":
        raise ValueError(f"variance must be 'binomial' or 'plugin', got {variance!r}")
    a = design.weight if value is None else design.weight * value
    A_s = onehot @ a
    R_s = np.divide(
        onehot @ (a[:, None] * Y), A_s[:, None], out=np.zeros((len(r), Y.shape[1])),
        where=A_s[:, None] > 0,
    )  # fmt: skip
    group_of = np.zeros(len(r), dtype=int)
    group_of[design.stratum] = design.group
    prior = Rg[group_of]
    y_s, r_in = onehot @ Y, (onehot @ inside)[:, None]
    degenerate = ((y_s == 0) | (y_s == r_in) | (r_in == 1)) & (r_in > 0)
    R_s = np.clip(np.where(degenerate, prior, R_s), 0.0, 1.0)
    c2 = onehot @ (c * c)
    cbar = np.divide(onehot @ c, r, out=np.zeros_like(r), where=r > 0)
    spread = np.maximum(c2 - r * cbar * cbar, 0.0)
    # a stratum of one respondent: the binomial part alone, without the r/(r-1) factor
    scale = np.where(r == 1, design.fpc, scale)
    return scale[:, None] * (R_s * (1 - R_s) * c2[:, None] + (R_s - prior) ** 2 * spread[:, None])


def _effective_n(
    R: np.ndarray, V: np.ndarray, n_kish: float, cap: str | None, respondents: float
) -> np.ndarray:
    """``R(1−R)/V``; Kish's n where that is undefined (R at 0 or 1, V = 0); then capped."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_design = np.where(V > 0, R * (1 - R) / V, np.inf)
    edge = (R <= 0) | (R >= 1) | ~np.isfinite(n_design)
    n_eff = np.where(edge, n_kish, n_design)
    if cap == "kish":
        return np.minimum(n_eff, n_kish)
    if cap == "n":
        return np.minimum(n_eff, respondents)
    if cap is not None:
        raise ValueError(f"cap must be 'kish', 'n' or None, got {cap!r}")
    return n_eff


def interval(
    p: np.ndarray,
    n_eff: np.ndarray,
    method: str = "wilson",
    df: np.ndarray | float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """95% interval for shares ``p`` observed on (fractional) effective sample sizes ``n_eff``.

    ``wilson``: Wilson's score interval (``statsmodels.stats.proportion.proportion_confint``);
    ``wilson_t``: the same formula with the normal quantile replaced by Student's ``t`` on
    ``df``; ``kg``: Clopper–Pearson on ``x = p·n_eff`` of ``n_eff`` (Korn & Graubard 1998,
    statsmodels' ``"beta"``). An estimate of 0 has lower bound exactly 0, of 1 upper bound
    exactly 1; an infinite ``n_eff`` (a census) gives the point; a zero or undefined
    ``n_eff`` gives [0, 1].

    Examples
    --------
    Newcombe (1998), *Stat Med* 17:857, Table I: 81/263, Wilson 0.2553 to 0.3662.

    >>> [round(float(x[0]), 4) for x in interval(np.array([81 / 263]), np.array([263.0]))]
    [0.2553, 0.3662]
    """
    p = np.atleast_1d(np.asarray(p, float))
    n_eff = np.broadcast_to(np.asarray(n_eff, float), p.shape)
    if method not in ("wilson", "wilson_t", "kg"):
        raise ValueError(f"method must be 'wilson', 'wilson_t' or 'kg', got {method!r}")
    low, high = p.copy(), p.copy()
    ok = np.isfinite(n_eff) & (n_eff > 0)
    if ok.any():
        q, n = p[ok], n_eff[ok]
        if method == "wilson_t":
            d = np.broadcast_to(np.asarray(np.inf if df is None else df, float), p.shape)[ok]
            low[ok], high[ok] = _wilson(q, n, stats.t.ppf(1 - ALPHA / 2, np.maximum(d, 1.0)))
        else:
            sm = "beta" if method == "kg" else "wilson"
            lo, hi = proportion_confint(q * n, n, alpha=ALPHA, method=sm)
            low[ok], high[ok] = np.asarray(lo, float), np.asarray(hi, float)
    bad = ~(n_eff > 0)
    low[bad], high[bad] = 0.0, 1.0
    low = np.where(p <= 0, 0.0, np.minimum(low, p))  # exact zeros stay exact
    high = np.where(p >= 1, 1.0, np.maximum(high, p))
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


def _wilson(p: np.ndarray, n: np.ndarray, crit: np.ndarray | float) -> tuple[np.ndarray, ...]:
    """Wilson's score interval with the critical value ``crit``."""
    c2 = crit * crit
    denom = 1 + c2 / n
    centre = (p + c2 / (2 * n)) / denom
    half = crit * np.sqrt(p * (1 - p) / n + c2 / (4 * n * n)) / denom
    return centre - half, centre + half


# ------------------------------------------------------------------ one share at a time
@dataclass(frozen=True)
class Share:
    """A weighted share with its interval and the effective sample size behind it."""

    share: float
    low: float
    high: float
    n_eff: float


def wilson(p: float, n: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on ``n`` (possibly fractional) cases.

    Examples
    --------
    >>> [round(x, 4) for x in wilson(0.5, 8)]
    [0.2152, 0.7848]
    """
    if not np.isfinite(p):
        return 0.0, 1.0
    low, high = interval(np.array([p]), np.array([float(n)]))
    return float(low[0]), float(high[0])


def stratified_share(
    y: np.ndarray, stratum: np.ndarray, weight_of: np.ndarray, size_of: np.ndarray
) -> Share:
    """Weighted share of ``y`` (0/1 per respondent) with its 95% interval (:func:`estimate`).

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
    stratum = np.asarray(stratum)
    r = np.bincount(stratum, minlength=len(weight_of)).astype(float)
    weight = (np.asarray(weight_of, float) / r)[stratum]
    design = Design(stratum, np.asarray(size_of, float), weight, np.zeros(len(stratum), int))
    e = estimate(np.asarray(y, float), design)
    return Share(float(e.share), float(e.low), float(e.high), float(e.n_eff))
