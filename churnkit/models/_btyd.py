"""Shared plumbing of the buy-till-you-die models (BG/NBD, Gamma-Gamma).

Two jobs: turn the per-customer summary columns (``frequency``, ``recency``, ``T``,
``monetary_value``) into checked float arrays with errors that name the column, the first
offending row and its value; and maximise a log-likelihood over log-parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from churnkit.core._errors import ChurnkitError, ConfigError, DataValidationError, plain

# how to build the summary columns right; appended to every data error
_HOW = "build the summary with churnkit.rfm_summary(log.purchases(at), at)"


class Columns:
    """Checked float columns broadcast to one shape, with the row labels of the input.

    ``labels`` are the index of the first pandas Series (so messages show customer ids),
    else positions; ``scalar`` is True when every input was a scalar, so that methods can
    return a ``float`` for a single customer.
    """

    def __init__(self, raw: dict[str, Any]) -> None:
        arrays = {}
        for name, values in raw.items():
            try:
                arrays[name] = np.asarray(values, dtype=float)
            except (TypeError, ValueError) as e:
                raise DataValidationError(
                    f"column {name!r} must be numeric; {e}. Convert it with "
                    f"pd.to_numeric(...) or {_HOW}."
                ) from e
        try:
            broadcast = np.broadcast_arrays(*arrays.values())
        except ValueError as e:
            shapes = {name: a.shape for name, a in arrays.items()}
            raise DataValidationError(
                f"columns {shapes} have different lengths; pass one value per customer "
                "in each (or a single number for all)."
            ) from e
        self.arrays: dict[str, np.ndarray] = dict(zip(arrays, broadcast, strict=True))
        self.shape = broadcast[0].shape
        self.scalar = all(a.ndim == 0 for a in arrays.values())
        self.labels: Sequence[Any] | None = next(
            (
                values.index
                for values in raw.values()
                if isinstance(values, pd.Series) and values.shape == self.shape
            ),
            None,
        )
        for name, a in self.arrays.items():
            self.require(np.isfinite(a), f"column {name!r} has a missing or infinite value", name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def require(self, ok: np.ndarray, problem: str, *names: str, fix: str = _HOW) -> None:
        """Raise naming the first row where ``ok`` is False and the values of ``names``."""
        bad = np.flatnonzero(~np.broadcast_to(ok, self.shape))
        if not bad.size:
            return
        row = int(bad[0])
        label = row if self.labels is None else plain(self.labels[row])
        values = ", ".join(f"{n}={plain(self.arrays[n].reshape(-1)[row])!r}" for n in names)
        raise DataValidationError(
            f"{problem} at index {label!r} ({values}; {bad.size} such rows); {fix}."
        )

    def output(self, values: np.ndarray) -> np.ndarray | float:
        """``float`` when every input was a scalar, else a float array."""
        return float(values) if self.scalar else np.asarray(values, dtype=float)


def rfm_columns(**raw: Any) -> Columns:
    """Check the summary columns that are given (any of frequency, recency, T, monetary_value).

    Rules: finite, non-negative, integer frequency, ``recency <= T``, and ``recency == 0``
    when ``frequency == 0`` (no repeat purchase means no first-to-last span).
    """
    cols = Columns(raw)
    for name in raw:
        cols.require(cols[name] >= 0, f"column {name!r} is negative", name)
    if "frequency" in raw:
        f = cols["frequency"]
        cols.require(
            f == np.round(f),
            "column 'frequency' is not a whole number (it counts repeat purchases)",
            "frequency",
        )
    if "recency" in raw and "T" in raw:
        cols.require(
            cols["recency"] <= cols["T"],
            "column 'recency' is greater than 'T' (recency is first to last purchase, T is "
            "first purchase to the cutoff)",
            "recency",
            "T",
        )
    if "recency" in raw and "frequency" in raw:
        cols.require(
            (cols["frequency"] > 0) | (cols["recency"] == 0),
            "column 'recency' is not 0 where 'frequency' is 0 (a customer without repeat "
            "purchases has no first-to-last span)",
            "frequency",
            "recency",
        )
    return cols


def check_horizon(values: Any, name: str) -> np.ndarray:
    """A non-negative, finite horizon (scalar or array) in the model's time unit."""
    cols = Columns({name: values})
    cols.require(
        cols[name] >= 0, f"{name!r} must be >= 0", name, fix="give a horizon in time units"
    )
    return cols[name]


def check_penalizer(penalizer: Any) -> float:
    """The L2 penalty weight, a finite number >= 0."""
    try:
        value = float(penalizer)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"penalizer must be a number >= 0, got {penalizer!r}") from e
    if not np.isfinite(value) or value < 0:
        raise ConfigError(f"penalizer must be a finite number >= 0, got {penalizer!r}")
    return value


def maximize(
    loglik: Callable[[np.ndarray], tuple[float, np.ndarray]],
    n: int,
    penalizer: float,
    starts: Sequence[Sequence[float]],
    model: str,
) -> np.ndarray:
    """Maximum-likelihood parameters, searched over their logarithms (so they stay > 0).

    ``loglik(params)`` returns the total log-likelihood of ``n`` customers and its gradient.
    The minimised objective is the mean negative log-likelihood plus
    ``penalizer * sum(params**2)``, so its scale does not grow with ``n``. The starts are
    tried in order and the first converged fit is kept; later starts are a fallback for data
    where the first one lands in a flat region, not a routine cost.
    """

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, grad = loglik(params)
        value = -ll / n + penalizer * np.sum(params**2)
        # chain rule for log-parameters: d/dlog(θ) = θ · d/dθ
        return value, (-grad / n + 2 * penalizer * params) * params

    failures = []
    for start in starts:
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            res = minimize(
                objective,
                np.log(np.asarray(start, dtype=float)),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8},
            )
        # L-BFGS-B may stop on a line-search failure at the optimum (flat to machine
        # precision); a vanishing gradient is the criterion that matters
        if np.isfinite(res.fun) and (res.success or np.max(np.abs(res.jac)) < 1e-5):
            return np.exp(res.x)
        failures.append(f"start {np.round(start, 4).tolist()}: {res.message}")
    raise ChurnkitError(
        f"{model} maximum likelihood did not converge ({'; '.join(failures)}). Check that the "
        "summary is in sensible time units (e.g. weeks rather than seconds) and has repeat "
        "buyers, or set a small penalizer (e.g. 0.001)."
    )


def checked_params(values: dict[str, Any], model: str) -> dict[str, float]:
    """Model parameters given by hand: finite numbers > 0."""
    try:
        params = {k: float(v) for k, v in values.items()}
    except (TypeError, ValueError) as e:
        raise ChurnkitError(f"{model} parameters must be numbers, got {values}") from e
    bad = {k: v for k, v in params.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        raise ChurnkitError(f"{model} parameters must be finite and > 0, got {bad}")
    return params
