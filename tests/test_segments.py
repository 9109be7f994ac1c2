"""Lifecycle segments: rule validation, assignment, point-in-time, dynamics, profile, plots."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import churnkit
from churnkit import SegmentRules, SegmentRulesError, TransactionLog, default_segment_rules
from churnkit.datasets import make_shop
from churnkit.segments._dynamics import ENTERED


def _log(rows, customers=None, as_of=None):
    orders = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    orders["revenue"] = orders["revenue"].astype(float)
    orders["is_return"] = orders["revenue"] < 0
    return TransactionLog(orders, customers, as_of=as_of)


@pytest.fixture(scope="module")
def shop_log():
    shop = make_shop(3_000, seed=3)
    return churnkit.load_orders(shop.orders, customers=shop.customers, as_of="2024-12-31")


# -- rules --------------------------------------------------------------------------------


def test_default_rules_round_trip_through_yaml(tmp_path):
    rules = default_segment_rules()
    path = tmp_path / "rules.yaml"
    path.write_text(rules.to_yaml(), encoding="utf-8")
    again = SegmentRules.from_yaml(path)
    assert again == rules
    assert again.names == (
        "new",
        "first_time",
        "promising",
        "loyal",
        "vip",
        "drifting",
        "at_risk",
        "vip_at_risk",
        "sleeping",
        "lost",
    )


def _spec_without(name):
    spec = default_segment_rules().to_dict()
    spec["segments"] = [s for s in spec["segments"] if s["name"] != name]
    return spec


def test_a_gap_names_the_uncovered_values():
    with pytest.raises(
        SegmentRulesError, match=r"gap.*purchases in \[1, 2\).*recency_ratio in \[2, 4\)"
    ):
        SegmentRules.from_dict(_spec_without("drifting"))


def test_an_overlap_names_both_rules():
    spec = default_segment_rules().to_dict()
    spec["segments"][2]["when"] = [{"purchases": [2, None], "recency_ratio": [0, 2]}]  # promising
    with pytest.raises(SegmentRulesError, match="'promising' and 'loyal' both cover"):
        SegmentRules.from_dict(spec)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"first_gap_days": -3}, "first_gap_days"),
        ({"min_gap_days": 0}, "min_gap_days"),
        ({"value_window_days": 1.5}, "value_window_days"),
        ({"colour": "red"}, r"unknown key\(s\) \['colour'\]"),
    ],
)
def test_bad_settings(change, match):
    spec = {**default_segment_rules().to_dict(), **change}
    with pytest.raises(SegmentRulesError, match=match):
        SegmentRules.from_dict(spec)


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        ({"name": "x", "when": {"age": [0, 1]}}, "unknown variable 'age'"),
        ({"name": "x", "when": {"purchases": [3, 1]}}, r"purchases range \[3, 1\) is empty"),
        ({"name": "x", "when": {"purchases": "many"}}, r"must be \[low, high\)"),
        ({"name": "x y", "when": {}}, "plain identifier"),
        ({"when": {}}, "needs 'name' and 'when'"),
    ],
)
def test_bad_rules_name_the_rule(rule, match):
    with pytest.raises(SegmentRulesError, match=match):
        SegmentRules.from_dict({"segments": [rule]})


def test_unreadable_yaml_names_the_file(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("segments: [unclosed", encoding="utf-8")
    with pytest.raises(SegmentRulesError, match=r"rules\.yaml: not valid YAML"):
        SegmentRules.from_yaml(bad)


@st.composite
def _partitions(draw):
    """Random rule sets that tile purchases x recency_ratio: a grid of cells, merged by rows."""
    p_cuts = sorted(draw(st.sets(st.integers(1, 6), min_size=1, max_size=3)))
    r_cuts = sorted(draw(st.sets(st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0]), max_size=3)))
    p_edges = [0, *p_cuts, None]
    r_edges = [0, *r_cuts, None]
    segments = []
    for i, (p0, p1) in enumerate(itertools.pairwise(p_edges)):
        if draw(st.booleans()):  # one rule for the whole purchases band
            segments.append({"name": f"p{i}", "when": {"purchases": [p0, p1]}})
            continue
        for j, (r0, r1) in enumerate(itertools.pairwise(r_edges)):
            segments.append(
                {"name": f"p{i}r{j}", "when": {"purchases": [p0, p1], "recency_ratio": [r0, r1]}}
            )
    return segments


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segments=_partitions(), data=st.data())
def test_partitions_are_accepted_and_any_missing_or_doubled_rule_is_named(segments, data):
    SegmentRules.from_dict({"segments": segments})
    dropped = data.draw(st.sampled_from(segments))
    rest = [s for s in segments if s is not dropped]
    if rest:
        with pytest.raises(SegmentRulesError, match="gap"):
            SegmentRules.from_dict({"segments": rest})
    twin = {**dropped, "name": dropped["name"] + "_twin"}
    with pytest.raises(SegmentRulesError, match=f"'{dropped['name']}' and '{twin['name']}'"):
        SegmentRules.from_dict({"segments": [*segments, twin]})


# -- assignment ---------------------------------------------------------------------------


def test_hand_made_customers_get_the_segments_their_history_implies():
    rows = []
    for k in range(6):  # every 10 days, last on 2024-03-21: active repeat buyer
        rows.append(("loyal1", pd.Timestamp("2024-01-31") + pd.Timedelta(days=10 * k), 100))
    for k in range(6):  # same rhythm, but 35 days silent by the date: 3.5 gaps
        rows.append(("risky", pd.Timestamp("2023-12-31") + pd.Timedelta(days=10 * k), 100))
    rows += [("once", "2024-03-20", 50), ("twice", "2024-03-01", 50), ("twice", "2024-03-15", 60)]
    rows += [("old", "2023-01-01", 10), ("old", "2023-01-20", 10)]
    rows += [("ret", "2024-03-01", 40), ("ret", "2024-03-10", -40)]  # a return is no purchase
    log = _log(rows)
    seg = churnkit.assign_segments(
        log,
        at="2024-03-25",
        rules=SegmentRules.from_dict({**default_segment_rules().to_dict(), "first_gap_days": 30}),
    ).set_index("customer_id")
    assert seg.loc["loyal1", "purchases"] == 6
    assert seg.loc["loyal1", "typical_gap_days"] == pytest.approx(10.0)
    assert seg.loc["loyal1", "recency_days"] == 4
    assert seg.loc["risky", "recency_ratio"] == pytest.approx(3.5)
    assert seg.loc["risky", "segment"] in {"at_risk", "vip_at_risk"}
    assert seg.loc["once", "segment"] == "first_time"
    assert seg.loc["once", "typical_gap_days"] == 30
    assert seg.loc["twice", "segment"] == "promising"
    assert seg.loc["old", "segment"] == "lost"
    assert seg.loc["ret", "purchases"] == 1
    assert seg.loc["ret", "revenue_window"] == pytest.approx(0.0)
    # the two biggest spenders in the window are the top of value_pct
    assert seg["value_pct"].idxmax() in {"loyal1", "risky"}


def test_registered_customers_without_purchases_are_new_from_registration():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "registered_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-05-01"]),
        }
    )
    log = _log([("a", "2024-01-05", 10), ("b", "2024-04-01", 10)], customers=customers)
    seg = churnkit.assign_segments(log, at="2024-03-01").set_index("customer_id")
    assert list(seg.index) == ["a", "b"]  # c registers after the date
    assert seg.loc["b", "segment"] == "new"
    assert seg.loc["b", "purchases"] == 0
    assert pd.isna(seg.loc["b", "first_purchase"])  # b's purchase in April is not known yet


@st.composite
def _random_logs(draw):
    n = draw(st.integers(1, 25))
    days = st.integers(0, 400)
    rows = []
    for i in range(n):
        for _ in range(draw(st.integers(1, 6))):
            revenue = draw(st.sampled_from([10.0, 55.5, 300.0, -20.0]))
            rows.append(
                (f"c{i}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=draw(days)), revenue)
            )
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_random_logs(), at_day=st.integers(0, 420), seed=st.integers(0, 10))
def test_every_customer_gets_exactly_one_segment_and_the_future_is_invisible(rows, at_day, seed):
    at = pd.Timestamp("2023-01-01") + pd.Timedelta(days=at_day)
    log = _log(rows)
    seg = churnkit.assign_segments(log, at=at)
    known = {c for c, d, _ in rows if pd.Timestamp(d) <= at}
    assert set(seg["customer_id"]) == known
    assert seg["customer_id"].is_unique
    assert seg["segment"].notna().all()
    # removing every row after the date changes nothing; shuffling the input changes nothing
    past = [r for r in rows if pd.Timestamp(r[1]) <= at]
    shuffled = [past[i] for i in np.random.default_rng(seed).permutation(len(past))]
    if past:
        pd.testing.assert_frame_equal(seg, churnkit.assign_segments(_log(shuffled), at=at))


def test_assignment_on_demo_data_is_stable_and_point_in_time(shop_log):
    at = pd.Timestamp("2024-03-31")
    first = churnkit.assign_segments(shop_log, at=at)
    pd.testing.assert_frame_equal(first, churnkit.assign_segments(shop_log, at=at))
    pd.testing.assert_frame_equal(first, churnkit.assign_segments(shop_log.until(at), at=at))
    assert set(first["segment"].astype(str)) == set(default_segment_rules().names)


# -- dynamics -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dynamics(shop_log):
    return churnkit.segment_dynamics(shop_log, freq="M")


def test_dynamics_sizes_match_assign_segments_at_each_period_start(shop_log, dynamics):
    table = dynamics.table
    for period in ["2023-01", "2024-07"]:
        row = table[table["period"] == period]
        start = row["period_start"].iloc[0] - pd.Timedelta(days=1)
        seg = churnkit.assign_segments(shop_log, at=start)
        expected = seg["segment"].value_counts().reindex(row["segment"]).to_numpy()
        np.testing.assert_array_equal(row["customers"].to_numpy(), expected)


def test_retention_rate_is_the_share_buying_again_within_the_period(shop_log, dynamics):
    row = dynamics.table.query("period == '2024-05' and segment == 'loyal'").iloc[0]
    seg = churnkit.assign_segments(shop_log, at="2024-04-30")
    loyal = set(seg.loc[seg["segment"] == "loyal", "customer_id"])
    orders = shop_log.orders
    in_may = orders[(orders["order_date"] >= "2024-05-01") & (orders["order_date"] <= "2024-05-31")]
    bought = set(in_may.loc[~in_may["is_return"], "customer_id"]) & loyal
    assert row["customers"] == len(loyal)
    assert row["buyers"] == len(bought)
    assert row["retention_rate"] == pytest.approx(len(bought) / len(loyal))
    revenue = in_may.loc[in_may["customer_id"].isin(loyal), "revenue"].sum()
    assert row["revenue"] == pytest.approx(revenue, abs=0.01)


def test_migrations_account_for_every_customer(shop_log, dynamics):
    moves = dynamics.migration
    table = dynamics.table
    june = moves[moves["period"] == "2024-06"]
    left = june[june["from_segment"] != ENTERED]
    assert left["customers"].sum() == table.query("period == '2024-06'")["customers"].sum()
    # everyone at the start of July came from a segment or entered during June
    assert june["customers"].sum() == table.query("period == '2024-07'")["customers"].sum()
    matrix = dynamics.migration_matrix(normalize=True)
    np.testing.assert_allclose(matrix.sum(axis=1)[matrix.sum(axis=1) > 0], 1.0)
    with pytest.raises(churnkit.ChurnkitError, match="no period '1999-01'"):
        dynamics.migration_matrix(period="1999-01")


def test_dynamics_only_use_complete_periods_and_reject_bad_freq():
    log = _log(
        [("a", "2024-01-15", 10), ("a", "2024-02-10", 10), ("a", "2024-04-10", 10)],
        as_of="2024-04-20",
    )
    dyn = churnkit.segment_dynamics(log, freq="M")
    assert sorted(dyn.table["period"].unique()) == ["2024-02", "2024-03"]
    with pytest.raises(churnkit.ChurnkitError, match="freq must be one of"):
        churnkit.segment_dynamics(log, freq="D")
    with pytest.raises(churnkit.ChurnkitError, match="no complete period"):
        churnkit.segment_dynamics(log, freq="Q")


# -- profile and plots --------------------------------------------------------------------


def test_profile_shares_channels_and_warnings(shop_log):
    prof = churnkit.segment_profile(shop_log, at="2024-06-30", min_customers=60, max_share=0.3)
    assert list(prof["segment"]) == list(default_segment_rules().names)
    assert prof["share_customers"].sum() == pytest.approx(1.0)
    assert prof["share_revenue"].sum() == pytest.approx(1.0)
    channels = prof.filter(like="channel: ")
    assert channels.shape[1] >= 2
    np.testing.assert_allclose(channels.sum(axis=1)[prof["customers"] > 0], 1.0)
    small = prof["customers"].between(1, 59)
    large = prof["share_customers"] > 0.3
    assert prof.loc[small, "warning"].str.startswith("too small").all()
    assert prof.loc[large, "warning"].str.startswith("too large").all()
    assert (prof.loc[~small & ~large & (prof["customers"] > 0), "warning"] == "").all()
    seg = churnkit.assign_segments(shop_log, at="2024-06-30")
    vip = seg[seg["segment"] == "vip"]
    row = prof.set_index("segment").loc["vip"]
    assert row["average_order_value"] == pytest.approx(
        vip["revenue_window"].sum() / vip["purchases_window"].sum()
    )


@pytest.mark.parametrize(
    "plot",
    [churnkit.plot_segment_sizes, churnkit.plot_retention_rates, churnkit.plot_migration_heatmap],
)
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_plots_draw_on_the_given_axes(dynamics, plot, lang):
    fig, ax = plt.subplots()
    try:
        assert plot(dynamics, ax=ax, lang=lang) is ax
        assert ax.get_title()
        assert ax.has_data() or ax.images
    finally:
        plt.close(fig)


@settings(deadline=None)
@given(st.lists(st.sampled_from([-5.0, 0.0, 1.5, 2.0, 10.0, 99.0]), min_size=2, max_size=40))
def test_value_percentile_matches_scipy_min_rank(values):
    from scipy.stats import rankdata

    from churnkit.segments._assign import _percent_rank

    x = np.asarray(values)
    expected = 100.0 * (rankdata(x, method="min") - 1) / (len(x) - 1)
    np.testing.assert_allclose(_percent_rank(x), expected)


@settings(deadline=None, max_examples=200)
@given(
    st.lists(st.sampled_from([-5.0, 0.0, 1.5, 2.0, 10.0, 99.0, 250.0]), min_size=2, max_size=60),
    st.sets(st.sampled_from([5.0, 25.0, 50.0, 75.0, 90.0, 99.0, 100.0]), min_size=1),
)
def test_value_floor_bins_like_the_exact_percentile(values, cuts):
    from churnkit.segments._assign import _percent_rank, _value_floor

    x = np.asarray(values)
    grid = np.asarray(sorted(cuts))
    exact = _percent_rank(x)
    expected = np.array([max([c for c in grid if v >= c], default=0.0) for v in exact])
    np.testing.assert_array_equal(_value_floor(x, grid), expected)
