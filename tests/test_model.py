"""ChurnModel: temporal fit, leakage, the score contract, drivers in words, save/load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnkit import load_orders
from churnkit.core._errors import ChurnkitError, ConfigError
from churnkit.datasets import make_shop
from churnkit.features._descriptions import phrase_driver
from churnkit.models._churn_model import SCORE_COLUMNS, ChurnModel
from churnkit.models._drivers import phrase_drivers

CUTOFFS = list(pd.date_range("2023-03-31", "2024-06-30", freq="QE"))
AT = pd.Timestamp("2024-09-30")


@pytest.fixture(scope="module")
def shop():
    return make_shop(n_customers=2000, seed=3)


@pytest.fixture(scope="module")
def log(shop):
    return load_orders(shop.orders, customers=shop.customers)


@pytest.fixture(scope="module")
def model(log) -> ChurnModel:
    return ChurnModel(horizon=90, num_boost_round=300, random_state=0).fit(log, CUTOFFS)


@pytest.fixture(scope="module")
def scores(model, log) -> pd.DataFrame:
    return model.score(log, AT)


def test_fit_is_temporal(model) -> None:
    horizon = pd.Timedelta(days=90)
    for name in model.boosters_:
        held_out = model.calibration_cutoff_[name]
        # the latest labelled cutoff (2024-06-30 + 90 days <= 2024-12-31) is held out
        assert held_out == pd.Timestamp("2024-06-30")
        assert all(c + horizon <= held_out for c in model.training_cutoffs_[name])
    v = model.validation_
    assert set(v["population"]) == {"first_time", "loyal"}
    assert (v["roc_auc"] > 0.7).all()
    assert set(v["survival_kind"]) <= {"weibull", "cox"}


def test_deleting_rows_after_the_cutoff_changes_no_score(model, log) -> None:
    """Leakage: everything after the scoring day is removed, and every score is the same."""
    later = log.orders["order_date"] > AT
    assert later.any()  # the test must remove something
    truncated = log.until(AT)
    assert len(truncated.orders) == (~later).sum()
    full = model.score(log, AT, drivers="all")
    cut = model.score(truncated, AT, drivers="all")
    pd.testing.assert_frame_equal(full, cut)


def test_features_at_the_cutoff_ignore_later_rows(model, log) -> None:
    at = pd.Timestamp("2024-03-31")
    f_full = model.features(log, [at], labelled=False)
    f_cut = model.features(log.until(at), [at], labelled=False)
    pd.testing.assert_frame_equal(f_full, f_cut)
    np.testing.assert_array_equal(model.predict_proba(f_full), model.predict_proba(f_cut))


def test_labels_past_the_data_are_missing(model, log) -> None:
    f = model.features(log, ["2024-06-30", "2024-11-30"])
    late = f["cutoff"] == pd.Timestamp("2024-11-30")
    assert f.loc[late, "churned"].isna().all()
    assert f.loc[~late, "churned"].isin([0.0, 1.0]).all()


def test_score_contract(scores, model, log) -> None:
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert scores["customer_id"].is_unique
    buyers = log.orders.loc[log.orders["order_date"] <= AT, "customer_id"].nunique()
    assert len(scores) + sum(scores.attrs["excluded"].values()) == buyers
    assert set(scores["population"]) == {"first_time", "loyal"}
    for col in ("p_churn", "p_churn_survival"):
        assert scores[col].between(0, 1).all()
    lo, hi = model.risk_bands
    band = np.select([scores["p_churn"] >= hi, scores["p_churn"] >= lo], ["high", "medium"], "low")
    assert (scores["risk_band"].astype(str) == band).all()
    np.testing.assert_allclose(
        scores["value_at_risk"], scores["p_churn"] * scores["expected_revenue_12m"]
    )
    assert (scores["expected_revenue_12m"] >= 0).all()
    assert scores["expected_days_to_next_order"].between(0, 730).all()
    high = scores["risk_band"] == "high"
    assert scores.loc[high, "driver_1"].notna().all()
    assert scores.loc[~high, "drivers"].isna().all()
    first = scores.loc[high].iloc[0]
    assert first["drivers"].startswith(first["driver_1"])
    assert (scores["model_version"] == model.version_).all()
    assert (scores["scored_at"] == AT).all()


def test_p_churn_ranks_like_the_oracle(scores, shop) -> None:
    """The GBM's ranking agrees with the generator's true P(no purchase) (Spearman)."""
    from scipy.stats import spearmanr

    oracle = shop.p_no_purchase(AT, 90).reindex(scores["customer_id"]).to_numpy()
    loyal = (scores["population"] == "loyal").to_numpy()
    assert spearmanr(scores["p_churn"][loyal], oracle[loyal]).statistic > 0.6


def test_customers_outside_the_populations_are_counted_not_dropped(log) -> None:
    loyal_only = ChurnModel(populations=("loyal",), num_boost_round=200).fit(log, CUTOFFS)
    out = loyal_only.score(log, AT, drivers="none")
    assert set(out["population"]) == {"loyal"}
    assert out.attrs["excluded"]["first_time"] > 0
    assert out["drivers"].isna().all()


def test_max_drivers_keeps_the_largest_value_at_risk(model, log) -> None:
    out = model.score(log, AT, drivers="all", max_drivers=25)
    explained = out["drivers"].notna()
    assert explained.sum() == 25
    assert out.loc[explained, "value_at_risk"].min() >= out.loc[~explained, "value_at_risk"].max()


def test_save_load_round_trip(model, log, scores, tmp_path) -> None:
    folder = model.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == [
        "gbm_first_time.txt",
        "gbm_loyal.txt",
        "model.json",
    ]
    meta = json.loads((folder / "model.json").read_text())
    assert {"churnkit", "lightgbm", "lifelines", "numpy", "pandas"} <= set(meta["versions"])
    again = ChurnModel.load(folder)
    pd.testing.assert_frame_equal(again.score(log, AT), scores)


def test_loading_under_another_major_version_warns(model, tmp_path) -> None:
    folder = model.save(tmp_path / "m")
    meta = json.loads((folder / "model.json").read_text())
    meta["versions"]["lightgbm"] = "1.0.0"
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="lightgbm 1.0.0"):
        ChurnModel.load(folder)


def test_errors_say_what_to_do(log, tmp_path) -> None:
    with pytest.raises(ConfigError, match="populations"):
        ChurnModel(populations=("vip",)).fit(log, CUTOFFS)
    with pytest.raises(ChurnkitError, match="Add a cutoff on or before"):
        ChurnModel().fit(log, ["2024-06-30"])
    with pytest.raises(ChurnkitError, match="not fitted"):
        ChurnModel().score(log, AT)
    with pytest.raises(ChurnkitError, match=r"no model\.json"):
        ChurnModel.load(tmp_path)


def test_driver_phrases_are_deduplicated() -> None:
    row = {"recency_days": 94.0, "gap_mean": 31.4, "recency_gap_ratio": 3.0, "orders_90d": 0}
    features = pd.DataFrame([row, row])
    names = pd.DataFrame(
        [
            {
                "driver_1": "recency_gap_ratio",
                "driver_2": "recency_gap_ratio",
                "driver_3": "orders_90d",
            },
            {"driver_1": "orders_90d", "driver_2": None, "driver_3": None},
        ]
    )
    words = phrase_drivers(features, names, k=3)
    assert words.loc[0, "driver_1"] == "no order for 94 days — usually every 31"
    # the same phrase twice is said once; the next driver moves up
    assert words.loc[0, "driver_2"] == phrase_driver("orders_90d", row)
    assert words.loc[0, "driver_3"] is None
    assert words.loc[0, "drivers"] == "; ".join(words.loc[0, ["driver_1", "driver_2"]])
    assert words.loc[1, "drivers"] == words.loc[1, "driver_1"]


def test_drivers_are_themes_ranked_by_summed_shap(model, log) -> None:
    """One driver per theme, ranked by the theme's summed SHAP values, named by its top feature."""
    from churnkit.models._churn_model import POPULATION_CODES
    from churnkit.models._drivers import driver_themes
    from churnkit.models._gbm import design_matrix

    features = model.features(log, [AT], labelled=False)
    features = features[features["population"] == POPULATION_CODES["loyal"]].head(300)
    got = model.drivers(features, k=3)
    x = design_matrix(features, model.schema_)
    booster = model.boosters_["loyal"]
    shap = pd.DataFrame(
        booster.predict(x, num_iteration=booster.best_iteration, pred_contrib=True)[:, :-1],
        columns=x.columns,
        index=x.index,
    )
    themes = pd.Series(driver_themes(x.columns))
    assert themes["recency_days"] == themes["orders_90d"] == themes["segment"] == "rhythm"
    by_theme = shap.T.groupby(themes).sum().T
    for i in features.index[:50]:
        ranked = by_theme.loc[i].sort_values(ascending=False, kind="stable")
        for j in range(3):
            name, contrib = got.loc[i, f"driver_{j + 1}"], got.loc[i, f"driver_{j + 1}_contrib"]
            if ranked.iloc[j] <= 0:
                assert name is None and np.isnan(contrib)
                continue
            assert themes[name] == ranked.index[j]
            assert contrib == pytest.approx(ranked.iloc[j], abs=1e-9)
            members = themes.index[themes == ranked.index[j]]
            assert shap.loc[i, name] == shap.loc[i, members].max()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_row_without_drivers_gets_its_populations_usual_risk(lang) -> None:
    features = pd.DataFrame({"population": ["first_time", "repeat"], "recency_days": [40.0, 9.0]})
    names = pd.DataFrame({"driver_1": [None, "recency_days"], "driver_2": [None, None]})
    words = phrase_drivers(features, names, k=3, lang=lang)
    usual = {"en": "most first-time buyers never order again", "ru": "большинство новичков"}
    assert usual[lang] in words.loc[0, "driver_1"]
    assert words.loc[0, "drivers"] == words.loc[0, "driver_1"]
    assert words.loc[1, "driver_1"] == phrase_driver("recency_days", features.loc[1], lang=lang)


def test_drivers_in_russian(model, log, scores) -> None:
    ru = model.score(log, AT, lang="ru")
    said = ru["drivers"].dropna()
    assert len(said) == scores["drivers"].notna().sum() > 0
    assert said.str.contains("[а-яё]", regex=True).all()
    assert ru.drop(columns=[c for c in ru if c.startswith("driver")]).equals(
        scores.drop(columns=[c for c in scores if c.startswith("driver")])
    )
    with pytest.raises(ChurnkitError, match="lang must be one of"):
        model.score(log, AT, drivers="none", lang="de")  # type: ignore[arg-type]


def test_design_matrix_from_categoricals_and_row_masks(model, log) -> None:
    """Recoding categorical columns and masking rows column by column change no value."""
    from churnkit.models._gbm import design_matrix

    features = model.features(log, [AT], labelled=False)
    categorical = [n for n, cats in model.schema_.items() if cats is not None]
    assert any(isinstance(features[n].dtype, pd.CategoricalDtype) for n in categorical)
    as_text = features.astype({n: "string" for n in categorical})
    mask = (features["population"] == "repeat").to_numpy()
    expected = design_matrix(as_text, model.schema_)
    pd.testing.assert_frame_equal(design_matrix(features, model.schema_), expected)
    pd.testing.assert_frame_equal(design_matrix(features, model.schema_, mask), expected[mask])
