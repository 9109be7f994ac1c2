"""Survival view of churn: targets, lifelines fits reproduced, curve properties, KM tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from churnkit.core._errors import ChurnkitError
from churnkit.io._transaction_log import TransactionLog
from churnkit.models._survival import (
    SURVIVAL_COVARIATES,
    SurvivalChurn,
    censor,
    km_table,
    survival_target,
)


def _synthetic(seed: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows with a Weibull wait whose scale grows with frequency (known direction)."""
    rng = np.random.default_rng(seed)
    freq = rng.integers(1, 20, n).astype(float)
    features = pd.DataFrame(
        {
            "recency_days": rng.integers(0, 120, n).astype(float),
            "frequency": freq,
            "monetary_mean": rng.gamma(2.0, 50.0, n),
            "tenure_days": rng.integers(30, 900, n).astype(float),
            "gap_mean": np.where(freq > 1, rng.gamma(2.0, 20.0, n), np.nan),
        }
    )
    # more frequent buyers come back sooner: scale falls with log frequency
    scale = np.exp(4.5 - 0.6 * np.log1p(freq))
    total = features["recency_days"].to_numpy() + rng.weibull(1.2, n) * scale
    wait = np.maximum(np.ceil(total - features["recency_days"].to_numpy()), 1.0)
    room = 200.0
    target = pd.DataFrame({"wait": np.minimum(wait, room), "event": (wait <= room).astype(np.int8)})
    return features, target


@pytest.fixture(scope="module")
def fitted() -> tuple[SurvivalChurn, pd.DataFrame, pd.DataFrame]:
    features, target = _synthetic(0, 1500)
    valid, valid_target = _synthetic(1, 800)
    model = SurvivalChurn(horizon=60).fit(features, target, valid, valid_target)
    return model, features, target


def test_target_counts_days_to_the_next_purchase_and_censors_at_the_data_end() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-10", "2024-02-01", "2024-01-05", "2024-01-20"]
            ),
            "revenue": [10.0, 5.0, 7.0, 3.0, -3.0],
            "is_return": [False, False, False, False, True],
        }
    )
    log = TransactionLog(orders, as_of="2024-03-01")
    keys = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "cutoff": pd.to_datetime(["2024-01-10"] * 2 + ["2024-01-06"]),
        },
        index=[7, 8, 9],
    )
    target = survival_target(log, keys)
    # a: next purchase 2024-02-01 = 22 days after; b only returns later: censored at as_of
    assert target.loc[7].tolist() == [22.0, 1.0]
    assert target.loc[9].tolist() == [55.0, 0.0]
    seen_then = censor(target, keys["cutoff"], "2024-01-20")
    assert seen_then.loc[7].tolist() == [10.0, 0.0]
    with pytest.raises(ChurnkitError, match="no follow-up"):
        censor(target, keys["cutoff"], "2024-01-08")


def test_both_candidates_are_measured_and_the_lower_ibs_is_kept(fitted) -> None:
    model, _, _ = fitted
    table = model.validation_
    assert sorted(table["kind"]) == ["cox", "weibull"]
    assert table.loc[table["chosen"], "kind"].item() == model.kind_
    assert table.loc[table["chosen"], "ibs"].item() == table["ibs"].min()
    # planted effect: the model must rank frequent buyers as less likely to churn
    assert table["c_index"].min() > 0.55


@pytest.fixture(scope="module")
def kind_models() -> dict[str, tuple[SurvivalChurn, pd.DataFrame, pd.DataFrame]]:
    features, target = _synthetic(2, 600)
    valid, valid_target = _synthetic(3, 300)
    return {
        kind: (
            SurvivalChurn(horizon=60, kinds=(kind,)).fit(features, target, valid, valid_target),
            features,
            target,
        )
        for kind in ("weibull", "cox")
    }


@pytest.mark.parametrize("kind", ["weibull", "cox"])
def test_survival_matches_lifelines(kind_models, kind: str) -> None:
    """S(t | x) from our stored parameters against lifelines fitted on the same design.

    The reference is lifelines' own ``predict_survival_function`` (Weibull AFT and Cox with
    left truncation, same penalizer); Cox is compared at the baseline's event times, where
    lifelines' interpolation and the step function agree.
    """
    from lifelines import CoxPHFitter, WeibullAFTFitter

    model, features, target = kind_models[kind]
    z = model._z(features)
    frame = pd.DataFrame(z, columns=model.columns_)
    entry = features["recency_days"].to_numpy()
    frame["duration"] = entry + target["wait"].to_numpy()
    frame["event"] = target["event"].to_numpy()
    frame["entry"] = entry
    fitter = WeibullAFTFitter if kind == "weibull" else CoxPHFitter
    ref = fitter(penalizer=model.penalizer).fit(frame, "duration", "event", entry_col="entry")
    if kind == "weibull":
        times = np.array([3.0, 17.5, 60.0, 240.0])
    else:
        times = np.asarray(ref.baseline_cumulative_hazard_.index)[[5, 40, 100, 150]]
    rows = frame.iloc[:30]
    expected = ref.predict_survival_function(rows, times=times).to_numpy().T
    ours = np.exp(-model._cumhaz(np.tile(times, (30, 1)), z[:30]))
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)
    # and the churn curve is the conditional S(r + d) / S(r)
    r = entry[:30]
    cond = model.survival(features.iloc[:30], [10.0])[:, 0]
    h = model._cumhaz(np.c_[r, r + 10.0], z[:30])
    np.testing.assert_allclose(cond, np.exp(-(h[:, 1] - h[:, 0])), rtol=1e-12)


feature_rows = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        arrays(float, n, elements=st.floats(0, 5000, allow_nan=False)),
        arrays(float, (n, 4), elements=st.one_of(st.floats(-50, 1e7), st.just(np.nan))),
    )
)


@settings(max_examples=60, deadline=None)
@given(
    data=feature_rows,
    days=st.lists(st.floats(0, 3000, allow_nan=False), min_size=1, max_size=8),
    kind=st.sampled_from(["weibull", "cox"]),
)
def test_survival_curves_are_finite_bounded_and_non_increasing(
    kind_models, data, days, kind
) -> None:
    model = kind_models[kind][0]
    recency, x = data
    features = pd.DataFrame(x, columns=["frequency", "monetary_mean", "tenure_days", "gap_mean"])
    features.insert(0, "recency_days", recency)
    grid = np.sort(np.r_[0.0, np.asarray(days)])
    curves = model.survival(features, grid)
    assert curves.shape == (len(features), grid.size)
    assert np.isfinite(curves).all()
    assert ((curves >= 0) & (curves <= 1)).all()
    assert (np.diff(curves, axis=1) <= 1e-12).all()
    np.testing.assert_allclose(curves[:, 0], 1.0)


def test_p_churn_and_expected_days_follow_the_planted_effect(fitted) -> None:
    model, features, _ = fitted
    rare = features.assign(frequency=1.0).iloc[:200]
    often = features.assign(frequency=19.0).iloc[:200]
    assert model.p_churn(rare).mean() > model.p_churn(often).mean()
    days = model.expected_days(often, cap=365)
    assert ((days >= 0) & (days <= 365)).all()


@pytest.mark.parametrize("kind", ["weibull", "cox"])
def test_expected_days_match_a_fine_integral(kind_models, fitted, kind) -> None:
    # the restricted mean on its geometric grid against the trapezoid rule every 0.1 day
    model = kind_models[kind][0]
    features = fitted[1].iloc[:300]
    fine = np.linspace(0.0, 730.0, 7301)
    reference = np.trapezoid(model.survival(features, fine), fine, axis=1)
    np.testing.assert_allclose(model.expected_days(features), reference, rtol=0, atol=0.5)


def test_round_trip_through_json_predicts_the_same(fitted) -> None:
    import json

    model, features, _ = fitted
    again = SurvivalChurn.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(
        again.survival(features, [10, 60]), model.survival(features, [10, 60])
    )


def test_errors_name_the_problem(fitted) -> None:
    model, features, target = fitted
    with pytest.raises(ChurnkitError, match="not fitted"):
        SurvivalChurn().p_churn(features)
    with pytest.raises(ChurnkitError, match="lacks the survival covariates"):
        model.p_churn(features.drop(columns=["frequency"]))
    with pytest.raises(ChurnkitError, match="kinds"):
        SurvivalChurn(kinds=("exponential",)).fit(features, target, features, target)
    assert set(model.columns_) <= set(SURVIVAL_COVARIATES)


def test_km_table_is_lifelines_kaplan_meier_per_group() -> None:
    from lifelines import KaplanMeierFitter

    features, target = _synthetic(7, 400)
    features["segment"] = np.where(features["frequency"] > 5, "loyal", "first_time")
    km = km_table(features, target, by="segment", days=100)
    assert set(km["group"]) == {"first_time", "loyal"}
    loyal = (features["segment"] == "loyal").to_numpy()
    ref = KaplanMeierFitter().fit(target["wait"][loyal], target["event"][loyal])
    part = km[km["group"] == "loyal"]
    np.testing.assert_allclose(
        part["survival"], ref.survival_function_at_times(part["day"]).to_numpy(), rtol=1e-12
    )
    assert (part["lo"] <= part["survival"] + 1e-12).all()
    assert (part["hi"] >= part["survival"] - 1e-12).all()
    assert (np.diff(part["survival"]) <= 0).all()
    # the curves stop where the group's longest observed wait ends
    assert (km["at_risk"] > 0).all()
    assert part["day"].max() == min(100, np.floor(target["wait"][loyal].max()))
