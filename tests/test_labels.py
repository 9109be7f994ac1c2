"""Churn labels at a horizon: known answers, missing labels past the data, purchase days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnkit import ChurnkitError, DataValidationError, build_features, make_labels
from churnkit.io._transaction_log import TransactionLog

START = pd.Timestamp("2024-01-01")


def _log(rows: list[tuple[str, str, float]], as_of: str | None = None) -> TransactionLog:
    """A log from (customer, date, revenue) rows; negative revenue is a return."""
    orders = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    orders["is_return"] = orders["revenue"] < 0
    return TransactionLog(orders, as_of=as_of)


# as_of 2024-01-25; cutoff 2024-01-10, horizon 10 -> window (01-10, 01-20]
HAND = _log(
    [
        ("a", "2024-01-01", 10.0),
        ("a", "2024-01-20", 5.0),  # on the window's last day: counts -> 0
        ("b", "2024-01-05", 8.0),
        ("b", "2024-01-10", 8.0),  # on the cutoff itself: not in the window -> 1
        ("c", "2024-01-02", 4.0),
        ("c", "2024-01-15", -4.0),  # a return-only day is no purchase -> 1
        ("d", "2024-01-15", 3.0),  # first purchase after the cutoff -> no row
        ("e", "2024-01-03", -2.0),  # only a return by the cutoff -> no row
        ("f", "2024-01-09", 6.0),
        ("f", "2024-01-12", 6.0),
        ("f", "2024-01-12", 1.0),  # two orders on one day -> 0
        ("g", "2024-01-10", 2.0),
        ("g", "2024-01-21", 2.0),  # the day after the window -> 1
    ],
    as_of="2024-01-25",
)


def test_hand_made_log_known_answers():
    out = make_labels(HAND, "2024-01-10", horizon=10)
    got = dict(zip(out["customer_id"], out["churned"], strict=True))
    assert got == {"a": 0.0, "b": 1.0, "c": 1.0, "f": 0.0, "g": 1.0}
    assert out["churned"].dtype == np.float64
    assert out["cutoff"].dtype == "datetime64[ns]"


def test_window_ending_past_the_data_gives_missing_not_one():
    # 01-15 + 10 = 01-25 = as_of: known; 01-20 + 10 = 01-30 > as_of: unknown for everyone
    out = make_labels(HAND, ["2024-01-20", "2024-01-15"], horizon=10)
    known = out[out["cutoff"] == "2024-01-15"]
    unknown = out[out["cutoff"] == "2024-01-20"]
    assert known["churned"].notna().all()
    assert dict(zip(known["customer_id"], known["churned"], strict=True)) == {
        "a": 0.0,  # buys 01-20
        "b": 1.0,
        "c": 1.0,
        "d": 1.0,  # first purchase on the cutoff day, nothing after
        "f": 1.0,  # 01-12 is before this cutoff
        "g": 0.0,  # buys 01-21
    }
    assert len(unknown) == 6 and unknown["churned"].isna().all()


def test_labels_are_sorted_by_cutoff_then_customer():
    out = make_labels(HAND, ["2024-01-15", "2024-01-10"], horizon=5)
    keys = list(zip(out["cutoff"], out["customer_id"], strict=True))
    assert keys == sorted(keys)


def test_build_features_carries_the_same_label():
    cutoffs = ["2024-01-05", "2024-01-10", "2024-01-15", "2024-01-20"]
    labels = make_labels(HAND, cutoffs, horizon=7)
    features = build_features(HAND, cutoffs, horizon=7, segments=False)
    pd.testing.assert_frame_equal(
        features[["customer_id", "cutoff", "churned"]], labels, check_exact=True
    )


def test_no_horizon_no_label():
    assert "churned" not in build_features(HAND, "2024-01-10", segments=False).columns


# -- property: labels against an independent pandas computation --------------------------


@st.composite
def small_logs(draw):
    n = draw(st.integers(1, 25))
    rows = [
        (
            draw(st.sampled_from("abcd")),
            START + pd.Timedelta(days=draw(st.integers(0, 40))),
            draw(st.sampled_from([-5.0, 1.0, 2.5, 10.0])),
        )
        for _ in range(n)
    ]
    first = min(r[1] for r in rows)
    last = max(r[1] for r in rows)
    extra = draw(st.integers(0, 10))
    cutoff = first + pd.Timedelta(days=draw(st.integers(0, (last - first).days)))
    horizon = draw(st.integers(1, 30))
    return rows, last + pd.Timedelta(days=extra), cutoff, horizon


def _pandas_labels(orders: pd.DataFrame, cutoff, horizon, as_of) -> dict[str, float]:
    buys = orders[~orders["is_return"]]
    before = set(buys.loc[buys["order_date"] <= cutoff, "customer_id"])
    end = cutoff + pd.Timedelta(days=horizon)
    inside = set(
        buys.loc[(buys["order_date"] > cutoff) & (buys["order_date"] <= end), "customer_id"]
    )
    if end > as_of:
        return dict.fromkeys(before, np.nan)
    return {c: 0.0 if c in inside else 1.0 for c in before}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_logs())
def test_labels_match_an_independent_computation(case):
    rows, as_of, cutoff, horizon = case
    log = _log([(c, d.isoformat(), r) for c, d, r in rows], as_of=as_of.isoformat())
    expected = _pandas_labels(log.orders, cutoff, horizon, as_of)
    if not expected:
        # nobody has bought by the cutoff (only returns so far)
        assert make_labels(log, cutoff, horizon).empty
        return
    out = make_labels(log, cutoff, horizon)
    got = dict(zip(out["customer_id"], out["churned"], strict=True))
    assert got.keys() == expected.keys()
    for customer, value in expected.items():
        assert got[customer] == value or (np.isnan(value) and np.isnan(got[customer]))


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [0, -30, 1.5, True, "90", None])
def test_horizon_must_be_a_positive_whole_number(horizon):
    with pytest.raises(ChurnkitError, match="horizon must be a positive whole number"):
        make_labels(HAND, "2024-01-10", horizon=horizon)


def test_non_positive_horizon_in_build_features():
    with pytest.raises(ChurnkitError, match="horizon=90"):
        build_features(HAND, "2024-01-10", horizon=0, segments=False)


@pytest.mark.parametrize(
    ("cutoffs", "message"),
    [
        ("2024-02-01", "after the end of the data"),
        (["2024-01-10", "2023-12-31"], "before the first order"),
        (["2024-01-10", "2024-01-10"], "repeat the day"),
        ("not a date", "is not a date"),
        ([], "cutoffs is empty"),
        ([None], "missing"),
    ],
)
def test_bad_cutoffs_are_named(cutoffs, message):
    with pytest.raises(ChurnkitError, match=message):
        make_labels(HAND, cutoffs, horizon=5)


def test_empty_log_is_an_error():
    empty = _log([("a", "2024-01-01", 1.0)]).orders.iloc[:0]
    with pytest.raises(DataValidationError, match="no order lines"):
        make_labels(TransactionLog(empty), "2024-01-01", horizon=5)
