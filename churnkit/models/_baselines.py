"""Baselines the churn model must beat, and BG/NBD + Gamma-Gamma value per customer.

- ``recency``: a logistic regression on log(1 + days since the last purchase).
- ``rfm_logit``: a logistic regression on log(1 + recency, frequency, mean spend).
- ``bgnbd``: BG/NBD's probability of no purchase in the next ``horizon`` days, fitted
  without labels on the history up to the cutoff (:func:`btyd_scores`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError

if TYPE_CHECKING:
    from churnkit.io._transaction_log import TransactionLog

__all__ = ["RECENCY", "RFM", "LogitBaseline", "bgnbd_curves", "btyd_scores", "fit_btyd"]

RECENCY: tuple[str, ...] = ("recency_days",)
RFM: tuple[str, ...] = ("recency_days", "frequency", "monetary_mean")
# BG/NBD is fitted in weeks: parameters of the usual size, faster and steadier optimisation
_WEEK = 7.0


class LogitBaseline:
    """Logistic regression of ``churned`` on log(1 + x) of a few feature columns.

    Parameters
    ----------
    columns : tuple of str
        Feature columns (non-negative), e.g. :data:`RECENCY` or :data:`RFM`.

    Examples
    --------
    >>> f = pd.DataFrame({"recency_days": [1, 5, 40, 90, 3, 60], "churned": [0, 0, 1, 1, 0, 1]})
    >>> base = LogitBaseline(RECENCY).fit(f)
    >>> bool(base.predict_proba(f)[2] > base.predict_proba(f)[0])
    True
    """

    def __init__(self, columns: tuple[str, ...] = RECENCY) -> None:
        self.columns = columns

    def _x(self, features: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise ChurnkitError(f"the baseline needs feature column(s) {missing}.")
        x = features[list(self.columns)].to_numpy(dtype=float)
        if np.isnan(x).any() or (x < 0).any():
            col = self.columns[int(np.argmax(np.isnan(x).any(0) | (x < 0).any(0)))]
            raise ChurnkitError(
                f"baseline column {col!r} holds missing or negative values; it must be a "
                "count, a number of days or an amount."
            )
        return np.log1p(x)

    def fit(self, features: pd.DataFrame) -> LogitBaseline:
        """Fit on labelled rows (``churned`` 0/1) of a feature table."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = features["churned"].to_numpy(dtype=float)
        if np.isnan(y).any() or np.unique(y).size < 2:
            raise ChurnkitError(
                "the baseline needs labelled rows of both classes; drop rows whose churned "
                "is NaN and use cutoffs with churners and stayers."
            )
        self.pipeline_ = make_pipeline(StandardScaler(), LogisticRegression()).fit(
            self._x(features), y.astype(int)
        )
        return self

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Churn probability of each row."""
        if not hasattr(self, "pipeline_"):
            raise ChurnkitError("this LogitBaseline is not fitted yet; call fit(...) first.")
        return self.pipeline_.predict_proba(self._x(features))[:, 1]


def fit_btyd(log: TransactionLog, at: Any) -> tuple[pd.DataFrame, Any, Any]:
    """BG/NBD and Gamma-Gamma fitted on the purchases up to ``at`` (weeks as the time unit).

    Uses only rows with ``order_date <= at``. Gamma-Gamma is fitted on repeat buyers with a
    positive mean spend, as the model requires.

    Returns
    -------
    tuple
        ``(rfm, bgnbd, gamma_gamma)``: the customers' summary (indexed by ``customer_id``,
        in weeks) and the two fitted models.
    """
    from churnkit.features._rfm_summary import rfm_summary
    from churnkit.models._bgnbd import BGNBD
    from churnkit.models._gamma_gamma import GammaGamma

    at = pd.Timestamp(at).normalize()
    rfm = rfm_summary(log.purchases(at), at, time_unit_days=_WEEK)
    f, r, t, m = (
        rfm[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value")
    )
    bg = BGNBD().fit(f, r, t)
    spenders = (f > 0) & (m > 0)
    if spenders.sum() < 10:
        raise ChurnkitError(
            f"only {int(spenders.sum())} repeat buyers with a positive spend by {at.date()}; "
            "Gamma-Gamma needs more history. Use a later cutoff."
        )
    return rfm, bg, GammaGamma().fit(f[spenders], m[spenders])


def bgnbd_curves(log: TransactionLog, at: Any, days: Any) -> pd.DataFrame:
    """BG/NBD's P(no purchase in ``(at, at + d]``) per customer for each ``d`` in ``days``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one column per day count.
    """
    rfm, bg, _ = fit_btyd(log, at)
    f, r, t = (rfm[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    d = np.asarray(days, dtype=float).reshape(-1)
    values = np.column_stack([bg.p_no_purchase(x / _WEEK, f, r, t) for x in d])
    return pd.DataFrame(values, index=rfm.index, columns=d)


def btyd_scores(log: TransactionLog, at: Any, horizon: int, value_days: int = 365) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma fitted on the purchases up to ``at``, scored at ``at``.

    One-time buyers get Gamma-Gamma's population mean spend per purchase. The churn
    probability is BG/NBD's P(no purchase in the window), never ``1 - P(alive)`` (which is 0
    for every one-time buyer).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``p_no_purchase`` (no purchase in ``(at, at + horizon]``)
        and ``expected_revenue`` (expected revenue in the next ``value_days`` days).

    Examples
    --------
    >>> from churnkit.datasets import make_shop  # doctest: +SKIP
    >>> from churnkit import load_orders  # doctest: +SKIP
    >>> shop = make_shop(n_customers=500, seed=0)  # doctest: +SKIP
    >>> btyd_scores(load_orders(shop.orders), "2024-06-30", 90).columns.tolist()  # doctest: +SKIP
    ['p_no_purchase', 'expected_revenue']
    """
    from churnkit.models._gamma_gamma import expected_revenue

    rfm, bg, gg = fit_btyd(log, at)
    f, r, t, m = (
        rfm[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value")
    )
    return pd.DataFrame(
        {
            "p_no_purchase": bg.p_no_purchase(horizon / _WEEK, f, r, t),
            "expected_revenue": expected_revenue(bg, gg, value_days / _WEEK, f, r, t, m),
        },
        index=rfm.index,
    )
