"""Point-in-time features: no leakage, independent recomputation, determinism, descriptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnkit import (
    ChurnkitError,
    DataValidationError,
    MissingColumnError,
    assign_segments,
    build_features,
    feature_descriptions,
    load_orders,
)
from churnkit.datasets import make_shop
from churnkit.features._descriptions import phrase_driver
from churnkit.io._transaction_log import TransactionLog

START = pd.Timestamp("2024-01-01")


@pytest.fixture(scope="module")
def shop():
    return make_shop(n_customers=3000, seed=0)


@pytest.fixture(scope="module")
def log(shop):
    return load_orders(shop.orders, customers=shop.customers)


# -- leakage ---------------------------------------------------------------------------------


@st.composite
def rich_logs(draw):
    """Small logs with every optional column, returns, same-day orders and missing values."""
    n = draw(st.integers(1, 30))
    day = st.integers(0, 120)
    rows = {
        "customer_id": [draw(st.sampled_from("abcde")) for _ in range(n)],
        "order_date": [START + pd.Timedelta(days=draw(day)) for _ in range(n)],
        "revenue": [draw(st.sampled_from([-7.5, 0.5, 3.0, 12.25, 99.99])) for _ in range(n)],
        "discount": [draw(st.sampled_from([None, 0.0, 0.1, 0.35])) for _ in range(n)],
        "category": [draw(st.sampled_from([None, "food", "toys", "care"])) for _ in range(n)],
        "channel": [draw(st.sampled_from([None, "app", "site"])) for _ in range(n)],
        "device": [draw(st.sampled_from(["ios", "android", "web"])) for _ in range(n)],
        "delivery_days": [draw(st.sampled_from([None, 1.0, 3.0, 8.0])) for _ in range(n)],
        "quality_issue": [draw(st.sampled_from(["none", "damaged"])) for _ in range(n)],
        "bonus_earned": [float(draw(st.sampled_from([0, 5, 40]))) for _ in range(n)],
        "bonus_spent": [float(draw(st.sampled_from([0, 0, 10, 30]))) for _ in range(n)],
        "bonus_expired": [float(draw(st.sampled_from([0, 0, 4]))) for _ in range(n)],
    }
    orders = pd.DataFrame(rows)
    orders["customer_id"] = orders["customer_id"].astype("string[pyarrow]")
    orders["is_return"] = orders["revenue"] < 0
    buys = orders.loc[~orders["is_return"], "order_date"]
    if buys.empty:
        orders.loc[0, ["revenue", "is_return"]] = [1.0, False]
        buys = orders["order_date"].iloc[:1]
    first, last = buys.min(), orders["order_date"].max()
    cutoffs = sorted(
        {first + pd.Timedelta(days=draw(st.integers(0, (last - first).days))) for _ in range(3)}
    )
    ttl = draw(st.sampled_from([None, 20]))
    return TransactionLog(orders), cutoffs, ttl


def _rows_at(features: pd.DataFrame, cutoff) -> pd.DataFrame:
    return features[features["cutoff"] == cutoff].reset_index(drop=True)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    # category sets depend on every cutoff of a call; values must not
    return frame.astype({c: object for c in frame.columns if frame[c].dtype == "category"})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rich_logs())
def test_rows_after_the_cutoff_change_no_feature(case):
    log, cutoffs, ttl = case
    options = {"segments": False, "bonus_ttl_days": ttl}
    # the same cutoff alone: exactly the same frame with and without the later rows
    first = cutoffs[0]
    alone = build_features(log.until(first), first, **options)
    pd.testing.assert_frame_equal(alone, build_features(log, first, **options), check_exact=True)
    # with other cutoffs and a label in the same call: the same values; a per-value share
    # column for a value first seen later may be added, and is then 0 or missing
    together = build_features(log, cutoffs, horizon=5, **options)
    for cutoff in cutoffs:
        alone = build_features(log.until(cutoff), cutoff, **options)
        mixed = _rows_at(together, cutoff)
        pd.testing.assert_frame_equal(
            _comparable(alone), _comparable(mixed[alone.columns]), check_exact=True
        )
        extra = mixed.drop(columns=[*alone.columns, "churned"])
        assert ((extra == 0) | extra.isna()).all().all()


def test_truncating_a_shop_at_the_cutoff_changes_nothing(log):
    cutoff = pd.Timestamp("2024-03-31")
    full = build_features(log, cutoff, segments=False)
    cut = build_features(log.until(cutoff), cutoff, segments=False)
    assert len(full) > 1000
    pd.testing.assert_frame_equal(full, cut, check_exact=True)
    ledger = build_features(log, cutoff, segments=False, bonus_ttl_days=90)
    ledger_cut = build_features(log.until(cutoff), cutoff, segments=False, bonus_ttl_days=90)
    pd.testing.assert_frame_equal(ledger, ledger_cut, check_exact=True)


# -- independent recomputation ---------------------------------------------------------------


def _random_log(seed: int) -> TransactionLog:
    rng = np.random.default_rng(seed)
    n = 600
    orders = pd.DataFrame(
        {
            "customer_id": rng.choice([f"c{i:02d}" for i in range(40)], n),
            "order_date": START + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
            "revenue": np.round(rng.lognormal(3, 1, n), 2),
        }
    )
    returns = rng.random(n) < 0.08
    orders.loc[returns, "revenue"] *= -1
    orders["is_return"] = returns
    return TransactionLog(orders)


def _pandas_features(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Recency, frequency, monetary, gaps and 90-day counts with plain pandas."""
    buys = orders[~orders["is_return"] & (orders["order_date"] <= cutoff)]
    days = buys.groupby(["customer_id", "order_date"], as_index=False)["revenue"].sum()
    rows = []
    for customer, g in days.groupby("customer_id"):
        g = g.sort_values("order_date")
        gaps = g["order_date"].diff().dt.days.dropna()
        recent = g[g["order_date"] > cutoff - pd.Timedelta(days=90)]
        recency = (cutoff - g["order_date"].iloc[-1]).days
        rows.append(
            {
                "customer_id": customer,
                "recency_days": recency,
                "frequency": len(g),
                "monetary_total": g["revenue"].sum(),
                "monetary_mean": g["revenue"].mean(),
                "monetary_last": g["revenue"].iloc[-1],
                "tenure_days": (cutoff - g["order_date"].iloc[0]).days,
                "gap_mean": gaps.mean() if len(gaps) else np.nan,
                "gap_std": gaps.std(ddof=1) if len(gaps) > 1 else np.nan,
                "gap_last": gaps.iloc[-1] if len(gaps) else np.nan,
                "recency_gap_ratio": recency / gaps.mean() if len(gaps) else np.nan,
                "orders_90d": len(recent),
                "revenue_90d": recent["revenue"].sum(),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1])
def test_core_features_match_plain_pandas(seed):
    """Reference: the straightforward pandas implementation ``_pandas_features`` above (one
    customer at a time, no SQL, no buckets), on random logs with returns and same-day orders."""
    log = _random_log(seed)
    cutoffs = pd.to_datetime(["2024-03-15", "2024-08-01", "2025-01-20"])
    got = build_features(log, cutoffs, segments=False)
    for cutoff in cutoffs:
        expected = _pandas_features(log.orders, cutoff)
        mine = _rows_at(got, cutoff)
        assert mine["customer_id"].tolist() == expected["customer_id"].tolist()
        for column in expected.columns[1:]:
            np.testing.assert_allclose(
                mine[column].to_numpy(float), expected[column].to_numpy(float),
                rtol=1e-12, err_msg=column,
            )  # fmt: skip


def test_bonus_ledger_matches_the_shops_loyalty_log(shop, log):
    """Expiries derived from earned/spent with the TTL equal the generator's own expiry log."""
    cutoffs = pd.to_datetime(["2023-03-31", "2024-06-30"])
    got = build_features(log, cutoffs, segments=False, bonus_ttl_days=shop.bonus_ttl_days)
    expiries = shop.bonus_expiries
    for cutoff in cutoffs:
        mine = _rows_at(got, cutoff).set_index("customer_id")
        known = expiries[expiries["expired_on"] <= cutoff]
        recent = known[known["expired_on"] > cutoff - pd.Timedelta(days=60)]
        total = known.groupby("customer_id")["points"].sum()
        last = known.groupby("customer_id")["expired_on"].max()
        assert mine["bonus_expired_total"].gt(0).sum() > 100
        np.testing.assert_array_equal(
            mine["bonus_expired_total"], total.reindex(mine.index, fill_value=0.0)
        )
        np.testing.assert_array_equal(
            mine["bonus_expired_last_60d"],
            recent.groupby("customer_id")["points"].sum().reindex(mine.index, fill_value=0.0),
        )
        np.testing.assert_array_equal(
            mine["days_since_bonus_expiry"], (cutoff - last).dt.days.reindex(mine.index)
        )
        assert (mine["bonus_balance"] >= 0).all()


def test_purchase_days_not_orders():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-02", "2024-01-04"]
            ),
            "revenue": [10.0, 5.0, -3.0, 4.0, -4.0],
        }
    )
    orders["is_return"] = orders["revenue"] < 0
    log = TransactionLog(orders, as_of="2024-01-06")
    f = build_features(log, "2024-01-06", segments=False).set_index("customer_id")
    # a: two orders on 01-01 are one occasion; the return-only day 01-05 is not one
    assert f.loc["a", "frequency"] == 1 and f.loc["a", "population"] == "first_time"
    assert f.loc["a", "monetary_total"] == 15.0 and f.loc["a", "recency_days"] == 5
    assert f.loc["a", "return_lines"] == 1 and f.loc["a", "return_share"] == 0.2
    assert f.loc["b", "frequency"] == 1 and np.isnan(f.loc["b", "gap_mean"])


# -- determinism and shape -------------------------------------------------------------------


def test_same_input_same_frame_sorted_by_cutoff_and_customer(log):
    cutoffs = ["2024-06-30", "2023-12-31"]
    a = build_features(log, cutoffs, horizon=90, segments=False)
    b = build_features(log, list(reversed(cutoffs)), horizon=90, segments=False)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    keys = list(zip(a["cutoff"], a["customer_id"], strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert a.index.equals(pd.RangeIndex(len(a)))
    assert set(a["population"].cat.categories) == {"first_time", "repeat"}


@pytest.mark.parametrize("ttl", [None, 60])
def test_customers_in_groups_give_the_same_frame(log, monkeypatch, ttl):
    """Big logs are computed a group of customers at a time; the frame must not change."""
    cutoffs = ["2023-12-31", "2024-06-30"]
    whole = build_features(log, cutoffs, horizon=90, bonus_ttl_days=ttl, segments=False)
    monkeypatch.setattr("churnkit.features._build.PART_LINES", len(log.orders) // 3)
    grouped = build_features(log, cutoffs, horizon=90, bonus_ttl_days=ttl, segments=False)
    pd.testing.assert_frame_equal(grouped, whole, check_exact=True)


@pytest.mark.parametrize("year", [2024, 1960])
def test_last_channel_is_the_latest_bought_value_ties_alphabetical(year):
    """Ties on the latest day go to the alphabetically last value (also before 1970)."""
    start = pd.Timestamp(f"{year}-01-01")
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c"],
            "order_date": start + pd.to_timedelta([0, 4, 4, 8, 2, 1], unit="D"),
            "revenue": [5.0, 4.0, 3.0, -4.0, 2.0, 1.0],
            # a's return is on the latest day with a value no bought line has
            "channel": ["zz", "app", "site", "phone", None, "zz"],
        }
    )
    orders["is_return"] = orders["revenue"] < 0
    at = start + pd.Timedelta(days=9)
    f = build_features(TransactionLog(orders, as_of=at), at, segments=False)
    assert f["last_channel"].iloc[0] == "site"
    assert pd.isna(f["last_channel"].iloc[1])
    assert f["last_channel"].iloc[2] == "zz"
    assert list(f["last_channel"].cat.categories) == ["app", "site", "zz"]


def test_optional_columns_give_their_features(log):
    f = build_features(log, "2024-06-30", segments=False)
    for column in (
        "discount_share",
        "category_breadth",
        "device_share_android_app",
        "last_device",
        "delivery_days_mean",
        "quality_issue_share",
        "bonus_expired_last_60d",
    ):
        assert column in f.columns, column
    plain = TransactionLog(log.orders[["customer_id", "order_date", "revenue", "is_return"]])
    g = build_features(plain, "2024-06-30", segments=False)
    assert not any(c.startswith(("discount", "bonus", "device", "delivery")) for c in g.columns)


def test_segment_at_each_cutoff_agrees_with_assign_segments(log):
    cutoffs = pd.to_datetime(["2023-12-31", "2024-06-30"])
    f = build_features(log, cutoffs)
    assert f.columns[:4].tolist() == ["customer_id", "cutoff", "population", "segment"]
    for cutoff in cutoffs:
        mine = _rows_at(f, cutoff)
        theirs = assign_segments(log, cutoff).set_index("customer_id").loc[mine["customer_id"]]
        assert mine["segment"].tolist() == theirs["segment"].tolist()
        # two implementations of purchase occasions agree
        assert mine["frequency"].tolist() == theirs["purchases"].tolist()
        assert ((mine["population"] == "first_time") == (theirs["purchases"] == 1).to_numpy()).all()
    cut = build_features(log.until(cutoffs[0]), cutoffs[0])
    pd.testing.assert_frame_equal(cut, _rows_at(build_features(log, cutoffs[0]), cutoffs[0]))


# -- descriptions ----------------------------------------------------------------------------


def test_segments_without_a_customers_table(log):
    """Without registered non-buyers the segment rows line up with the feature rows."""
    orders_only = TransactionLog(log.orders)
    cutoffs = pd.to_datetime(["2023-12-31", "2024-06-30"])
    f = build_features(orders_only, cutoffs)
    for cutoff in cutoffs:
        rows = f[f["cutoff"] == cutoff].set_index("customer_id")["segment"]
        expected = assign_segments(orders_only, cutoff).set_index("customer_id")["segment"]
        pd.testing.assert_series_equal(
            rows.astype(str), expected.reindex(rows.index).astype(str), check_names=False
        )


def test_every_column_has_a_description(log):
    f = build_features(log, "2024-06-30", horizon=90)
    ledger = build_features(log, "2024-06-30", segments=False, bonus_ttl_days=90)
    columns = list(dict.fromkeys([*f.columns, *ledger.columns]))
    d = feature_descriptions(columns)
    assert list(d.index) == columns
    assert (d[["description_en", "description_ru"]] != "").all().all()
    row = f.iloc[0]
    for column in columns:
        if column in row.index:
            assert phrase_driver(column, row, "ru")
    with pytest.raises(ChurnkitError, match="no description for column 'nonsense'"):
        feature_descriptions(["nonsense"])


def test_phrase_driver_fills_the_template_and_falls_back():
    row = {"recency_gap_ratio": 3.0, "recency_days": 94, "gap_mean": 31.2}
    assert phrase_driver("recency_gap_ratio", row) == "no order for 94 days — usually every 31"
    assert phrase_driver("recency_gap_ratio", {**row, "gap_mean": np.nan}) == (
        "days since the last purchase ÷ the mean gap between purchases"
    )
    assert phrase_driver("device_share_android_app", {"device_share_android_app": 0.8}) == (
        "80% of purchases on android_app"
    )


# -- mechanism on the demo shop --------------------------------------------------------------


@pytest.mark.parametrize("ttl", [None, 90])
def test_recent_bonus_expiry_goes_with_more_churn(log, ttl):
    """Weak sanity check of the planted loyalty mechanism (make_shop: expiries of >= 100
    points raise the churn hazard for 60 days). Expiries happen only to customers who bought
    within the last months, so the rates are compared within recency bands (a
    Mantel-Haenszel-weighted risk difference) among repeat buyers."""
    cutoffs = pd.date_range("2023-01-31", "2024-09-30", freq="ME")
    f = build_features(log, cutoffs, horizon=90, segments=False, bonus_ttl_days=ttl)
    rows = f[(f["population"] == "repeat") & (f["recency_days"] <= 150)]
    band = pd.cut(rows["recency_days"], [-1, 15, 30, 60, 90, 120, 150])
    exposed = rows["bonus_expired_last_60d"] >= 100
    g = rows.groupby([band, exposed], observed=True)["churned"].agg(["mean", "size"]).unstack()
    n1, n0 = g[("size", True)], g[("size", False)]
    w = n1 * n0 / (n1 + n0)
    difference = (w * (g[("mean", True)] - g[("mean", False)])).sum() / w.sum()
    p = rows["churned"].mean()
    se = np.sqrt((w**2 * p * (1 - p) * (1 / n1 + 1 / n0)).sum()) / w.sum()
    assert exposed.sum() > 500
    assert difference > 2 * se


# -- bad input -------------------------------------------------------------------------------


def test_bad_options_are_named(log):
    with pytest.raises(ChurnkitError, match="slow_delivery_days"):
        build_features(log, "2024-06-30", segments=False, slow_delivery_days=-1)
    with pytest.raises(ChurnkitError, match="bonus_ttl_days must be a positive whole number"):
        build_features(log, "2024-06-30", segments=False, bonus_ttl_days=0)
    with pytest.raises(ChurnkitError, match="after the end of the data"):
        build_features(log, ["2024-06-30", "2025-06-30"], segments=False)
    plain = TransactionLog(log.orders[["customer_id", "order_date", "revenue", "is_return"]])
    with pytest.raises(MissingColumnError, match="bonus_earned"):
        build_features(plain, "2024-06-30", segments=False, bonus_ttl_days=90)
    huge = TransactionLog(plain.orders.assign(revenue=plain.orders["revenue"] * 1e18))
    with pytest.raises(DataValidationError, match="does not fit a decimal of 18 digits"):
        build_features(huge, "2024-06-30", segments=False)


def test_bonus_expiring_soon_is_what_expires_without_spending(shop, log):
    """The look-ahead feature equals the generator's expiries in (cutoff, cutoff + 30] for
    customers who spend no bonus in that window (their spending cannot change it then)."""
    cutoff = pd.Timestamp("2024-03-31")
    end = cutoff + pd.Timedelta(days=30)
    f = build_features(log, cutoff, segments=False, bonus_ttl_days=shop.bonus_ttl_days)
    f = f.set_index("customer_id")
    orders = log.orders
    window = orders[(orders["order_date"] > cutoff) & (orders["order_date"] <= end)]
    spenders = set(window.loc[window["bonus_spent"] > 0, "customer_id"])
    quiet = f.index[~f.index.isin(list(spenders))]
    expiries = shop.bonus_expiries
    soon = expiries[(expiries["expired_on"] > cutoff) & (expiries["expired_on"] <= end)]
    expected = soon.groupby("customer_id")["points"].sum().reindex(quiet, fill_value=0.0)
    assert (expected > 0).sum() > 50
    np.testing.assert_array_equal(f.loc[quiet, "bonus_expiring_next_30d"], expected)
