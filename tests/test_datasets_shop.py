"""The demo shop generator: determinism, schema, planted mechanisms, the oracle and the CSV export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from churnkit import ConfigError
from churnkit.datasets import Shop, make_shop
from churnkit.datasets._shop import _start_process, _streams
from churnkit.datasets._shop_oracle import _rate_nodes
from churnkit.datasets._shop_setup import DEFAULT_PARAMS, FIXABLE, OBVIOUS

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def shop() -> Shop:
    return make_shop(n_customers=20_000, seed=0)


@pytest.fixture(scope="module")
def small() -> Shop:
    return make_shop(n_customers=1_500, seed=3)


def purchases(shop: Shop) -> pd.DataFrame:
    """One row per purchase occasion (customer, day) with the day's last delivery and device."""
    sales = shop.orders[shop.orders["revenue"] > 0]
    return sales.drop_duplicates(["customer_id", "order_date"], keep="last")


def last_before_churn(shop: Shop) -> pd.DataFrame:
    """Each churner's truth row joined with their last purchase (on or before the churn day)."""
    churners = shop.truth[shop.truth["churned"]]
    buys = purchases(shop).merge(churners[["customer_id", "churn_date"]], on="customer_id")
    last = buys[buys["order_date"] <= buys["churn_date"]].groupby("customer_id").tail(1)
    return churners.merge(last.drop(columns="churn_date"), on="customer_id", how="left")


# -- determinism and schema --------------------------------------------------------------------
def test_same_seed_same_frames_and_other_seed_differs(small):
    again = make_shop(n_customers=1_500, seed=3)
    for name in ("orders", "customers", "truth", "bonus_expiries"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(again, name))
    other = make_shop(n_customers=1_500, seed=4)
    assert not small.orders.head(500).equals(other.orders.head(500))
    assert not small.truth["churn_date"].equals(other.truth["churn_date"])


def test_orders_schema(small):
    o = small.orders
    assert list(o.columns) == [
        "customer_id", "order_id", "order_date", "revenue", "quantity", "category", "channel",
        "device", "app_version", "region", "discount", "delivery_days", "bonus_earned",
        "bonus_spent", "bonus_expired", "quality_issue",
    ]  # fmt: skip
    for column in ("customer_id", "order_id", "category", "device", "region", "quality_issue"):
        assert o[column].dtype == "string", column
        assert o[column].notna().all(), column
    assert o["order_date"].dtype == "datetime64[ns]"
    assert (o["order_date"] == o["order_date"].dt.normalize()).all()
    assert o["order_date"].between(small.start, small.end).all()
    assert o["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert np.allclose(o["revenue"], o["revenue"].round(2))
    assert (o["revenue"] != 0).all()
    assert 0.005 < (o["revenue"] < 0).mean() < 0.02  # about 1% returned lines
    assert ((o["revenue"] < 0) == (o["quantity"] < 0)).all()
    assert o["discount"].between(0, 1).all()
    assert set(o["quality_issue"]) == {"none", "damaged", "near_expiry"}
    assert set(o["category"]) >= {"dry food", "wet food", "litter", "treats", "pharmacy"}
    app = o["device"].isin(["android_app", "ios_app"])
    assert (o.loc[app, "channel"] == "app").all() and (o.loc[~app, "channel"] == "site").all()
    assert o.loc[app, "app_version"].notna().all() and o.loc[~app, "app_version"].isna().all()
    lines_per_order = len(o[o["revenue"] > 0]) / o["order_id"].nunique()
    assert 1.2 < lines_per_order < 1.45
    # order-level bonus amounts sit on one line per order
    assert (o.groupby("order_id")["bonus_earned"].apply(lambda s: (s > 0).sum()) <= 1).all()


def test_customers_and_truth_schema(small):
    c, t = small.customers, small.truth
    assert c["customer_id"].is_unique and c["customer_id"].is_monotonic_increasing
    assert c["customer_id"].tolist() == t["customer_id"].tolist()
    assert set(small.orders["customer_id"]) <= set(c["customer_id"])
    assert len(set(c["customer_id"]) - set(small.orders["customer_id"])) > 0  # never bought
    for column in ("research_opt_in", "marketing_opt_in", "is_employee", "is_test"):
        assert c[column].dtype == bool, column
    assert 0.6 < c["research_opt_in"].mean() < 0.7
    assert c["registered_at"].between(small.start, small.end).all()
    assert c["email"].str.contains("@").all() and c["phone"].str.startswith("+7 9").all()

    assert (t["churned"] == t["churn_date"].notna()).all()
    churned = t[t["churned"]]
    assert (
        churned["churn_reason"].notna().all() and t.loc[~t["churned"], "churn_reason"].isna().all()
    )
    assert (churned["churn_reasons"].str.split(";").str[0] == churned["churn_reason"]).all()
    assert (churned["churn_date"] >= churned["first_purchase"]).all()
    assert t["price_sensitivity"].between(0, 1).all() and (t["purchase_rate"] > 0).all()


def test_nobody_buys_after_churning(small):
    buys = purchases(small).merge(small.truth, on="customer_id")
    assert not (buys["order_date"] > buys["churn_date"]).any()
    first = buys.groupby("customer_id")["order_date"].min()
    assert (first == small.truth.set_index("customer_id").loc[first.index, "first_purchase"]).all()


def test_unknown_parameter_and_bad_period_raise():
    with pytest.raises(ConfigError, match=r"unknown parameter.*'pirce'"):
        make_shop(100, params={"pirce": 0.1})
    with pytest.raises(ConfigError, match="at least 30 days"):
        make_shop(100, start="2024-01-01", end="2024-01-10")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    days=st.integers(30, 900),
    ttl=st.integers(7, 200),
)
def test_any_small_shop_is_consistent(n, seed, days, ttl):
    start = pd.Timestamp("2021-03-01")
    shop = make_shop(n, seed=seed, start=start, end=start + days * DAY, bonus_ttl_days=ttl)
    assert len(shop.truth) == len(shop.customers) == n
    assert shop.orders["order_date"].between(shop.start, shop.end).all()
    buys = purchases(shop).merge(shop.truth, on="customer_id")
    assert not (buys["order_date"] > buys["churn_date"]).any()
    p = shop.p_no_purchase(start + (days // 2) * DAY, 60)
    assert p.between(0, 1).all()


def test_a_shop_without_orders_still_works(tmp_path):
    shop = make_shop(1, seed=4, start="2024-01-01", end="2024-02-15")  # never buys
    assert shop.orders.empty and list(shop.truth["churned"]) == [False]
    assert shop.p_no_purchase("2024-02-01", 30).empty
    assert shop.to_csv(tmp_path / "orders.csv", dirty=True)["rows"] == 0


# -- planted mechanisms ------------------------------------------------------------------------
def test_obvious_fixable_split_is_80_20(shop):
    reason = shop.truth["churn_reason"].dropna()
    obvious, fixable = reason.isin(OBVIOUS).sum(), reason.isin(FIXABLE).sum()
    assert obvious / (obvious + fixable) == pytest.approx(0.80, abs=0.03)
    assert 0.01 < (reason == "no_need").mean() < 0.08
    assert set(reason) == {*OBVIOUS, *FIXABLE, "no_need"}
    assert 0.1 < shop.truth["churn_reasons"].dropna().str.contains(";").mean() < 0.4


def test_price_sensitive_customers_buy_on_discount_and_leave_in_promotions(shop):
    discount = shop.orders.groupby("customer_id")["discount"].mean()
    sens = shop.truth.set_index("customer_id").loc[discount.index, "price_sensitivity"]
    assert np.corrcoef(sens, discount)[0, 1] > 0.3
    promo_days = pd.DatetimeIndex(
        np.concatenate(
            [pd.date_range(s, e) for s, e in shop.competitor_promotions.itertuples(index=False)]
        )
    )
    churned = shop.truth[shop.truth["churned"]]
    in_promo = churned["churn_date"].isin(promo_days)
    price = churned["churn_reason"] == "price"
    assert in_promo[price].mean() > 2 * in_promo[~price].mean()


def test_slow_deliveries_precede_delivery_churn(shop):
    last = last_before_churn(shop)
    slow = last["delivery_days"] > DEFAULT_PARAMS["slow_delivery_days"]
    delivery = last["churn_reason"] == "delivery"
    # the delivery hazard comes only from the last delivery being slow
    assert slow[delivery].all()
    assert delivery[slow].mean() > 1.5 * delivery.mean()
    by_region = last.groupby("home_region")["churn_reason"].apply(
        lambda r: (r == "delivery").mean()
    )
    assert by_region["Vladivostok"] > 3 * by_region["Moscow"]


def test_buggy_app_version_precedes_technical_churn(shop):
    bug = shop.app_releases[shop.app_releases["failing_carts"]].iloc[0]
    on_bug = purchases(shop)
    on_bug = on_bug[(on_bug["device"] == bug["device"]) & (on_bug["app_version"] == bug["version"])]
    first_bug_order = on_bug.groupby("customer_id")["order_date"].min()
    churned = shop.truth[shop.truth["churned"]].set_index("customer_id")
    technical = churned[churned["churn_reason"] == "technical"]
    assert len(technical) > 50
    assert technical.index.isin(first_bug_order.index).all()
    assert (first_bug_order[technical.index] <= technical["churn_date"]).all()
    assert (technical["churn_date"] >= bug["released_at"]).all()


def test_quality_issues_precede_trust_churn(shop):
    issues = purchases(shop)
    issues = issues[issues["quality_issue"] != "none"]
    churned = shop.truth[shop.truth["churned"]]
    trust = churned[churned["churn_reason"] == "trust"]
    assert len(trust) > 50
    assert trust["customer_id"].isin(issues["customer_id"]).all()
    hit = churned["customer_id"].isin(issues["customer_id"])
    assert (churned.loc[hit, "churn_reason"] == "trust").mean() > 5 * (
        churned.loc[~hit, "churn_reason"] == "trust"
    ).mean()


def test_churn_rises_after_a_bonus_expiry(shop):
    # at month ends, repeat buyers still alive: churn in the next 60 days after a fresh expiry
    # that is large enough to notice, against no expiry in the last 150 days
    buys = purchases(shop)
    truth = shop.truth.set_index("customer_id")
    exp = shop.bonus_expiries
    felt = exp[exp["points"] >= DEFAULT_PARAMS["loyalty_min_expired"]]
    after, without = [], []
    for cutoff in pd.date_range("2023-01-31", "2024-09-30", freq="ME"):
        n = buys[buys["order_date"] <= cutoff].groupby("customer_id").size()
        alive = ~(truth["churn_date"] <= cutoff)
        repeat = n.index[n >= 2].intersection(truth.index[alive])
        fresh = felt[felt["expired_on"].between(cutoff - 14 * DAY, cutoff)]["customer_id"]
        recent = exp[exp["expired_on"].between(cutoff - 149 * DAY, cutoff)]["customer_id"]
        churn = truth["churn_date"] <= cutoff + 60 * DAY
        after.append(churn[repeat.intersection(fresh)])
        without.append(churn[repeat.difference(recent)])
    after, without = pd.concat(after), pd.concat(without)
    assert len(after) > 1_000
    assert after.mean() > 2 * without.mean()


def test_bonus_points_are_spent_fifo_and_expire_after_ttl(small):
    o = small.orders
    assert (o["bonus_spent"] >= 0).all() and (o["bonus_expired"] >= 0).all()
    per = o.groupby("customer_id")[["bonus_earned", "bonus_spent", "bonus_expired"]].sum()
    assert (per["bonus_spent"] + per["bonus_expired"] <= per["bonus_earned"] + 1e-9).all()
    # a customer who never came back loses the first order's points exactly ttl days later
    buys = purchases(small)
    once = buys.groupby("customer_id").filter(lambda g: len(g) == 1)
    once = once[(once["bonus_earned"] > 0) & (once["order_date"] + 120 * DAY < small.end)]
    exp = small.bonus_expiries.set_index("customer_id").loc[once["customer_id"]]
    assert (exp["expired_on"].to_numpy() == (once["order_date"] + 90 * DAY).to_numpy()).all()
    assert np.allclose(exp["points"], once["bonus_earned"])


def test_first_time_and_repeat_buyers_differ(shop):
    buys = purchases(shop)
    n = buys.groupby("customer_id").size()
    assert 0.35 < (n == 1).mean() < 0.65  # one-time buyers are common
    channel = shop.customers.set_index("customer_id")["acquisition_channel"]
    one_off, loyal = channel[n.index[n == 1]], channel[n.index[n >= 4]]
    share = pd.DataFrame(
        {
            "one_off": one_off.value_counts(normalize=True),
            "loyal": loyal.value_counts(normalize=True),
        }
    )
    assert share.loc["marketplace", "one_off"] > 1.5 * share.loc["marketplace", "loyal"]
    assert share.loc["referral", "loyal"] > 1.5 * share.loc["referral", "one_off"]


def test_base_grows_and_december_peaks(shop):
    signups = shop.customers["registered_at"].dt.year.value_counts()
    assert signups[2024] > 1.8 * signups[2022]
    per_month = purchases(shop).groupby(pd.Grouper(key="order_date", freq="MS")).size()
    per_day = per_month / per_month.index.days_in_month
    assert per_day["2023-12-01"] > 1.1 * (per_day["2023-11-01"] + per_day["2024-02-01"]) / 2


# -- the oracle -----------------------------------------------------------------------------
def test_oracle_range_index_and_churned_customers(shop):
    cutoff = pd.Timestamp("2024-06-30")
    p = shop.p_no_purchase(cutoff, 90)
    truth = shop.truth.set_index("customer_id")
    started = truth.index[truth["first_purchase"] <= cutoff]
    assert p.index.equals(started.sort_values()) and p.name == "p_no_purchase"
    assert p.between(0, 1).all()
    gone = truth.loc[p.index, "churn_date"] <= cutoff
    assert (p[gone] == 1.0).all() and (p[~gone] < 1.0).all()
    assert p.equals(shop.p_no_purchase(cutoff, pd.Timedelta(days=90)))
    longer = shop.p_no_purchase(cutoff, 180)
    assert (longer <= p + 1e-12).all()


def test_oracle_base_rate_and_auc_at_a_late_cutoff(shop):
    cutoff, horizon = pd.Timestamp("2024-09-30"), 90
    buys = purchases(shop)
    last = buys[buys["order_date"] <= cutoff].groupby("customer_id")["order_date"].max()
    active = last.index[last > cutoff - 365 * DAY]
    window = buys[(buys["order_date"] > cutoff) & (buys["order_date"] <= cutoff + horizon * DAY)]
    no_purchase = ~active.isin(window["customer_id"])
    p = shop.p_no_purchase(cutoff, horizon)[active]
    assert 0.3 < no_purchase.mean() < 0.7
    assert p.mean() == pytest.approx(no_purchase.mean(), abs=0.02)
    assert 0.85 < roc_auc_score(no_purchase, p) < 0.98


def test_oracles_without_hidden_state_are_calibrated_and_nested(shop):
    """Hiding whether a customer has left, then their purchase rate, leaves probabilities that
    are still exact given what is known, so they must match the outcomes bin by bin; each one
    knows less, so each ranks the outcomes less well."""
    cutoff, horizon = pd.Timestamp("2024-06-30"), 90
    buys = purchases(shop)
    seen = buys[buys["order_date"] <= cutoff]
    window = buys[(buys["order_date"] > cutoff) & (buys["order_date"] <= cutoff + horizon * DAY)]
    state = shop.p_no_purchase(cutoff, horizon)
    y = ~state.index.isin(window["customer_id"])
    oracles = {
        "state": state,
        "traits": shop.p_no_purchase(cutoff, horizon, alive_known=False),
        "orders": shop.p_no_purchase(cutoff, horizon, alive_known=False, rate_known=False),
    }
    auc = {}
    for name, p in oracles.items():
        assert p.index.equals(state.index) and p.between(0, 1).all()
        bins = pd.qcut(p.rank(method="first"), 10, labels=False)
        frame = pd.DataFrame({"p": p.to_numpy(), "y": y, "var": (p * (1 - p)).to_numpy()})
        per_bin = frame.groupby(bins.to_numpy()).agg(["sum", "size"])
        gap = (per_bin[("p", "sum")] - per_bin[("y", "sum")]).abs()
        assert (gap <= 4 * np.sqrt(per_bin[("var", "sum")]) + 1).all(), name
        auc[name] = roc_auc_score(y, p)
    assert auc["state"] > auc["traits"] > auc["orders"] > 0.8
    # bought on the cutoff day: alive for sure, so hiding that changes nothing
    today = seen.groupby("customer_id")["order_date"].max().eq(cutoff)
    today = today.index[today]
    assert np.allclose(oracles["traits"][today], state[today], rtol=0, atol=1e-12)
    with pytest.raises(ConfigError, match="rate_known=False needs alive_known=False"):
        shop.p_no_purchase(cutoff, horizon, rate_known=False)


@pytest.mark.parametrize("bad", ["2021-12-31", "2025-01-01"])
def test_oracle_rejects_a_cutoff_outside_the_period(small, bad):
    with pytest.raises(ValueError, match="outside the shop's period"):
        small.p_no_purchase(bad, 90)


def _replay_in_bug_window(n: int, seed: int = 11):
    """A shop, a cutoff inside its app-bug window, and its process rebuilt at the start."""
    shop = make_shop(n, seed=seed)
    bug = shop.app_releases[shop.app_releases["failing_carts"]].iloc[0]
    cutoff = bug["released_at"] + 40 * DAY
    n_days = (shop.end - shop.start).days + 1
    process, _ = _start_process(n, shop.start, n_days, 90, shop.params, _streams(seed))
    return shop, cutoff, (cutoff - shop.start).days, process


def _assert_monte_carlo_agrees(mc, oracle, copies):
    """Each estimate within 4 standard errors of the oracle, and their mean too."""
    se = np.sqrt(np.maximum(oracle * (1 - oracle), 1.0 / copies) / copies)
    assert (np.abs(mc - oracle) <= 4 * se).all()
    assert abs((mc - oracle).mean()) <= 4 * np.sqrt((se**2).sum()) / len(oracle)


def test_oracle_equals_monte_carlo_resimulation():
    # rebuild make_shop's process up to a cutoff inside the app-bug window, copy each customer
    # 2,000 times and let the real simulation step run on through the window
    horizon, copies = 90, 2_000
    shop, cutoff, day, process = _replay_in_bug_window(1_500)
    process.run(0, day + 1)

    started = np.flatnonzero(process.x["first_day"] <= day)
    chosen = np.sort(np.random.default_rng(0).choice(started, 300, replace=False))
    clone = process.replicate(chosen, copies, np.random.default_rng(1))
    clone.run(day + 1, day + horizon + 1)
    bought = np.zeros(len(clone.alive), bool)
    bought[clone.history()["cust"]] = True
    mc = 1.0 - bought.reshape(len(chosen), copies).mean(axis=1)

    ids = shop._hidden.customer_ids.take(chosen).to_pylist()
    oracle = shop.p_no_purchase(cutoff, horizon)[ids].to_numpy()
    _assert_monte_carlo_agrees(mc, oracle, copies)
    assert 0.2 < oracle.mean() < 0.9  # a mix of likely and unlikely buyers was checked


def test_oracle_without_alive_state_equals_monte_carlo_given_the_silence():
    # copies of customers right after their last purchase before the cutoff run on through
    # the silence and the window; among the copies that stayed silent to the cutoff, the share
    # that buys nothing in the window is what the oracle must give without knowing who is alive
    horizon, copies = 90, 2_000
    shop, cutoff, day, process = _replay_in_bug_window(4_000)
    hist = shop._hidden.hist
    upto = hist["day"] <= day
    last = pd.Series(hist["day"][upto]).groupby(hist["cust"][upto]).max()
    mc, chosen_all, kept_all = [], [], []
    done = 0
    for silence in (120, 60, 30, 10):
        process.run(done, day - silence + 1)
        done = day - silence + 1
        chosen = np.sort(last.index[last == day - silence].to_numpy())
        clone = process.replicate(chosen, copies, np.random.default_rng(silence))
        clone.run(done, day + horizon + 1)
        bought = clone.history()
        quiet, gone = np.ones(len(clone.alive), bool), np.ones(len(clone.alive), bool)
        quiet[bought["cust"][bought["day"] <= day]] = False
        gone[bought["cust"]] = False
        quiet, gone = quiet.reshape(-1, copies), gone.reshape(-1, copies)
        mc.append(gone.sum(axis=1) / quiet.sum(axis=1))
        chosen_all.append(chosen)
        kept_all.append(quiet.sum(axis=1))
    mc, kept = np.concatenate(mc), np.concatenate(kept_all)
    ids = shop._hidden.customer_ids.take(np.concatenate(chosen_all)).to_pylist()
    oracle = shop.p_no_purchase(cutoff, horizon, alive_known=False)[ids].to_numpy()
    assert len(ids) >= 30
    _assert_monte_carlo_agrees(mc, oracle, kept)


def test_purchase_rate_likelihood_matches_a_day_by_day_count(small):
    # on each day between the first and the last purchase an alive customer buys with
    # 1 - exp(-rate s(d)); the nodes' log weights must be the prior weight plus that log
    # likelihood, recounted here day by day for a few customers
    h, cal = small._hidden, small._hidden.cal
    cutoff = (pd.Timestamp("2023-06-30") - small.start).days
    n_hist = int(np.searchsorted(h.hist["day"], cutoff, "right"))
    k = int(np.searchsorted(h.x["first_day"], cutoff, "right"))
    cust, day = h.hist["cust"][:n_hist], h.hist["day"][:n_hist]
    last = pd.Series(day).groupby(cust).max().reindex(range(k)).to_numpy()
    lam, log_weight = _rate_nodes(h.x, h.hist, n_hist, k, last, cal, small.params)
    _, w = np.polynomial.hermite_e.hermegauss(lam.shape[0])
    counts = np.bincount(cust, minlength=k)
    for c in np.flatnonzero(counts >= 3)[:5]:
        days = set(day[cust == c].tolist())
        for g in (0, lam.shape[0] // 2, lam.shape[0] - 1):
            expected = np.log(w[g])
            for d in range(int(h.x["first_day"][c]) + 1, int(last[c]) + 1):
                rate = lam[g, c] * cal.season[d]  # P(no purchase) = exp(-rate)
                expected += np.log(-np.expm1(-rate)) if d in days else -rate
            assert log_weight[g, c] == pytest.approx(expected, rel=1e-9, abs=1e-9)


# -- the 1C-style export --------------------------------------------------------------------
def read_export(path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", encoding="cp1251", dtype=str, keep_default_na=False)


def test_clean_export_round_trips(small, tmp_path):
    info = small.to_csv(tmp_path / "orders.csv")
    raw = (tmp_path / "orders.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    df = read_export(tmp_path / "orders.csv")
    assert info["planted"] == {} and info["rows"] == len(df) == len(small.orders)
    assert list(df.columns) == [
        {**info["columns"], **info["other_columns"]}[c] for c in small.orders.columns
    ]
    assert info["columns"]["order_date"] == "Дата заказа"
    dates = pd.to_datetime(df["Дата заказа"], format="%d.%m.%Y")
    assert (dates.to_numpy() == small.orders["order_date"].to_numpy()).all()
    revenue = df["Сумма"].str.replace("\u00a0", "").str.replace(",", ".").astype(float)
    assert np.allclose(revenue, small.orders["revenue"])
    assert not df.duplicated().any()


def test_dirty_export_lists_exactly_the_planted_rows(small, tmp_path):
    info = small.to_csv(tmp_path / "orders.csv", dirty=True)
    df = read_export(tmp_path / "orders.csv")
    planted = info["planted"]
    assert set(planted) == {
        "exact_duplicate", "missing_customer_id", "unparseable_date", "non_numeric_revenue",
    }  # fmt: skip
    rows = [r for v in planted.values() for r in v]
    assert len(rows) == len(set(rows)) == 16 and len(df) == len(small.orders) + 4
    found = {
        "exact_duplicate": df.index[df.duplicated()],
        "missing_customer_id": df.index[df["Код клиента"] == ""],
        "unparseable_date": df.index[
            pd.to_datetime(df["Дата заказа"], format="%d.%m.%Y", errors="coerce").isna()
        ],
        "non_numeric_revenue": df.index[df["Сумма"] == "н/д"],
    }
    for problem, index in found.items():
        assert sorted(index + 1) == planted[problem], problem
    assert (df.loc[np.array(planted["unparseable_date"]) - 1, "Дата заказа"] == "31.02.2023").all()


def test_customers_export_uses_da_net(small, tmp_path):
    mapping = small.customers_to_csv(tmp_path / "customers.csv")
    df = read_export(tmp_path / "customers.csv")
    assert mapping["is_test"] in df.columns and mapping["customer_id"] == "Код клиента"
    assert set(df[mapping["research_opt_in"]]) == {"да", "нет"}
    assert (df[mapping["is_test"]] == "да").sum() == small.customers["is_test"].sum()
    assert df[mapping["first_name"]].str.len().gt(0).all()
