"""BG/NBD, Gamma-Gamma and the RFM summary, checked against published CDNOW values.

Reference data (tests/data/cdnow/, provenance in its README): the CDNOW 1/10 sample of Fader,
Hardie & Lee (2005): 2,357 customers, 39-week calibration period, time unit = week.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime

from churnkit.core._errors import (
    ChurnkitError,
    ConfigError,
    DataValidationError,
    MissingColumnError,
)
from churnkit.features._rfm_summary import rfm_summary
from churnkit.io._transaction_log import TransactionLog
from churnkit.models._bgnbd import BGNBD, _Summary
from churnkit.models._gamma_gamma import GammaGamma, expected_revenue

CDNOW = Path(__file__).parent / "data" / "cdnow"
# Fader, Hardie & Lee (2005), Marketing Science 24(2), p. 280: MLEs on the CDNOW sample
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", on the 946 repeat buyers
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def _cdnow_log() -> TransactionLog:
    """The raw CDNOW sample (one line per order, 1997-01-01 to 1998-06-30) as a log."""
    with gzip.open(CDNOW / "CDNOW_sample.txt.gz", "rt") as fh:
        raw = pd.read_csv(
            fh,
            sep=r"\s+",
            header=None,
            names=["master_id", "customer_id", "order_date", "quantity", "revenue"],
            dtype={"customer_id": str, "order_date": str},
        )
    orders = raw.assign(
        customer_id=raw["customer_id"].astype(int).astype(str),
        order_date=pd.to_datetime(raw["order_date"], format="%Y%m%d"),
        is_return=raw["revenue"] < 0,
    )
    return TransactionLog(orders)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    """frequency, recency and T per customer: the BG/NBD input of the paper."""
    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """x, t_x, T and zbar (mean repeat spend) per customer, as summarised by the authors."""
    return pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")


@pytest.fixture(scope="module")
def bgnbd(summary: pd.DataFrame) -> BGNBD:
    return BGNBD().fit(summary["frequency"], summary["recency"], summary["T"])


@pytest.fixture(scope="module")
def raw_summary() -> pd.DataFrame:
    """The same summary computed by churnkit from the raw CDNOW transactions, unrounded."""
    log = _cdnow_log()
    summary = rfm_summary(log.purchases("1997-09-30"), "1997-09-30", time_unit_days=7)
    summary.index = summary.index.astype(int)
    return summary.sort_index()


@pytest.fixture(scope="module")
def gamma_gamma(raw_summary: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(raw_summary["frequency"], raw_summary["monetary_value"])


def simulate_bgnbd(
    rng: np.random.Generator, params: dict[str, float], T: np.ndarray, horizon: float
) -> pd.DataFrame:
    """Simulate the BG/NBD process itself, independently of any formula in churnkit.

    Each customer draws lambda ~ Gamma(r, rate alpha) and p ~ Beta(a, b), buys at Poisson
    times from 0 (their first purchase), and after each repeat purchase leaves with
    probability p. Returns the calibration summary at T and the purchases in (T, T+horizon].
    """
    n = T.size
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    now = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n)
    later = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0 / lam[active])
        active = active[now[active] <= T[active] + horizon]
        in_calibration = now[active] <= T[active]
        cal = active[in_calibration]
        x[cal] += 1
        t_x[cal] = now[cal]
        later[active[~in_calibration]] += 1
        active = active[rng.random(active.size) >= p[active]]
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "later": later})


# -- BG/NBD against the paper -------------------------------------------------------------------
def test_bgnbd_fit_matches_fader_hardie_lee_2005(bgnbd: BGNBD, summary: pd.DataFrame):
    """Fader, Hardie & Lee (2005), section 4: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
    LL = -9582.4 on the CDNOW sample (weeks). The paper rounds to 3 decimals, so each fitted
    value must round to the published one (|diff| <= 0.0005, tighter than rtol 1e-2)."""
    for name, value in PUBLISHED_BGNBD.items():
        assert bgnbd.params_[name] == pytest.approx(value, abs=5e-4), name
    assert bgnbd.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.1)
    assert bgnbd.n_customers_ == len(summary) == 2357


def test_bgnbd_likelihood_at_published_params(summary: pd.DataFrame):
    """The likelihood formula alone, without the optimiser: at the published parameters the
    CDNOW log-likelihood is -9582.4 (Fader, Hardie & Lee 2005)."""
    model = BGNBD.from_params(**PUBLISHED_BGNBD)
    assert model.log_likelihood(
        summary["frequency"], summary["recency"], summary["T"]
    ) == pytest.approx(PUBLISHED_LL, abs=0.1)


def test_bgnbd_conditional_expectation_matches_hardie_excel(bgnbd: BGNBD):
    """Fader, Hardie & Lee (2005), "Implementing the BG/NBD Model for Customer Base Analysis
    in Excel" (brucehardie.com/notes/004): a customer with x = 2, t_x = 30.43, T = 38.86 is
    expected to make 1.226 purchases in the next 39 weeks (eq. 10)."""
    assert bgnbd.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=1e-3)


def test_bgnbd_unconditional_expectation_matches_hardie_excel(bgnbd: BGNBD):
    """E[X(t)] (eq. 7) at the CDNOW fit, from the same Excel note's tracking sheet (these
    values are also the reference of lifetimes' test suite)."""
    t = np.array([0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0])
    expected = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(bgnbd.unconditional_expected_purchases(t), expected, atol=6e-4)


def test_bgnbd_gradient_matches_finite_differences(summary: pd.DataFrame):
    data = _Summary(
        summary["frequency"].to_numpy(float),
        summary["recency"].to_numpy(float),
        summary["T"].to_numpy(float),
    )
    for params in (np.array([0.3, 5.0, 0.9, 2.0]), np.array([2.0, 0.5, 3.0, 0.4])):
        analytic = data.loglik(params)[1]
        numeric = approx_fprime(params, lambda q: data.loglik(q)[0], 1e-7 * params)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4)


def test_bgnbd_fit_does_not_depend_on_the_time_unit(summary: pd.DataFrame, bgnbd: BGNBD):
    """Days instead of weeks: r, a, b and every probability stay, alpha is 7 times larger."""
    days = BGNBD().fit(summary["frequency"], 7 * summary["recency"], 7 * summary["T"])
    for name in ("r", "a", "b"):
        assert days.params_[name] == pytest.approx(bgnbd.params_[name], rel=1e-4)
    assert days.params_["alpha"] == pytest.approx(7 * bgnbd.params_["alpha"], rel=1e-4)
    np.testing.assert_allclose(
        days.p_no_purchase(7 * 13, summary["frequency"], 7 * summary["recency"], 7 * summary["T"]),
        bgnbd.p_no_purchase(13, summary["frequency"], summary["recency"], summary["T"]),
        rtol=1e-4,
    )


def test_bgnbd_penalizer_shrinks_parameters(summary: pd.DataFrame, bgnbd: BGNBD):
    penalized = BGNBD(penalizer=0.1).fit(summary["frequency"], summary["recency"], summary["T"])
    assert penalized.log_likelihood_ < bgnbd.log_likelihood_
    assert sum(v**2 for v in penalized.params_.values()) < sum(v**2 for v in bgnbd.params_.values())


# -- BG/NBD against its own process (Monte Carlo) --------------------------------------------
@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    rng = np.random.default_rng(20240601)
    T = rng.uniform(5.0, 40.0, 200_000)
    return simulate_bgnbd(rng, PUBLISHED_BGNBD, T, horizon=13.0)


def _groups(frame: pd.DataFrame) -> pd.Series:
    return pd.cut(frame["frequency"], [-1, 0, 1, 2, 4, 8, np.inf], labels=False)


def test_p_no_purchase_matches_monte_carlo(simulated: pd.DataFrame):
    """P(no purchase in (T, T+13] | x, t_x, T) is a conditional probability, so within any
    group defined by the calibration data its mean equals the simulated share of customers
    who then made no purchase (up to sampling error; 4 standard errors allowed)."""
    model = BGNBD.from_params(**PUBLISHED_BGNBD)
    s = simulated
    pred = model.p_no_purchase(13.0, s["frequency"], s["recency"], s["T"])
    silent = (s["later"] == 0).to_numpy()
    deciles = pd.qcut(pred, 10, labels=False, duplicates="drop")
    for groups in (_groups(s).to_numpy(), deciles):
        for g in np.unique(groups):
            mask = groups == g
            se = np.sqrt(np.sum(pred[mask] * (1 - pred[mask]))) / mask.sum()
            assert abs(pred[mask].mean() - silent[mask].mean()) < 4 * se + 1e-3, g


def test_expected_purchases_matches_monte_carlo(simulated: pd.DataFrame):
    """E[purchases in (T, T+13] | x, t_x, T] (eq. 10) against simulated counts, per frequency
    group (the shape of fig. 5 of Fader, Hardie & Lee 2005), within 4 standard errors."""
    model = BGNBD.from_params(**PUBLISHED_BGNBD)
    s = simulated
    pred = model.expected_purchases(13.0, s["frequency"], s["recency"], s["T"])
    groups = _groups(s).to_numpy()
    for g in np.unique(groups):
        mask = groups == g
        later = s["later"].to_numpy()[mask]
        se = later.std() / np.sqrt(mask.sum())
        assert abs(pred[mask].mean() - later.mean()) < 4 * se + 1e-3, g


def test_unconditional_expectation_matches_monte_carlo():
    """E[X(t)] (eq. 7) is the mean number of repeat purchases in (0, t] of new customers."""
    rng = np.random.default_rng(7)
    sim = simulate_bgnbd(rng, PUBLISHED_BGNBD, np.full(200_000, 39.0), horizon=0.0)
    model = BGNBD.from_params(**PUBLISHED_BGNBD)
    se = sim["frequency"].std() / np.sqrt(len(sim))
    assert abs(model.unconditional_expected_purchases(39.0) - sim["frequency"].mean()) < 4 * se


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(11)
    truth = {"r": 0.8, "alpha": 12.0, "a": 1.5, "b": 4.0}
    sim = simulate_bgnbd(rng, truth, rng.uniform(20.0, 60.0, 50_000), horizon=0.0)
    fitted = BGNBD().fit(sim["frequency"], sim["recency"], sim["T"]).params_
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=0.12), name


# -- BG/NBD: closed forms and properties ------------------------------------------------------
def test_one_time_buyers_have_p_alive_one_but_not_p_no_purchase_one():
    """Why 1 - p_alive is never a churn probability: for every one-time buyer it is 0,
    whatever T; p_no_purchase has the closed form ((alpha+T)/(alpha+T+h))^r instead."""
    m = BGNBD.from_params(**PUBLISHED_BGNBD)
    T = np.array([1.0, 10.0, 39.0, 200.0])
    zeros = np.zeros_like(T)
    assert np.all(m.p_alive(zeros, zeros, T) == 1.0)
    r, alpha = PUBLISHED_BGNBD["r"], PUBLISHED_BGNBD["alpha"]
    np.testing.assert_allclose(
        m.p_no_purchase(13.0, zeros, zeros, T), ((alpha + T) / (alpha + T + 13.0)) ** r
    )


@settings(max_examples=150, deadline=None)
@given(
    x=st.integers(0, 300),
    recency_share=st.floats(0.0, 1.0),
    T=st.floats(0.01, 500.0),
    h=st.floats(0.0, 1000.0),
)
def test_p_no_purchase_properties(x: int, recency_share: float, T: float, h: float):
    """In [0, 1]; 1 at h = 0; non-increasing in h; never below P(dead) = 1 - p_alive,
    which it reaches as h grows."""
    m = BGNBD.from_params(**PUBLISHED_BGNBD)
    t_x = recency_share * T if x > 0 else 0.0
    hs = np.array([0.0, h, h + 1.0, 1e40])
    p = m.p_no_purchase(hs, x, t_x, T)
    dead = 1.0 - m.p_alive(x, t_x, T)
    assert np.all((p >= 0) & (p <= 1))
    assert p[0] == pytest.approx(1.0)
    assert np.all(np.diff(p) <= 1e-12)
    assert np.all(p >= dead - 1e-9)
    assert p[-1] == pytest.approx(dead, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    x=st.integers(0, 500),
    recency_share=st.floats(0.0, 1.0),
    T=st.floats(0.01, 500.0),
    t=st.floats(0.01, 500.0),
)
def test_expected_purchases_properties(x: int, recency_share: float, T: float, t: float):
    """Finite, non-negative and increasing in t, including heavy buyers (no #NUM! overflow)."""
    m = BGNBD.from_params(**PUBLISHED_BGNBD)
    t_x = recency_share * T if x > 0 else 0.0
    e = m.expected_purchases(np.array([t, 2 * t]), x, t_x, T)
    assert np.all(np.isfinite(e))
    assert 0 <= e[0] <= e[1]


def test_prediction_shapes_and_scalars(summary: pd.DataFrame, bgnbd: BGNBD):
    assert isinstance(bgnbd.p_alive(1, 2.0, 10.0), float)
    out = bgnbd.p_no_purchase(13, summary["frequency"], summary["recency"], summary["T"])
    assert isinstance(out, np.ndarray) and out.shape == (len(summary),)
    assert bgnbd.expected_purchases([1.0, 2.0], 1, 2.0, 10.0).shape == (2,)


def test_unfitted_model_says_how_to_fix():
    with pytest.raises(ChurnkitError, match="not fitted"):
        BGNBD().p_alive(1, 1, 2)
    with pytest.raises(ChurnkitError, match="not fitted"):
        GammaGamma().population_mean_value()


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("frequency", "recency", "T", "words"),
    [
        ([1, -1], [1.0, 0.0], [2.0, 2.0], ["'frequency'", "negative", "index 'c2'", "-1.0"]),
        ([1, 2], [1.0, 3.0], [2.0, 2.0], ["'recency'", "greater than 'T'", "index 'c2'", "3.0"]),
        ([1, 1.5], [1.0, 1.0], [2.0, 2.0], ["'frequency'", "whole number", "index 'c2'", "1.5"]),
        ([1, 1], [1.0, np.nan], [2.0, 2.0], ["'recency'", "missing", "index 'c2'", "nan"]),
        ([1, 0], [1.0, 1.0], [2.0, 2.0], ["'recency'", "'frequency' is 0", "index 'c2'"]),
        ([1, 1], [1.0, 1.0], [2.0, -2.0], ["'T'", "negative", "index 'c2'", "-2.0"]),
    ],
)
def test_bad_summaries_name_column_index_and_value(frequency, recency, T, words):
    index = pd.Index(["c1", "c2"], name="customer_id")
    with pytest.raises(DataValidationError) as info:
        BGNBD().fit(
            pd.Series(frequency, index=index),
            pd.Series(recency, index=index),
            pd.Series(T, index=index),
        )
    for word in words:
        assert word in str(info.value)


def test_bad_input_without_index_names_position():
    with pytest.raises(DataValidationError, match=r"index 2 \(frequency=-3.0"):
        BGNBD.from_params(**PUBLISHED_BGNBD).p_alive([1, 2, -3], [0.5, 1, 1], [1, 2, 3])


def test_bad_parameters_and_horizons():
    with pytest.raises(ConfigError, match="penalizer"):
        BGNBD(penalizer=-1).fit([1, 0], [1, 0], [2, 2])
    with pytest.raises(ChurnkitError, match="repeat purchases"):
        BGNBD().fit([0, 0], [0, 0], [2, 3])
    with pytest.raises(DataValidationError, match="'h' must be >= 0"):
        BGNBD.from_params(**PUBLISHED_BGNBD).p_no_purchase(-1, 1, 1, 2)
    with pytest.raises(DataValidationError, match="numeric"):
        BGNBD().fit(["one"], [1], [2])
    with pytest.raises(ChurnkitError, match="finite and > 0"):
        BGNBD.from_params(r=0.0, alpha=1, a=1, b=1)


# -- Gamma-Gamma ------------------------------------------------------------------------------
def test_gamma_gamma_fit_matches_fader_hardie_2013(gamma_gamma: GammaGamma):
    """Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": p = 6.25, q = 3.74,
    gamma = 15.44 on the 946 CDNOW repeat buyers; the 1,411 one-time buyers are excluded.
    Published to 2 decimals, so each fitted value must round to it (|diff| <= 0.005). Fitted
    on unrounded mean spends (the summary file's zbar is rounded to cents, which moves v by
    0.004)."""
    for name, value in PUBLISHED_GG.items():
        assert gamma_gamma.params_[name] == pytest.approx(value, abs=5e-3), name
    assert gamma_gamma.n_customers_ == 946
    assert gamma_gamma.n_excluded_ == 2357 - 946


def test_gamma_gamma_expected_values_match_hardie_spreadsheet(
    gamma_gamma: GammaGamma, raw_summary: pd.DataFrame
):
    """E(M | x, m_x) of the first ten CDNOW customers, from the spreadsheet that accompanies
    Fader & Hardie (2013), brucehardie.com/notes/025/, given to 2 decimals."""
    head = raw_summary.head(10)
    expected = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    got = gamma_gamma.conditional_expected_average_value(head["frequency"], head["monetary_value"])
    np.testing.assert_allclose(got, expected, atol=0.005 + 1e-9)


def test_gamma_gamma_population_mean_and_shrinkage(gamma_gamma: GammaGamma):
    p, q, v = (gamma_gamma.params_[k] for k in ("p", "q", "v"))
    mean = gamma_gamma.population_mean_value()
    assert mean == pytest.approx(p * v / (q - 1))
    assert gamma_gamma.conditional_expected_average_value(0, 123.0) == pytest.approx(mean)
    # the more purchases, the closer the estimate to the customer's own mean
    own = 100.0
    values = gamma_gamma.conditional_expected_average_value([1, 5, 50, 5000], own)
    assert np.all(np.diff(values) > 0) and values[-1] == pytest.approx(own, rel=1e-2)


def test_gamma_gamma_gradient_matches_finite_differences(cdnow: pd.DataFrame):
    from churnkit.models._gamma_gamma import _loglik

    repeat = cdnow[cdnow["x"] > 0]
    x, m = repeat["x"].to_numpy(float), repeat["zbar"].to_numpy(float)
    params = np.array([3.0, 2.0, 20.0])
    numeric = approx_fprime(params, lambda q: _loglik(q, x, m)[0], 1e-7 * params)
    np.testing.assert_allclose(_loglik(params, x, m)[1], numeric, rtol=1e-4)


def test_gamma_gamma_rejects_zero_spend_of_repeat_customers():
    index = pd.Index(["a", "b", "c"])
    with pytest.raises(DataValidationError, match=r"'monetary_value' is 0.*index 'c'"):
        GammaGamma().fit(pd.Series([1, 0, 2], index=index), pd.Series([5.0, 0.0, 0.0], index=index))
    with pytest.raises(ChurnkitError, match="at least 2"):
        GammaGamma().fit([0, 0, 3], [0.0, 0.0, 10.0])


def test_expected_revenue_is_purchases_times_value(bgnbd: BGNBD, gamma_gamma: GammaGamma):
    f, r, T, m = np.array([0, 2]), np.array([0.0, 30.43]), np.array([38.86, 38.86]), [0.0, 22.35]
    got = expected_revenue(bgnbd, gamma_gamma, 52, f, r, T, m)
    purchases = bgnbd.expected_purchases(52, f, r, T)
    np.testing.assert_allclose(
        got, purchases * gamma_gamma.conditional_expected_average_value(f, m)
    )
    # a one-time buyer is valued at the population mean spend
    assert got[0] == pytest.approx(purchases[0] * gamma_gamma.population_mean_value())
    with pytest.raises(DataValidationError, match="'horizon' must be >= 0"):
        expected_revenue(bgnbd, gamma_gamma, -1, f, r, T, m)


# -- rfm_summary ------------------------------------------------------------------------------
def test_rfm_summary_reproduces_the_published_cdnow_summary(
    raw_summary: pd.DataFrame, cdnow: pd.DataFrame
):
    """From the raw transactions to the authors' summary: weeks, calibration ends 1997-09-30,
    same-day orders are one occasion. The published file rounds to 2 decimals."""
    ref = cdnow.sort_index()
    assert raw_summary.index.equals(ref.index)
    s = raw_summary
    np.testing.assert_array_equal(s["frequency"], ref["x"])
    np.testing.assert_allclose(s["recency"], ref["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(s["T"], ref["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(s["monetary_value"], ref["zbar"], atol=0.005 + 1e-9)


def _purchases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c", "c"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-08", "2024-01-22", "2024-01-10", "2024-01-05", "2024-03-01"]
            ),
            "revenue": [10.0, 20.0, 40.0, 7.0, 3.0, 9.0],
        }
    )


def test_rfm_summary_by_hand():
    s = rfm_summary(_purchases(), "2024-01-29")
    expected = pd.DataFrame(
        {
            "frequency": [2, 0, 0],
            "recency": [21.0, 0.0, 0.0],
            "T": [28.0, 19.0, 24.0],
            "monetary_value": [30.0, 0.0, 0.0],
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(s, expected)


@settings(max_examples=50, deadline=None)
@given(
    days=st.lists(st.tuples(st.sampled_from("abcde"), st.integers(0, 60)), min_size=1, max_size=40),
    cutoff=st.integers(0, 60),
)
def test_rfm_summary_is_point_in_time(days, cutoff):
    """Removing every occasion after the cutoff changes nothing."""
    frame = pd.DataFrame(sorted(set(days)), columns=["customer_id", "day"])
    frame["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D")
    frame["revenue"] = 1.0 + frame["day"]
    at = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cutoff)
    full = rfm_summary(frame, at, time_unit_days=7)
    cut = rfm_summary(frame[frame["order_date"] <= at], at, time_unit_days=7)
    pd.testing.assert_frame_equal(full, cut)
    assert set(full.index) == set(frame.loc[frame["order_date"] <= at, "customer_id"])


def test_rfm_summary_does_not_depend_on_row_order():
    """Sorted rows (as log.purchases gives) take a faster path than shuffled ones."""
    p = _purchases()
    shuffled = p.sample(frac=1.0, random_state=4)
    pd.testing.assert_frame_equal(
        rfm_summary(shuffled, "2024-03-01"), rfm_summary(p, "2024-03-01"), check_exact=True
    )
    with pytest.raises(DataValidationError, match=r"customer 'c' on 2024-01-05 \(row 6\)"):
        rfm_summary(
            pd.concat([p, p.iloc[[4]]])
            .reset_index(drop=True)
            .sort_values(["customer_id", "order_date"]),
            "2024-02-01",
        )


def test_rfm_summary_rejects_what_it_cannot_use():
    p = _purchases()
    with pytest.raises(MissingColumnError, match="revenue"):
        rfm_summary(p.drop(columns="revenue"), "2024-02-01")
    doubled = pd.concat([p, p.iloc[[1]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"customer 'a' on 2024-01-08 \(row 6\)"):
        rfm_summary(doubled, "2024-02-01")
    timed = p.assign(order_date=p["order_date"] + pd.Timedelta(hours=3))
    with pytest.raises(DataValidationError, match="time of day at row 0"):
        rfm_summary(timed, "2024-02-01")
    with pytest.raises(DataValidationError, match="'revenue' is missing at row 2"):
        rfm_summary(p.assign(revenue=[1.0, 2.0, np.nan, 1.0, 1.0, 1.0]), "2024-02-01")
    with pytest.raises(ChurnkitError, match="time_unit_days"):
        rfm_summary(p, "2024-02-01", time_unit_days=0)


# -- scale ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_fit_on_a_million_customers():
    """The vectorised likelihood handles a million summaries (timing is a benchmark, not an
    assertion here; see the brief's budget of ~10 s)."""
    rng = np.random.default_rng(3)
    sim = simulate_bgnbd(rng, PUBLISHED_BGNBD, rng.uniform(1.0, 52.0, 1_000_000), horizon=0.0)
    fitted = BGNBD().fit(sim["frequency"], sim["recency"], sim["T"])
    assert fitted.n_customers_ == 1_000_000
    for name, value in PUBLISHED_BGNBD.items():
        assert fitted.params_[name] == pytest.approx(value, rel=0.05), name
