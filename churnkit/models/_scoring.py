"""Scoring customers with a fitted ChurnModel: probability, timing, value at risk, drivers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError

if TYPE_CHECKING:
    from churnkit.io._transaction_log import TransactionLog
    from churnkit.models._churn_model import ChurnModel

__all__ = ["POPULATION_CODES", "SCORE_COLUMNS", "score_customers"]

# model population -> value of build_features' ``population`` column
POPULATION_CODES: dict[str, str] = {"first_time": "first_time", "loyal": "repeat"}
# columns of ChurnModel.score, in order (other stages read them by name)
SCORE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "population",
    "segment",
    "p_churn",
    "p_churn_survival",
    "risk_band",
    "expected_days_to_next_order",
    "expected_revenue_12m",
    "value_at_risk",
    "driver_1",
    "driver_2",
    "driver_3",
    "drivers",
    "model_version",
    "scored_at",
)


def score_customers(
    model: ChurnModel,
    log: TransactionLog,
    at: Any,
    *,
    drivers: str = "high",
    max_drivers: int = 5_000,
    lang: str = "en",
) -> pd.DataFrame:
    """Every customer of the modelled populations at cutoff ``at`` (see :meth:`ChurnModel.score`)."""
    from churnkit.models._baselines import btyd_scores

    model._check_fitted()
    if drivers not in ("high", "all", "none"):
        raise ChurnkitError(f"drivers must be 'high', 'all' or 'none', got {drivers!r}.")
    at = pd.Timestamp(at).normalize()
    features = model.features(log, [at], labelled=False)
    codes = [POPULATION_CODES[p] for p in model.boosters_]
    covered = features["population"].isin(codes).to_numpy()
    names = {code: name for name, code in POPULATION_CODES.items()}
    excluded = features.loc[~covered, "population"].astype(str).map(names).value_counts()
    features = features[covered].reset_index(drop=True)
    p = model.predict_proba(features)
    lo, hi = model.risk_bands
    value = btyd_scores(log, at, model.horizon)["expected_revenue"]
    out = pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "population": features["population"].astype(str).map(names),
            "segment": features.get("segment", pd.NA),
            "p_churn": p,
            "p_churn_survival": model.predict_survival(features, [model.horizon])[:, 0],
            "risk_band": pd.Categorical(
                np.select([p >= hi, p >= lo], ["high", "medium"], "low"),
                categories=["low", "medium", "high"],
                ordered=True,
            ),
            "expected_days_to_next_order": model._expected_days(features),
            "expected_revenue_12m": features["customer_id"].map(value).to_numpy(dtype=float),
        }
    )
    out["value_at_risk"] = out["p_churn"] * out["expected_revenue_12m"]
    words = _drivers_in_words(model, features, out, drivers, max_drivers, lang)
    out = out.join(words.reindex(out.index))
    out["model_version"] = model.version_
    out["scored_at"] = at
    out = out[list(SCORE_COLUMNS)]
    out.attrs["excluded"] = {str(k): int(v) for k, v in excluded.items()}
    return out


def _drivers_in_words(
    model: ChurnModel,
    features: pd.DataFrame,
    out: pd.DataFrame,
    drivers: str,
    max_drivers: int,
    lang: str,
) -> pd.DataFrame:
    """Drivers in words for the chosen customers (the high band, or all), the most valuable
    ``max_drivers`` of them."""
    from churnkit.models._drivers import phrase_drivers

    chosen = np.zeros(len(out), dtype=bool)
    if drivers != "none":
        chosen = (out["risk_band"] == "high").to_numpy() if drivers == "high" else ~chosen
    if chosen.sum() > max_drivers:
        order = np.argsort(
            -np.where(chosen, out["value_at_risk"].fillna(0), -np.inf), kind="stable"
        )
        chosen = np.zeros(len(out), dtype=bool)
        chosen[order[:max_drivers]] = True
    # more candidates than three: features that read alike are said once
    return phrase_drivers(features, model.drivers(features[chosen], k=6), lang=lang)
