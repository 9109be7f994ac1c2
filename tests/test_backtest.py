"""Temporal backtest: which cutoffs are tested, what each model may see, metric values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from churnkit import load_orders
from churnkit.core._errors import ChurnkitError
from churnkit.datasets import make_shop
from churnkit.models._backtest import MODELS, backtest
from churnkit.models._churn_model import ChurnModel

CUTOFFS = list(pd.date_range("2023-12-31", "2024-09-30", freq="QE"))
H = 90


@pytest.fixture(scope="module")
def log():
    shop = make_shop(n_customers=2000, seed=5)
    return load_orders(shop.orders, customers=shop.customers)


@pytest.fixture(scope="module")
def template() -> ChurnModel:
    return ChurnModel(horizon=H, num_boost_round=200)


@pytest.fixture(scope="module")
def table(log, template) -> pd.DataFrame:
    return backtest(log, CUTOFFS, H, n_boot=20, model=template)


def test_table_shape_and_test_cutoffs(table) -> None:
    assert list(table.columns) == [
        "model", "population", "cutoff", "metric", "value", "lo", "hi", "n", "churners",
        "base_rate", "train_cutoffs",
    ]  # fmt: skip
    # a test cutoff needs two earlier cutoffs a full window apart whose windows end by it
    assert sorted(table["cutoff"].unique()) == list(pd.to_datetime(["2024-06-30", "2024-09-30"]))
    assert set(table["model"]) == set(MODELS)
    assert set(table["population"]) == {"first_time", "loyal"}
    per = table.groupby(["model", "population", "cutoff"]).size()
    assert (per.xs("survival", level="model") == 9).all()  # 7 label metrics + C-index + IBS
    assert (per.xs("gbm", level="model") == 7).all()
    first = table[table["cutoff"] == pd.Timestamp("2024-06-30")]
    assert (first["train_cutoffs"] == 2).all()  # 2023-12-31 and 2024-03-31 end by 2024-06-30


def test_intervals_bracket_the_estimates(table) -> None:
    ok = table.dropna(subset=["value", "lo", "hi"])
    assert len(ok) > 0.95 * len(table)
    # ECE's resampling distribution sits above the estimate (noise only adds |gaps|), so a
    # percentile interval need not contain it; every other metric's does here
    assert (ok.loc[ok["metric"] == "ece", "hi"] >= ok.loc[ok["metric"] == "ece", "value"]).all()
    ok = ok[ok["metric"] != "ece"]
    assert (ok["lo"] <= ok["value"] + 1e-12).all() and (ok["value"] <= ok["hi"] + 1e-12).all()
    assert (table["base_rate"] == table["churners"] / table["n"]).all()


def test_values_match_an_independent_refit(log, template, table) -> None:
    """Refit the GBM by hand on the allowed cutoffs; ROC-AUC and Brier match scikit-learn."""
    c = pd.Timestamp("2024-06-30")
    past = [t for t in CUTOFFS if t + pd.Timedelta(days=H) <= c]
    model = ChurnModel(horizon=H, num_boost_round=200, survival=False).fit(log.until(c), past)
    test = model.features(log, [c])
    p = model.predict_proba(test)
    loyal = (test["population"] == "repeat").to_numpy()
    y = test["churned"].to_numpy()[loyal]
    row = table.query("model == 'gbm' and population == 'loyal' and cutoff == @c")
    got = row.set_index("metric")["value"]
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p[loyal]), abs=1e-9)
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, p[loyal]), abs=1e-9)
    assert got["pr_auc_retained"] == pytest.approx(
        skm.average_precision_score(1 - y, 1 - p[loyal]), abs=1e-9
    )


@pytest.mark.slow
def test_models_never_see_data_after_the_test_window(log, template, table) -> None:
    """Data after the last test window changes no label metric: nothing later was used."""
    last = pd.Timestamp("2024-09-30")
    short = log.until(last + pd.Timedelta(days=H))
    again = backtest(short, CUTOFFS, H, n_boot=20, model=template)
    labels = ~table["metric"].isin(["c_index", "ibs"])  # these follow waits to the data end
    pd.testing.assert_frame_equal(table[labels], again[labels])


def test_bgnbd_uses_p_no_purchase_not_p_alive(table) -> None:
    # 1 - P(alive) is 0 for every one-time buyer, so its AUC on first-time buyers would be 0.5
    auc = table.query("model == 'bgnbd' and population == 'first_time' and metric == 'roc_auc'")
    assert (auc["value"] > 0.6).all()


def test_errors(log) -> None:
    with pytest.raises(ChurnkitError, match="models must be"):
        backtest(log, CUTOFFS, H, models=("xgboost",))
    with pytest.raises(ChurnkitError, match="Add earlier cutoffs"):
        backtest(log, ["2024-03-31", "2024-06-30"], H, models=("recency",))


def test_recency_model_matches_sklearn_logistic_regression(log, table) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    c = pd.Timestamp("2024-09-30")
    f = ChurnModel(horizon=H, segments=False).features(log, CUTOFFS)
    f = f[f["population"] == "first_time"]
    train = f[f["cutoff"] + pd.Timedelta(days=H) <= c]
    test = f[f["cutoff"] == c]
    lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        np.log1p(train[["recency_days"]].to_numpy(float)), train["churned"].astype(int)
    )
    p = lr.predict_proba(np.log1p(test[["recency_days"]].to_numpy(float)))[:, 1]
    got = table.query(
        "model == 'recency' and population == 'first_time' and cutoff == @c and metric == 'log_loss'"
    )["value"].item()
    assert got == pytest.approx(skm.log_loss(test["churned"], p), abs=1e-9)
