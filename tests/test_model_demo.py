"""The churn model on the demo shop, against the generator's truth (slow: 20,000 customers).

``make_shop`` knows each customer's true probability of no purchase in a window (the
oracle) and each churner's planted reason, so the model is checked against the ceiling and
its drivers against the causes. Figures printed here are quoted in the issue's closing note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit import feature_descriptions, load_orders
from churnkit.datasets import make_shop
from churnkit.models._baselines import RECENCY, LogitBaseline
from churnkit.models._churn_model import POPULATION_CODES, ChurnModel
from churnkit.models._drivers import DRIVER_GROUPS
from churnkit.models._metrics import expected_calibration_error, roc_auc

pytestmark = pytest.mark.slow
H = 90
TEST = pd.Timestamp("2024-06-30")  # label window ends 2024-09-28, inside the data


@pytest.fixture(scope="module")
def shop():
    return make_shop(n_customers=20_000, seed=0)


@pytest.fixture(scope="module")
def log(shop):
    return load_orders(shop.orders, customers=shop.customers)


def _train_cutoffs(test: pd.Timestamp) -> list[pd.Timestamp]:
    quarters = pd.date_range("2022-09-30", "2024-09-30", freq="QE")
    return [c for c in quarters if c + pd.Timedelta(days=H) <= test]


@pytest.fixture(scope="module")
def fitted(shop, log):
    # fitted on the data as known at the test cutoff: nothing later exists for it
    model = ChurnModel(horizon=H, bonus_ttl_days=shop.bonus_ttl_days, survival=False)
    train = model.features(log.until(TEST), _train_cutoffs(TEST))
    model.fit_features(train)
    test = model.features(log, [TEST])
    return model, train, test, model.predict_proba(test)


def _paired_auc_gap(y, a, b, n_boot=200, seed=0):
    rng = np.random.default_rng(seed)
    gaps = []
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, y.size)
        if 0 < y[idx].sum() < y.size:
            gaps.append(roc_auc(y[idx], a[idx]) - roc_auc(y[idx], b[idx]))
    return np.quantile(gaps, [0.025, 0.975])


# the ceilings, from the one that knows most: who has already left and each customer's purchase
# rate (no model of the orders can know either), then neither (see Shop.p_no_purchase)
ORACLES = {
    "state": {},
    "traits": {"alive_known": False},
    "orders": {"alive_known": False, "rate_known": False},
}


@pytest.fixture(scope="module")
def oracles(shop):
    return {name: shop.p_no_purchase(TEST, H, **kw) for name, kw in ORACLES.items()}


@pytest.mark.parametrize("population", ["first_time", "loyal"])
def test_gbm_against_the_oracle_and_recency(fitted, oracles, population) -> None:
    _, train, test, p = fitted
    at = (test["population"] == POPULATION_CODES[population]).to_numpy()
    y = test["churned"].to_numpy()[at]
    ids = test["customer_id"][at]
    auc = {name: roc_auc(y, o.reindex(ids).to_numpy()) for name, o in oracles.items()}
    code = POPULATION_CODES[population]
    train = train[(train["population"] == code) & train["churned"].notna()]
    recency = LogitBaseline(RECENCY).fit(train).predict_proba(test[at])
    auc_gbm, auc_rec = roc_auc(y, p[at]), roc_auc(y, recency)
    lo, hi = _paired_auc_gap(y, p[at], recency)
    gaps = " ".join(f"{k}={v:.4f} (gap {v - auc_gbm:.4f})" for k, v in auc.items())
    print(
        f"\n{population}: n={at.sum()} base={y.mean():.3f} AUC gbm={auc_gbm:.4f} "
        f"oracles: {gaps}; recency={auc_rec:.4f} gbm-recency 95% CI=[{lo:.4f}, {hi:.4f}]"
    )
    assert auc["state"] > auc["traits"] > auc["orders"] > auc_gbm  # ceilings, nested
    # measured 0.008 (loyal) and 0.018 (first-time) below the ceiling of a model of the orders
    assert auc["orders"] - auc_gbm < (0.02 if population == "loyal" else 0.03)
    assert lo > 0  # GBM significantly above recency-only (paired bootstrap)


@pytest.mark.parametrize("population", ["first_time", "loyal"])
def test_calibration_on_a_later_cutoff(fitted, population) -> None:
    _, _, test, p = fitted
    at = (test["population"] == POPULATION_CODES[population]).to_numpy()
    y = test["churned"].to_numpy()[at]
    ece = expected_calibration_error(y, p[at])
    print(
        f"\n{population}: ECE at {TEST.date()} = {ece:.4f}, mean p {p[at].mean():.3f} vs {y.mean():.3f}"
    )
    assert ece <= 0.03


def _driver_share(model, features, ids, reason):
    rows = features[features["customer_id"].isin(ids)]
    names = model.drivers(rows, k=3)[["driver_1", "driver_2", "driver_3"]]
    groups = feature_descriptions(list(model.schema_))["group"]
    hit = names.apply(lambda c: c.map(groups).isin(DRIVER_GROUPS[reason])).any(axis=1)
    return float(hit.mean()), len(rows)


def test_drivers_recover_planted_reasons(fitted, shop, log) -> None:
    """Churners of the last 90 days (silent at the cutoff, the ones a study would interview).

    Loyalty churners should show a bonus feature in their top 3; technical churners (a
    failing android release, 2023-07 to 2023-10) a device/channel feature. The technical
    check runs at 2023-11-30, just after the failure, when its release is not yet in any
    training window (their labels end after the model's held-out cutoff), so the model sees
    the device, not the release; its share is compared with the same features' share among
    price churners.
    """
    truth = shop.truth.set_index("customer_id")
    churned_on = pd.to_datetime(truth["churn_date"])
    model, _, test, _ = fitted
    recent = (churned_on > TEST - pd.Timedelta(days=H)) & (churned_on <= TEST)
    loyalty, n_loyalty = _driver_share(
        model, test, truth.index[recent & (truth["churn_reason"] == "loyalty")], "loyalty"
    )
    at = pd.Timestamp("2023-11-30")
    log_then = log.until(at)
    monthly = pd.date_range("2022-09-30", at, freq="ME")
    tech_model = ChurnModel(horizon=H, bonus_ttl_days=shop.bonus_ttl_days, survival=False)
    tech_model.fit(log_then, [c for c in monthly if c + pd.Timedelta(days=H) <= at])
    f_then = tech_model.features(log_then, [at], labelled=False)
    recent = (churned_on > at - pd.Timedelta(days=H)) & (churned_on <= at)
    technical, n_tech = _driver_share(
        tech_model,
        f_then,
        truth.index[recent & (truth["churn_reason"] == "technical")],
        "technical",
    )
    price_base, _ = _driver_share(
        tech_model, f_then, truth.index[recent & (truth["churn_reason"] == "price")], "technical"
    )
    print(
        f"\nloyalty: {loyalty:.0%} of {n_loyalty} have a bonus driver in the top 3; "
        f"technical: {technical:.0%} of {n_tech} have a device/channel driver "
        f"(price churners: {price_base:.0%})"
    )
    # measured 64% loyalty, 64% technical (price churners 45%)
    assert loyalty >= 0.5
    assert technical >= 0.5
    assert technical > price_base
