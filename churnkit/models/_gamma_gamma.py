"""Gamma-Gamma model of spend per purchase (Fader & Hardie 2013) and expected revenue.

Reference: P. S. Fader and B. G. S. Hardie (2013), "The Gamma-Gamma Model of Monetary Value",
http://brucehardie.com/notes/025/. The spend of a customer's purchases is Gamma(p, nu) with
``nu ~ Gamma(q, gamma)`` across customers; the model sees each repeat customer's number of
repeat purchases ``x`` and their mean spend ``m``. We call gamma ``v`` (as lifetimes does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from churnkit.core._errors import ChurnkitError
from churnkit.models._bgnbd import BGNBD
from churnkit.models._btyd import (
    Columns,
    check_horizon,
    check_penalizer,
    checked_params,
    maximize,
    rfm_columns,
)

_PARAMS = ("p", "q", "v")


class GammaGamma:
    """Gamma-Gamma model: what a customer's purchases are worth on average.

    Fitted on repeat customers only (``frequency > 0``): their mean repeat spend
    ``monetary_value`` is informative; one-time buyers have none, so they are excluded from
    the fit and counted in ``n_excluded_``. Spend must be independent of purchase frequency
    for the model to hold (check the correlation before relying on it).

    Parameters
    ----------
    penalizer : float, default 0.0
        Weight of an L2 penalty ``penalizer * (p² + q² + v²)`` added to the mean negative
        log-likelihood per customer.

    Attributes
    ----------
    params_ : dict
        Fitted ``p, q, v`` (``v`` is the paper's gamma, in money units).
    log_likelihood_ : float
        Total log-likelihood of the fitted repeat customers (without the penalty).
    n_customers_ : int
        Repeat customers the model was fitted on.
    n_excluded_ : int
        Customers left out of the fit because their frequency is 0.

    Examples
    --------
    >>> from churnkit import GammaGamma
    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    >>> round(gg.conditional_expected_average_value(frequency=2, monetary_value=22.35), 2)
    24.66
    >>> round(gg.population_mean_value(), 2)  # what a one-time buyer is expected to spend
    35.22
    """

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    @classmethod
    def from_params(cls, p: float, q: float, v: float) -> GammaGamma:
        """A model with known parameters (e.g. published ones), ready to predict.

        Examples
        --------
        >>> GammaGamma.from_params(p=6.25, q=3.74, v=15.44).params_["q"]
        3.74
        """
        model = cls()
        model.params_ = checked_params({"p": p, "q": q, "v": v}, "Gamma-Gamma")
        return model

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"GammaGamma(penalizer={self.penalizer})"
        shown = ", ".join(f"{k}={x:.4g}" for k, x in self.params_.items())
        return f"GammaGamma({shown})"

    def fit(self, frequency: Any, monetary_value: Any) -> GammaGamma:
        """Fit ``p, q, v`` by maximum likelihood on the customers with ``frequency > 0``.

        Parameters
        ----------
        frequency, monetary_value : array-like
            One value per customer, e.g. the columns of :func:`churnkit.rfm_summary`;
            ``monetary_value`` is the mean revenue of the repeat purchases and must be > 0
            where ``frequency > 0``.

        Returns
        -------
        GammaGamma
            ``self``, fitted.

        Examples
        --------
        >>> gg = GammaGamma().fit(s["frequency"], s["monetary_value"])  # doctest: +SKIP
        """
        penalizer = check_penalizer(self.penalizer)
        cols = _spend_columns(frequency, monetary_value)
        repeat = cols["frequency"].ravel() > 0
        x = cols["frequency"].ravel()[repeat]
        m = cols["monetary_value"].ravel()[repeat]
        if x.size < 2:
            raise ChurnkitError(
                f"Gamma-Gamma needs at least 2 customers with repeat purchases to fit; got "
                f"{x.size}. Use a later cutoff or a longer history."
            )

        # start at q = 2 with v set so that the population mean p·v/(q-1) is the sample mean
        mean = float(np.mean(m))
        params = maximize(
            lambda params: _loglik(params, x, m),
            x.size,
            penalizer,
            [(1.0, 2.0, mean), (5.0, 5.0, mean)],
            "Gamma-Gamma",
        )
        self.params_ = dict(zip(_PARAMS, params.tolist(), strict=True))
        self.log_likelihood_ = float(_loglik(params, x, m)[0])
        self.n_customers_ = int(x.size)
        self.n_excluded_ = int(repeat.size - x.size)
        return self

    def log_likelihood(self, frequency: Any, monetary_value: Any) -> float:
        """Total log-likelihood of the repeat customers' mean spend at ``params_``.

        Examples
        --------
        >>> round(GammaGamma.from_params(6.25, 3.74, 15.44).log_likelihood([2], [22.35]), 3)
        -3.551
        """
        cols = _spend_columns(frequency, monetary_value)
        repeat = cols["frequency"].ravel() > 0
        x = cols["frequency"].ravel()[repeat]
        m = cols["monetary_value"].ravel()[repeat]
        return float(_loglik(np.array(self._params()), x, m)[0])

    def population_mean_value(self) -> float:
        """E[M] = p·v/(q-1): the expected spend per purchase of a customer we know nothing of.

        Examples
        --------
        >>> round(GammaGamma.from_params(6.25, 3.74, 15.44).population_mean_value(), 2)
        35.22
        """
        p, q, v = self._params()
        if q <= 1:
            raise ChurnkitError(
                f"the population mean spend p·v/(q-1) is infinite because q = {q:.4g} <= 1 "
                "(very heavy-tailed spend); refit with outliers checked or a penalizer."
            )
        return p * v / (q - 1)

    def conditional_expected_average_value(
        self, frequency: Any, monetary_value: Any
    ) -> np.ndarray | float:
        """E[spend per purchase | x repeat purchases with mean spend m] = p(v + x·m) / (p·x + q - 1).

        A weighted average of the population mean ``p·v/(q-1)`` and the customer's own mean
        ``m``, the weight on ``m`` growing with ``x``. One-time buyers (x = 0) get the
        population mean whatever their ``monetary_value`` says.

        Examples
        --------
        >>> gg = GammaGamma.from_params(6.25, 3.74, 15.44)
        >>> gg.conditional_expected_average_value([0, 2], [0, 22.35]).round(2).tolist()
        [35.22, 24.66]
        """
        p, q, v = self._params()
        cols = _spend_columns(frequency, monetary_value)
        x, m = cols["frequency"], cols["monetary_value"]
        denominator = p * x + q - 1
        cols.require(
            denominator > 0,
            f"the expected spend is infinite because p·frequency + q - 1 <= 0 (q = {q:.4g})",
            "frequency",
            fix="fitted q <= 1 means very heavy-tailed spend; check outliers or set a penalizer",
        )
        return cols.output(p * (v + x * m) / denominator)

    def _params(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise ChurnkitError(
                "this GammaGamma is not fitted yet; call fit(frequency, monetary_value) or "
                "GammaGamma.from_params(p, q, v) first."
            )
        params = self.params_
        return params["p"], params["q"], params["v"]


def expected_revenue(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    horizon: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
) -> np.ndarray | float:
    """Expected revenue in (T, T + horizon]: expected purchases × expected spend per purchase.

    Not discounted. One-time buyers get the population mean spend ``E[M] = p·v/(q-1)`` as
    their expected spend per purchase.

    Parameters
    ----------
    bgnbd : BGNBD
        A fitted (or :meth:`BGNBD.from_params`) purchase model.
    gamma_gamma : GammaGamma
        A fitted spend model.
    horizon : float or array-like
        Window length in the BG/NBD summary's time unit (e.g. 52 for a year in weeks).
    frequency, recency, T, monetary_value : array-like
        The customers' summary at the cutoff, from :func:`churnkit.rfm_summary`.

    Examples
    --------
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    >>> round(expected_revenue(bg, gg, 39, 2, 30.43, 38.86, 22.35), 2)
    30.24
    """
    check_horizon(horizon, "horizon")
    purchases = bgnbd.expected_purchases(horizon, frequency, recency, T)
    value = gamma_gamma.conditional_expected_average_value(frequency, monetary_value)
    return purchases * value


def _spend_columns(frequency: Any, monetary_value: Any) -> Columns:
    cols = rfm_columns(frequency=frequency, monetary_value=monetary_value)
    cols.require(
        (cols["frequency"] == 0) | (cols["monetary_value"] > 0),
        "column 'monetary_value' is 0 where 'frequency' > 0 (a repeat customer spends "
        "something; Gamma-Gamma needs positive spend)",
        "frequency",
        "monetary_value",
        fix="drop zero-value repeat customers deliberately, or check the revenue column",
    )
    return cols


def _loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood of mean spends ``m`` over ``x`` purchases and its gradient in (p, q, v).

    Per customer, the density of the mean of x Gamma(p, nu) spends with nu ~ Gamma(q, v):
    ``Γ(px+q) / (Γ(px) Γ(q)) · v^q m^(px-1) x^(px) / (v + x m)^(px+q)``.
    """
    p, q, v = params
    px = p * x
    log_xm = np.log(x * m)
    log_vxm = np.log(v + x * m)
    ll = np.sum(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + px * log_xm
        - np.log(m)
        - (px + q) * log_vxm
    )
    dig = digamma(px + q)
    d_p = np.sum(x * (dig - digamma(px) + log_xm - log_vxm))
    d_q = np.sum(dig - digamma(q) + np.log(v) - log_vxm)
    d_v = np.sum(q / v - (px + q) / (v + x * m))
    return float(ll), np.array([d_p, d_q, d_v])
