"""BG/NBD model of repeat buying (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your Customers' the
Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.
Equation numbers below are the paper's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from churnkit.core._errors import ChurnkitError
from churnkit.models._btyd import (
    check_horizon,
    check_penalizer,
    checked_params,
    maximize,
    rfm_columns,
)

_PARAMS = ("r", "alpha", "a", "b")


class BGNBD:
    """Beta-geometric / NBD model: how often customers buy and when they silently leave.

    While alive a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
    after each *repeat* purchase they leave for good with probability ``p ~ Beta(a, b)``.
    Input is one row per customer: ``frequency`` (repeat purchase occasions), ``recency``
    (first to last occasion) and ``T`` (first occasion to the cutoff), in one time unit, as
    made by :func:`churnkit.rfm_summary`. ``alpha`` is in that time unit; ``r, a, b`` are not.

    Parameters
    ----------
    penalizer : float, default 0.0
        Weight of an L2 penalty ``penalizer * (r² + alpha² + a² + b²)`` added to the mean
        negative log-likelihood per customer; a small value (0.001) stabilises fits on tiny
        or degenerate data at the cost of shrinking the parameters.

    Attributes
    ----------
    params_ : dict
        Fitted ``r, alpha, a, b``.
    log_likelihood_ : float
        Total log-likelihood of the fitted data at ``params_`` (without the penalty).
    n_customers_ : int
        Customers the model was fitted on.

    Notes
    -----
    For churn use :meth:`p_no_purchase`, never ``1 - p_alive``: in BG/NBD a customer can only
    leave right after a repeat purchase, so ``p_alive`` is exactly 1 for every one-time buyer
    however long ago they bought, which makes it useless (AUC < 0.5) on mixed populations.

    Examples
    --------
    >>> from churnkit import BGNBD
    >>> model = BGNBD().fit(frequency=[0, 2, 5, 1], recency=[0, 30.4, 35.0, 2.0],
    ...                     T=[38.9, 38.9, 36.0, 20.0])  # doctest: +SKIP
    >>> model = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> round(model.expected_purchases(39, frequency=2, recency=30.43, T=38.86), 3)
    1.226
    >>> round(model.p_no_purchase(13, frequency=0, recency=0, T=38.86), 3)
    0.938
    """

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    @classmethod
    def from_params(cls, r: float, alpha: float, a: float, b: float) -> BGNBD:
        """A model with known parameters (e.g. published ones), ready to predict.

        Examples
        --------
        >>> BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426).params_["a"]
        0.793
        """
        model = cls()
        model.params_ = checked_params({"r": r, "alpha": alpha, "a": a, "b": b}, "BG/NBD")
        return model

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"BGNBD(penalizer={self.penalizer})"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"BGNBD({shown})"

    # -- fitting -------------------------------------------------------------------------
    def fit(self, frequency: Any, recency: Any, T: Any) -> BGNBD:
        """Fit ``r, alpha, a, b`` by maximum likelihood (eq. 6).

        Parameters
        ----------
        frequency, recency, T : array-like
            One value per customer, e.g. the columns of :func:`churnkit.rfm_summary`.

        Returns
        -------
        BGNBD
            ``self``, fitted.

        Examples
        --------
        >>> s = churnkit.rfm_summary(log.purchases(at), at, time_unit_days=7)  # doctest: +SKIP
        >>> BGNBD().fit(s["frequency"], s["recency"], s["T"]).params_  # doctest: +SKIP
        """
        penalizer = check_penalizer(self.penalizer)
        cols = rfm_columns(frequency=frequency, recency=recency, T=T)
        data = _Summary(cols["frequency"], cols["recency"], cols["T"])
        if data.n == 0 or not np.any(data.x > 0):
            raise ChurnkitError(
                f"BG/NBD needs customers with repeat purchases to fit; got {data.n} customers "
                f"and none with frequency > 0. Use a later cutoff or a longer history."
            )

        # start from r = 1 and the pooled purchase rate (E[lambda] = r / alpha), which puts
        # alpha in the data's time unit whatever that unit is
        alpha0 = float(np.sum(data.T) / max(np.sum(data.x), 1.0))
        starts = [(1.0, alpha0, 1.0, 1.0), (0.25, alpha0, 0.5, 3.0)]
        params = maximize(data.loglik, data.n, penalizer, starts, "BG/NBD")
        self.params_ = dict(zip(_PARAMS, params.tolist(), strict=True))
        self.log_likelihood_ = float(data.loglik(params)[0])
        self.n_customers_ = data.n
        return self

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> float:
        """Total log-likelihood of a summary at ``params_`` (eq. 6), without any penalty.

        Examples
        --------
        >>> m = BGNBD.from_params(0.243, 4.414, 0.793, 2.426)
        >>> round(m.log_likelihood([2], [30.43], [38.86]), 3)
        -9.459
        """
        cols = rfm_columns(frequency=frequency, recency=recency, T=T)
        data = _Summary(cols["frequency"], cols["recency"], cols["T"])
        return float(data.loglik(self._params())[0])

    # -- predictions -----------------------------------------------------------------------
    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray | float:
        """P(customer is still alive at T | frequency, recency, T).

        ``1 / (1 + [x > 0] · a / (b + x - 1) · ((alpha + T) / (alpha + t_x))^(r + x))``.
        It is 1 for every customer without repeat purchases (the model lets customers leave
        only after a repeat purchase), so ``1 - p_alive`` is *not* a churn probability; use
        :meth:`p_no_purchase`.

        Examples
        --------
        >>> m = BGNBD.from_params(0.243, 4.414, 0.793, 2.426)
        >>> m.p_alive(0, 0, 38.86), round(m.p_alive(2, 5.0, 38.86), 3)
        (1.0, 0.124)
        """
        cols = rfm_columns(frequency=frequency, recency=recency, T=T)
        return cols.output(self._p_alive(cols["frequency"], cols["recency"], cols["T"]))

    def p_no_purchase(self, h: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray | float:
        """P(no purchase in (T, T + h] | frequency, recency, T): the churn probability at h.

        Derivation. For one customer with rate ``lambda`` and dropout probability ``p``, the
        observed history (x repeat purchases, the last at t_x, watched until T) has likelihood
        ``(1-p)^x lambda^x e^(-lambda T) + [x>0] p (1-p)^(x-1) lambda^x e^(-lambda t_x)``:
        alive at T, or dead right after the x-th purchase. Dropout happens only right after a
        purchase, so "no purchase in (T, T+h]" is "dead already, or alive and silent for h":
        the joint probability of the history and a silent window is the same expression
        with ``e^(-lambda (T+h))`` in the first term. Integrating both over
        ``Gamma(r, alpha)`` and ``Beta(a, b)``, with

        ``A(s) = B(a, b+x)/B(a, b) · Γ(r+x) alpha^r / Γ(r) / (alpha + s)^(r+x)``,
        ``D = [x>0] B(a+1, b+x-1)/B(a, b) · Γ(r+x) alpha^r / Γ(r) / (alpha + t_x)^(r+x)``,

        gives ``P = (A(T + h) + D) / (A(T) + D)``, computed in log space (log-sum-exp).
        It is 1 at h = 0, falls with h and tends to ``1 - p_alive`` as h grows; for a
        one-time buyer it is ``((alpha + T) / (alpha + T + h))^r``, informative where
        ``p_alive`` is stuck at 1. Never use ``1 - p_alive`` as a churn probability.

        Parameters
        ----------
        h : float or array-like
            Window length, in the time unit of the fitted summary.
        frequency, recency, T : array-like
            The customers' summary at the cutoff.

        Examples
        --------
        >>> m = BGNBD.from_params(0.243, 4.414, 0.793, 2.426)
        >>> round(m.p_no_purchase(13, frequency=0, recency=0, T=38.86), 3)
        0.938
        """
        r, alpha, a, b = self._params()
        h = check_horizon(h, "h")
        cols = rfm_columns(frequency=frequency, recency=recency, T=T, h=h)
        x, t_x, T_, h = cols["frequency"], cols["recency"], cols["T"], cols["h"]
        xm1 = np.maximum(x, 1.0) - 1.0
        with np.errstate(divide="ignore"):
            log_d = np.where(x > 0, betaln(a + 1, b + xm1) - (r + x) * np.log(alpha + t_x), -np.inf)
        log_a_now = betaln(a, b + x) - (r + x) * np.log(alpha + T_)
        log_a_later = betaln(a, b + x) - (r + x) * np.log(alpha + T_ + h)
        return cols.output(
            np.exp(np.logaddexp(log_a_later, log_d) - np.logaddexp(log_a_now, log_d))
        )

    def expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray | float:
        """E[purchases in (T, T + t] | frequency, recency, T] (eq. 10).

        Computed with Euler's transformation of the Gauss hypergeometric function,
        ``((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) =
        (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)`` with ``z = t / (alpha+T+t)``, whose first
        two arguments do not grow with x, so frequent buyers do not overflow (the "#NUM!"
        problem of Fader & Hardie's 2013 note). Undefined at exactly ``a == 1``.

        Examples
        --------
        >>> m = BGNBD.from_params(0.243, 4.414, 0.793, 2.426)
        >>> round(m.expected_purchases(39, frequency=2, recency=30.43, T=38.86), 3)
        1.226
        """
        t = check_horizon(t, "t")
        cols = rfm_columns(frequency=frequency, recency=recency, T=T, t=t)
        x, t_x, T_ = cols["frequency"], cols["recency"], cols["T"]
        return cols.output(self._purchases_if_alive(cols["t"], x, T_) * self._p_alive(x, t_x, T_))

    def unconditional_expected_purchases(self, t: Any) -> np.ndarray | float:
        """E[X(t)]: expected repeat purchases in (0, t] of a new customer (eq. 7).

        Examples
        --------
        >>> m = BGNBD.from_params(0.243, 4.414, 0.793, 2.426)
        >>> round(m.unconditional_expected_purchases(78), 2)
        1.86
        """
        t = check_horizon(t, "t")
        scalar = t.ndim == 0
        values = self._purchases_if_alive(t, np.zeros_like(t), np.zeros_like(t))
        return float(values) if scalar else values

    # -- helpers ----------------------------------------------------------------------------
    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise ChurnkitError(
                "this BGNBD is not fitted yet; call fit(frequency, recency, T) or "
                "BGNBD.from_params(r, alpha, a, b) first."
            )
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._params()
        xm1 = np.maximum(x, 1.0) - 1.0
        log_odds_dead = (
            np.log(a) - np.log(b + xm1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, expit(-log_odds_dead), 1.0)

    def _purchases_if_alive(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Expected purchases in (T, T+t] of a customer alive at T with x repeat purchases.

        The numerator of eq. 10; with x = 0 and T = 0 it is eq. 7.
        """
        r, alpha, a, b = self._params()
        z = t / (alpha + T + t)
        tail = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * (1 - tail)


class _Summary:
    """A summary prepared for fast likelihood evaluation.

    Terms that depend on the frequency alone (gamma and beta functions) are evaluated once per
    distinct frequency, not once per customer: a million customers have a few hundred distinct
    frequencies, so each evaluation costs a handful of array passes.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
        self.x, self.t_x, self.T = x.ravel(), t_x.ravel(), T.ravel()
        self.n = self.x.size
        self.xu, self.inv, self.count = np.unique(self.x, return_inverse=True, return_counts=True)
        self.repeat = self.x > 0

    def loglik(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Total log-likelihood (eq. 6) and its gradient w.r.t. ``(r, alpha, a, b)``."""
        r, alpha, a, b = params
        xu, inv, count = self.xu, self.inv, self.count
        xm1 = np.maximum(xu, 1.0) - 1.0  # only used where x > 0
        # per distinct frequency
        const = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
        beta_alive = betaln(a, b + xu)
        beta_dead = betaln(a + 1, b + xm1)
        # per customer: log of the "alive at T" and "dead after the last purchase" terms
        rx = (r + xu)[inv]
        log_at = np.log(alpha + self.T)
        log_atx = np.log(alpha + self.t_x)
        term_alive = beta_alive[inv] - rx * log_at
        term_dead = np.where(self.repeat, beta_dead[inv] - rx * log_atx, -np.inf)
        top = np.maximum(term_alive, term_dead)
        e_alive = np.exp(term_alive - top)
        total = e_alive + np.exp(term_dead - top)
        ll = float(count @ const + np.sum(top + np.log(total)))

        w_alive = e_alive / total  # posterior weight of "alive at T"
        w_dead = 1.0 - w_alive
        w_alive_u = np.bincount(inv, weights=w_alive, minlength=xu.size)
        w_dead_u = count - w_alive_u
        dig_abx = digamma(a + b + xu)
        d_r = count @ (digamma(r + xu) - digamma(r) + np.log(alpha)) - np.sum(
            w_alive * log_at + w_dead * log_atx
        )
        d_alpha = self.n * r / alpha - np.sum(
            rx * (w_alive / (alpha + self.T) + w_dead / (alpha + self.t_x))
        )
        d_a = (
            w_alive_u @ (digamma(a) - dig_abx)
            + w_dead_u @ (digamma(a + 1) - dig_abx)
            - self.n * (digamma(a) - digamma(a + b))
        )
        d_b = (
            w_alive_u @ (digamma(b + xu) - dig_abx)
            + w_dead_u @ np.where(xu > 0, digamma(b + xm1) - dig_abx, 0.0)
            - self.n * (digamma(b) - digamma(a + b))
        )
        return ll, np.array([d_r, d_alpha, d_a, d_b])
