"""The interview sample draw: exclusions, quotas, reserves, weights, de-duplication, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnkit import (
    MissingColumnError,
    SampleQuotaError,
    TransactionLog,
    draw_interview_sample,
)
from churnkit.sample._context import interviewer_context
from churnkit.sample._frame import normalize_email, normalize_phone
from churnkit.sample._quotas import _largest_remainder


def synthetic(n: int, seed: int, shared_phones: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores and customers with every kind of exclusion in them, reproducibly from ``seed``."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"K{i:05d}" for i in range(n)], dtype=object)
    p = rng.random(n)
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "population": rng.choice(["loyal", "first_time", "vip"], n, p=[0.45, 0.45, 0.1]),
            "segment": rng.choice(["at_risk", "sleeping"], n),
            "p_churn": np.where(rng.random(n) < 0.02, np.nan, p),
            "risk_band": np.select([p >= 0.75, p >= 0.5], ["high", "medium"], "low"),
            "value_at_risk": rng.gamma(2.0, 500.0, n),
            "driver_1": rng.choice(["bonuses expired 12 days ago", "no order for 90 days"], n),
            "model_version": "m1",
            "scored_at": pd.Timestamp("2024-12-31"),
        }
    )
    digits = rng.integers(900_000_000, 999_999_999, n)
    # some households share a phone, written in another format
    share = rng.random(n) < shared_phones
    digits[share] = digits[rng.integers(0, n, share.sum())]
    phone = np.where(rng.random(n) < 0.5, [f"+7 {d}" for d in digits], [f"8{d}" for d in digits])
    phone = np.where(rng.random(n) < 0.05, "n/a", phone).astype(object)
    email = np.array([f"u{i}@mail.ru" for i in range(n)], dtype=object)
    email[rng.random(n) < 0.3] = None
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "first_name": "Анна",
            "phone": phone,
            "email": email,
            "timezone": "Europe/Moscow",
            "research_opt_in": rng.random(n) < 0.7,
            "is_test": rng.random(n) < 0.02,
            "is_employee": rng.random(n) < 0.02,
        }
    )
    # a few scored customers are not in the customers table
    return scores, customers.iloc[: n - max(1, n // 50)].reset_index(drop=True)


@pytest.fixture(scope="module")
def frames():
    return synthetic(3000, seed=7)


@pytest.fixture(scope="module")
def draw(frames):
    scores, customers = frames
    return draw_interview_sample(scores, customers, quotas=120, seed=3)


# -- exclusions --------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(30, 400),
    dnc_share=st.floats(0, 0.5),
    history_share=st.floats(0, 0.5),
    shared=st.floats(0, 0.6),
    threshold=st.floats(0.05, 0.9),
)
def test_no_excluded_customer_is_ever_drawn(seed, n, dnc_share, history_share, shared, threshold):
    scores, customers = synthetic(n, seed, shared_phones=shared)
    rng = np.random.default_rng(seed + 1)
    pick = rng.random(len(customers)) < dnc_share
    by = rng.choice(["customer_id", "phone", "email"], pick.sum())
    dnc = pd.DataFrame(
        {c: customers.loc[pick, c].where(by == c) for c in ("customer_id", "phone", "email")}
    )
    hist_ids = customers["customer_id"].sample(frac=history_share, random_state=seed % 1000)
    days = rng.integers(0, 400, len(hist_ids))
    history = pd.DataFrame(
        {
            "customer_id": hist_ids,
            "contacted_at": pd.Timestamp("2024-12-31") - pd.to_timedelta(days, "D"),
        }
    )
    d = draw_interview_sample(
        scores,
        customers,
        quotas=0,
        reserve_ratio=0,
        threshold=threshold,
        do_not_contact=dnc,
        contact_history=history,
        contact_window_days=180,
        seed=seed,
    )
    # the draw takes all of every stratum when asked for its whole frame
    frame = draw_interview_sample(
        scores,
        customers,
        quotas=dict(zip(d.strata["stratum"], d.strata["eligible"], strict=True)),
        reserve_ratio=0,
        threshold=threshold,
        do_not_contact=dnc,
        contact_history=history,
        seed=seed,
    ).sample
    s = frame.merge(customers, on="customer_id", how="left")
    assert s["population"].isin(["loyal", "first_time"]).all()
    assert (s["p_churn"] >= threshold).all()
    assert s["research_opt_in"].eq(True).all()
    assert not s["is_test"].any() and not s["is_employee"].any()
    assert not s["customer_id"].isin(dnc["customer_id"].dropna()).any()
    assert not normalize_phone(s["phone"]).isin(normalize_phone(dnc["phone"]).dropna()).any()
    assert not normalize_email(s["email"]).isin(normalize_email(dnc["email"]).dropna()).any()
    recent = history.loc[
        history["contacted_at"] > pd.Timestamp("2024-12-31") - pd.Timedelta(days=180)
    ]
    assert not s["customer_id"].isin(recent["customer_id"]).any()
    phones, emails = normalize_phone(s["phone"]), normalize_email(s["email"])
    assert (phones.notna() | emails.notna()).all()
    assert not phones.dropna().duplicated().any() and not emails.dropna().duplicated().any()
    # every scored row is accounted for: scored - excluded = frame
    report = d.frame_report
    assert report["remaining"].iloc[0] - report["excluded"].sum() == d.strata["eligible"].sum()
    assert len(frame) == d.strata["eligible"].sum()


def test_frame_report_counts_each_reason(frames, draw):
    scores, _ = frames
    report = draw.frame_report.set_index("reason")
    assert report.loc["scored", "remaining"] == len(scores)
    assert (
        report.loc["population_not_requested", "excluded"] == (scores["population"] == "vip").sum()
    )
    assert (
        report.loc["no_score", "excluded"]
        == (scores["population"].isin(["loyal", "first_time"]) & scores["p_churn"].isna()).sum()
    )
    assert report.loc["not_in_customers", "excluded"] > 0
    for reason in ("test_account", "employee", "no_research_consent", "no_usable_contact"):
        assert report.loc[reason, "excluded"] > 0, reason
    assert report["remaining"].iloc[-1] == draw.strata["eligible"].sum()


# -- quotas, weights, reserves -----------------------------------------------------------------
def test_largest_remainder_matches_the_textbook_example():
    # Hamilton / largest remainder with the Hare quota: the worked example of the Wikipedia
    # article "Largest remainder method" (10 seats; 47,000 / 16,000 / 15,800 / 12,000 /
    # 6,100 / 3,100 votes) gives 5, 2, 1, 1, 1, 0 seats.
    votes = np.array([47_000, 16_000, 15_800, 12_000, 6_100, 3_100])
    assert _largest_remainder(10, votes).tolist() == [5, 2, 1, 1, 1, 0]


@pytest.mark.parametrize("allocation", ["proportional", "equal"])
def test_total_quota_is_met_exactly(frames, allocation):
    scores, customers = frames
    d = draw_interview_sample(scores, customers, quotas=101, allocation=allocation, seed=1)
    main = d.main.groupby("stratum").size()
    quota = d.strata.set_index("stratum")["quota"]
    assert quota.sum() == 101
    assert main.reindex(quota.index, fill_value=0).tolist() == quota.tolist()
    if allocation == "equal":
        assert quota.max() - quota.min() <= 1


def test_quota_per_stratum_and_unlisted_strata(frames):
    scores, customers = frames
    d = draw_interview_sample(
        scores, customers, quotas={("loyal", "high"): 30, "first_time|medium": 12}, seed=1
    )
    assert d.main.groupby("stratum").size().to_dict() == {"first_time|medium": 12, "loyal|high": 30}
    unlisted = d.strata[~d.strata["stratum"].isin(["loyal|high", "first_time|medium"])]
    assert (unlisted["quota"] == 0).all() and unlisted["weight"].isna().all()


def test_weights_sum_to_the_frame_size_per_stratum(draw):
    sums = draw.main.groupby("stratum")["weight"].sum()
    eligible = draw.strata.set_index("stratum")["eligible"]
    np.testing.assert_allclose(sums.to_numpy(), eligible[sums.index].to_numpy())


def test_reserves_are_ranked_and_never_overlap_the_main_sample(draw):
    assert not set(draw.main["customer_id"]) & set(draw.reserves["customer_id"])
    assert draw.sample["customer_id"].is_unique and draw.sample["sample_id"].is_unique
    for row in draw.strata.itertuples():
        ranks = draw.reserves.loc[draw.reserves["stratum"] == row.stratum, "reserve_rank"]
        assert ranks.tolist() == list(range(1, row.reserves + 1))
        assert row.reserves == min(3 * row.quota, row.eligible - row.quota)
    assert draw.main["reserve_rank"].isna().all() and (draw.main["wave"] == 1).all()
    assert (draw.reserves["wave"] >= 2).all()


def test_short_reserves_are_reported_not_hidden():
    scores, customers = synthetic(300, seed=2, shared_phones=0)
    d0 = draw_interview_sample(scores, customers, quotas=0, seed=0)
    small = d0.strata.sort_values("eligible").iloc[0]
    d = draw_interview_sample(
        scores, customers, quotas={small["stratum"]: int(small["eligible"]) - 1}, seed=0
    )
    row = d.strata.set_index("stratum").loc[small["stratum"]]
    assert row["reserves_requested"] == 3 * (small["eligible"] - 1)
    assert row["reserves"] == 1


def test_impossible_quota_names_the_stratum_and_how_many_are_eligible(frames, draw):
    scores, customers = frames
    row = draw.strata.iloc[0]
    with pytest.raises(SampleQuotaError) as info:
        draw_interview_sample(scores, customers, quotas={row["stratum"]: int(row["eligible"]) + 5})
    message = str(info.value)
    assert repr(row["stratum"]) in message and f"eligible {row['eligible']}" in message
    assert "lower" in message
    with pytest.raises(SampleQuotaError, match="0 eligible"):
        draw_interview_sample(scores, customers, quotas={"loyal|nonsense": 3})
    with pytest.raises(SampleQuotaError, match="more than the"):
        draw_interview_sample(scores, customers, quotas=10**6)
    with pytest.raises(SampleQuotaError, match="quota"):
        draw_interview_sample(
            scores, customers, quotas=int(draw.strata["eligible"].sum()), allocation="equal"
        )


def test_top_share_takes_the_top_of_each_population(frames):
    scores, customers = frames
    d = draw_interview_sample(scores, customers, quotas=0, threshold=None, top_share=0.2)
    kept = 0
    for pop in ("loyal", "first_time"):
        p = scores.loc[(scores["population"] == pop) & scores["p_churn"].notna(), "p_churn"]
        kept += int(np.ceil(0.2 * len(p)))
    excluded = d.frame_report.set_index("reason").loc["not_predicted_churner", "excluded"]
    asked = scores["population"].isin(["loyal", "first_time"]) & scores["p_churn"].notna()
    assert asked.sum() - excluded == kept


def test_contrast_group_is_flagged_and_stratified_apart(frames):
    scores, customers = frames
    d = draw_interview_sample(scores, customers, quotas=50, contrast=4, seed=2)
    contrast = d.main[d.main["group"] == "contrast"]
    assert contrast.groupby("stratum").size().to_dict() == {
        "contrast|first_time": 4,
        "contrast|loyal": 4,
    }
    assert (contrast["risk_band"] == "low").all()
    assert (d.main.loc[d.main["group"] == "churner", "p_churn"] >= 0.5).all()
    assert d.strata.loc[d.strata["group"] == "churner", "quota"].sum() == 50


# -- de-duplication ----------------------------------------------------------------------------
def test_one_customer_per_household_linked_by_phone_or_email():
    ids = ["a", "b", "c", "d", "e"]
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "population": "loyal",
            "p_churn": [0.9, 0.8, 0.7, 0.95, 0.3],
            "risk_band": ["high", "high", "medium", "high", "low"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            # a, b, c share one phone in three spellings; d shares c's e-mail; e is alone
            "phone": [
                "+7 (912) 345-67-89",
                "89123456789",
                "7 912 345 67 89",
                None,
                "+7 900 000-00-00",
            ],
            "email": [None, "x@y.ru", "Shared@Mail.ru", " shared@mail.ru", "e@mail.ru"],
            "research_opt_in": True,
        }
    )
    d = draw_interview_sample(scores, customers, quotas=0, contrast=1, seed=5)
    report = d.frame_report.set_index("reason")
    assert report.loc["duplicate_household", "excluded"] == 3
    assert d.strata.set_index("stratum")["eligible"].to_dict() == {
        "loyal|high": 1,
        "contrast|loyal": 1,
    }
    # the household keeps a predicted churner rather than its contrast case: with e in a's
    # household no contrast case is left, and asking for one is an impossible quota
    customers.loc[4, "phone"] = "89123456789"
    with pytest.raises(SampleQuotaError, match=r"contrast\|loyal"):
        draw_interview_sample(scores, customers, quotas=0, contrast=1, seed=5)
    d = draw_interview_sample(scores, customers, quotas=0, seed=5)
    assert d.frame_report.set_index("reason").loc["duplicate_household", "excluded"] == 3
    assert d.strata["stratum"].tolist() == ["loyal|high"]


def test_phone_and_email_normalization():
    assert normalize_phone(
        pd.Series(["8 (912) 345-67-89", "+44 20 7946 0958", "123"])
    ).tolist() == [
        "79123456789",
        "442079460958",
        pd.NA,
    ]
    assert normalize_email(pd.Series(["A@B.RU", "no-at-sign", ""])).tolist() == [
        "a@b.ru",
        pd.NA,
        pd.NA,
    ]


# -- determinism and pseudonyms ----------------------------------------------------------------
def test_same_inputs_and_seed_give_the_same_sample_whatever_the_row_order(frames, draw):
    scores, customers = frames
    again = draw_interview_sample(
        scores.sample(frac=1, random_state=1),
        customers.sample(frac=1, random_state=2),
        quotas=120,
        seed=3,
    )
    pd.testing.assert_frame_equal(draw.sample, again.sample)
    pd.testing.assert_frame_equal(draw.strata, again.strata)
    other = draw_interview_sample(scores, customers, quotas=120, seed=4)
    assert set(other.main["customer_id"]) != set(draw.main["customer_id"])
    # the frame itself does not depend on the seed
    pd.testing.assert_frame_equal(other.strata, draw.strata)


def test_sample_ids_are_keyed_pseudonyms(frames, draw):
    scores, customers = frames
    ids = draw.sample["sample_id"]
    assert ids.str.fullmatch(r"S[0-9a-f]{12}").all()
    assert not any(c[1:] in s for c, s in zip(draw.sample["customer_id"], ids, strict=True))
    keyed = draw_interview_sample(scores, customers, quotas=120, seed=3, id_key="secret")
    assert keyed.sample["customer_id"].tolist() == draw.sample["customer_id"].tolist()
    assert not set(keyed.sample["sample_id"]) & set(ids)
    assert keyed.params["id_key"] == "given" and "secret" not in str(keyed.params)


def test_sample_carries_no_contact_details(draw):
    assert not {"phone", "email", "first_name", "timezone"} & set(draw.sample.columns)
    assert list(draw.contacts.columns) == ["sample_id", "first_name", "phone", "email", "timezone"]


# -- bad input ---------------------------------------------------------------------------------
def test_bad_inputs_say_what_to_fix(frames):
    scores, customers = frames
    with pytest.raises(MissingColumnError, match="research_opt_in"):
        draw_interview_sample(scores, customers.drop(columns="research_opt_in"), quotas=1)
    with pytest.raises(MissingColumnError, match="p_churn"):
        draw_interview_sample(scores.drop(columns="p_churn"), customers, quotas=1)
    with pytest.raises(ValueError, match="unique"):
        draw_interview_sample(pd.concat([scores, scores.head(2)]), customers, quotas=1)
    with pytest.raises(MissingColumnError, match="strata"):
        draw_interview_sample(scores, customers, quotas=1, strata=("population", "region"))
    with pytest.raises(ValueError, match="exactly one"):
        draw_interview_sample(scores, customers, quotas=1, top_share=0.1)
    with pytest.raises(ValueError, match="contacted_at"):
        draw_interview_sample(
            scores, customers, quotas=1, contact_history=pd.DataFrame({"customer_id": ["K1"]})
        )


# -- interviewer context -----------------------------------------------------------------------
def test_interviewer_context_on_a_hand_made_log():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c"],
            "order_id": ["1", "1", "2", "3", "4", "5"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-03-01", "2024-03-05", "2024-02-01", "2024-02-02"]
            ),
            "revenue": [100.0, 50.0, 300.0, -20.0, 900.0, 10.0],
            "is_return": [False, False, False, True, False, False],
            "category": ["food", "toys", "food", "food", "litter", "toys"],
            "channel": ["app", "app", "site", "site", "site", "app"],
            "device": ["ios", "ios", "web", "web", "web", "ios"],
            "bonus_earned": [10.0, 0.0, 30.0, 0.0, 90.0, 1.0],
            "bonus_spent": [0.0, 0.0, 5.0, 0.0, 0.0, 0.0],
            "bonus_expired": [0.0, 0.0, 0.0, 4.0, 0.0, 0.0],
        }
    )
    ctx = interviewer_context(
        TransactionLog(orders), pd.Series(["a", "b", "zz"]), pd.Timestamp("2024-03-31")
    )
    a = ctx.set_index("customer_id").loc["a"]
    assert a["last_order_date"] == pd.Timestamp("2024-03-01")  # the return is no order
    assert a["days_since_last_order"] == 30 and a["orders"] == 2
    # AOV: a = 450 / 2 = 225, b = 900, c = 10 -> terciles put a in the middle
    assert a["aov_band"] == "medium" and ctx.set_index("customer_id").loc["b", "aov_band"] == "high"
    assert a["top_categories"] == "food; toys"
    assert a["main_channel"] == "app" and a["main_device"] == "ios"  # tie 1:1, alphabetical
    assert a["bonus_balance"] == 31.0 and a["bonus_expired_90d"] == 4.0
    assert ctx.set_index("customer_id").loc["zz"].isna()[["last_order_date", "aov_band"]].all()


def test_side_tables_from_files_and_unreadable_flags(frames, tmp_path):
    scores, customers = frames
    base = draw_interview_sample(scores, customers, quotas=0, seed=1)
    drawn = base.frame_report.set_index("reason")
    frame_ids = draw_interview_sample(
        scores,
        customers,
        quotas=dict(zip(base.strata["stratum"], base.strata["eligible"], strict=True)),
    ).sample["customer_id"]
    # a one-column do-not-contact file and a 1C-style history (dd.mm.yyyy, ';')
    (tmp_path / "dnc.csv").write_text("customer_id\n" + "\n".join(frame_ids[:7]) + "\n")
    (tmp_path / "history.csv").write_text(
        "customer_id;contacted_at\n"
        + "".join(f"{c};15.12.2024\n" for c in frame_ids[7:12])
        + "".join(f"{c};01.01.2023\n" for c in frame_ids[12:20])  # too long ago to count
    )
    d = draw_interview_sample(
        scores,
        customers,
        quotas=0,
        do_not_contact=tmp_path / "dnc.csv",
        contact_history=tmp_path / "history.csv",
        seed=1,
    )
    report = d.frame_report.set_index("reason")
    assert report.loc["do_not_contact", "excluded"] == 7
    assert report.loc["recently_contacted", "excluded"] == 5
    assert report["remaining"].iloc[-1] == drawn["remaining"].iloc[-1] - 12
    assert report.loc["scored", "remaining_churners"] is pd.NA
    assert report["remaining_churners"].iloc[-1] == d.strata["eligible"].sum()
    bad = customers.assign(
        is_test=customers["is_test"].map({True: "да", False: "нет"}).astype(object)
    )
    bad.loc[5, "is_test"] = "возможно"
    with pytest.raises(ValueError, match=r"'is_test'.*'возможно'"):
        draw_interview_sample(scores, bad, quotas=1)
    bad.loc[5, "is_test"] = "нет"  # Russian yes/no flags are read
    same = draw_interview_sample(scores, bad, quotas=0, seed=1)
    pd.testing.assert_frame_equal(same.frame_report, base.frame_report)


def test_more_reserves_extend_the_list_without_reordering_it(frames, draw):
    scores, customers = frames
    more = draw_interview_sample(scores, customers, quotas=120, seed=3, reserve_ratio=5)
    cols = ["sample_id", "customer_id", "stratum", "is_reserve", "reserve_rank"]
    merged = draw.sample[cols].merge(more.sample[cols], on="sample_id", suffixes=("", "_more"))
    assert len(merged) == len(draw.sample)
    for c in cols[1:]:
        assert merged[c].equals(merged[f"{c}_more"]), c


def test_segments_narrow_the_frame_and_are_counted(frames):
    scores, customers = frames
    d = draw_interview_sample(scores, customers, quotas=10, segments=["at_risk"], seed=1)
    assert (d.sample["segment"] == "at_risk").all()
    asked = scores["population"].isin(["loyal", "first_time"])
    report = d.frame_report.set_index("reason")
    assert (
        report.loc["segment_not_requested", "excluded"]
        == (asked & (scores["segment"] != "at_risk")).sum()
    )
    with pytest.raises(MissingColumnError, match="segment"):
        draw_interview_sample(scores.drop(columns="segment"), customers, quotas=1, segments=["x"])
