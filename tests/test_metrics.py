"""Churn-model metrics against scikit-learn, lifelines, scikit-survival and worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines.utils import concordance_index as lifelines_cindex
from sklearn import metrics as skm

from churnkit.core._errors import ChurnkitError
from churnkit.models._metrics import (
    bootstrap_ci,
    brier,
    calibration_table,
    concordance_index,
    expected_calibration_error,
    integrated_brier_score,
    log_loss,
    pr_auc,
    roc_auc,
    top_decile_lift,
)


def _labels_scores(seed: int, n: int = 500, ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.25 * y + rng.uniform(0, 0.75, n), 0, 1)
    if ties:
        p = np.round(p, 1)  # heavy ties, the hard case for ranking metrics
    return y, p


binary_inputs = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < n),
        st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]), min_size=n, max_size=n),
    )
)


# -- classification: against scikit-learn ------------------------------------------------------
@pytest.mark.parametrize("ties", [True, False])
def test_classification_metrics_match_sklearn(ties: bool) -> None:
    y, p = _labels_scores(1, ties=ties)
    assert roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), rel=1e-12)
    assert pr_auc(y, p) == pytest.approx(skm.average_precision_score(y, p), rel=1e-12)
    assert pr_auc(y, p, positive=0) == pytest.approx(
        skm.average_precision_score(1 - y, 1 - p), rel=1e-12
    )
    assert brier(y, p) == pytest.approx(skm.brier_score_loss(y, p), rel=1e-12)
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-9)


@settings(max_examples=80, deadline=None)
@given(binary_inputs)
def test_ranking_metrics_match_sklearn_on_any_input(data: tuple[list[int], list[float]]) -> None:
    y, p = np.array(data[0]), np.array(data[1])
    assert roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert pr_auc(y, p) == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    # a strictly monotone transform never changes a ranking metric
    assert roc_auc(y, np.sqrt(p)) == pytest.approx(roc_auc(y, p), abs=1e-12)


def test_hand_computed_values() -> None:
    y, p = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    # pairs (churner, stayer): (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) -> 3/4
    assert roc_auc(y, p) == 0.75
    # thresholds 0.8, 0.4, 0.35: recall 1/2, 1/2, 1 with precision 1, 1/2, 2/3 -> 1/2 + 1/3
    assert pr_auc(y, p) == pytest.approx(0.5 + 1 / 3)
    assert brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    assert log_loss([0, 1], [0.2, 0.6]) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)


def test_log_loss_clips_certain_mistakes() -> None:
    assert np.isfinite(log_loss([1, 0], [0.0, 1.0]))
    assert log_loss([1, 0], [0.0, 1.0]) == pytest.approx(skm.log_loss([1, 0], [0.0, 1.0]))


# -- calibration -------------------------------------------------------------------------------
def test_ece_equal_mass_bins_worked_example() -> None:
    y = [0, 0, 1, 0, 1, 1]
    p = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]
    table = calibration_table(y, p, n_bins=2)
    assert table["n"].tolist() == [3, 3]
    assert table["observed"].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert table["p_mean"].tolist() == pytest.approx([0.2, 0.7])
    # 0.5 * |1/3 - 0.2| + 0.5 * |2/3 - 0.7|
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * 2 / 15 + 0.5 / 30)


def test_ece_keeps_ties_together_and_ignores_row_order() -> None:
    y, p = _labels_scores(3)
    table = calibration_table(y, p, n_bins=10)
    assert table["n"].sum() == len(y)
    # no probability is split across two bins
    assert (table["p_max"].to_numpy()[:-1] < table["p_min"].to_numpy()[1:]).all()
    perm = np.random.default_rng(0).permutation(len(y))
    assert expected_calibration_error(y[perm], p[perm]) == pytest.approx(
        expected_calibration_error(y, p), abs=1e-12
    )


def test_ece_is_zero_for_a_perfectly_calibrated_binning() -> None:
    y = np.r_[np.zeros(8), np.ones(2), np.zeros(2), np.ones(8)]
    p = np.r_[np.full(10, 0.2), np.full(10, 0.8)]
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.0)


def test_ece_large_when_level_is_off() -> None:
    rng = np.random.default_rng(5)
    truth = rng.uniform(0.1, 0.6, 20_000)
    y = (rng.random(truth.size) < truth).astype(int)
    assert expected_calibration_error(y, truth) < 0.02
    assert expected_calibration_error(y, np.clip(truth - 0.1, 0, 1)) == pytest.approx(0.1, abs=0.02)


# -- lift ---------------------------------------------------------------------------------------
def test_top_decile_lift_worked_example() -> None:
    # top 20% of 5 = 1 customer (0.9), a churner; base rate 2/5 -> lift 1 / 0.4
    assert top_decile_lift([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.9], 0.2) == pytest.approx(2.5)


def test_top_decile_lift_shares_boundary_ties() -> None:
    # top 1 of 4 falls in a tie of two (one churner, one stayer): expected rate 1/2, base 1/4
    assert top_decile_lift([1, 0, 0, 0], [0.5, 0.5, 0.1, 0.1], 0.25) == pytest.approx(2.0)
    assert top_decile_lift([0, 1, 0, 0], [0.5, 0.5, 0.1, 0.1], 0.25) == pytest.approx(2.0)


def test_random_scores_have_lift_near_one() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 50_000)
    assert top_decile_lift(y, rng.random(y.size)) == pytest.approx(1.0, abs=0.05)


# -- survival ----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concordance_matches_lifelines_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    time = rng.integers(1, 40, n).astype(float)  # tied times
    event = (rng.random(n) < 0.6).astype(int)
    score = np.round(time / 10 + rng.normal(0, 1, n))  # tied scores
    assert concordance_index(time, score, event) == pytest.approx(
        lifelines_cindex(time, score, event), abs=1e-12
    )


def test_concordance_hand_computed() -> None:
    # comparable pairs: (a,b) (a,c) (b,c); c censored first is never the shorter one
    # a=1 event, b=2 event, c=3 censored; scores a 1, b 3, c 2 -> (a,b) ok, (a,c) ok, (b,c) wrong
    assert concordance_index([1, 2, 3], [1, 3, 2], [1, 1, 0]) == pytest.approx(2 / 3)
    with pytest.raises(ChurnkitError, match="no comparable pairs"):
        concordance_index([1, 2], [1, 2], [0, 0])


def test_integrated_brier_score_against_scikit_survival() -> None:
    """Reference from scikit-survival 0.28.0 on the same arrays.

    >>> from sksurv.metrics import integrated_brier_score
    >>> from sksurv.util import Surv
    >>> y = Surv.from_arrays(e, t)
    >>> integrated_brier_score(y, y, surv, times)
    0.3292125925782652
    """
    rng = np.random.default_rng(7)
    n = 40
    t = rng.integers(1, 30, n).astype(float)  # many ties between events and censorings
    e = rng.random(n) < 0.6
    times = np.array([3.0, 7.0, 12.0, 20.0])
    surv = np.exp(-np.outer(rng.uniform(0.02, 0.2, n), times))
    assert integrated_brier_score(t, e, surv, times) == pytest.approx(0.3292125925782652, 1e-12)


def test_integrated_brier_score_without_censoring_is_plain_brier() -> None:
    # no censoring: weights are 1; BS(1) = (0.25 + 0) / 2, BS(2) = (0.25 + 0) / 2
    assert integrated_brier_score([1, 3], [1, 1], [[0.5, 0.5], [1.0, 1.0]], [1, 2]) == 0.125
    with pytest.raises(ChurnkitError, match="below the largest observed time"):
        integrated_brier_score([1, 3], [1, 1], [[0.5, 0.5], [1.0, 1.0]], [1, 3])


# -- bootstrap ---------------------------------------------------------------------------------
def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    y, p = _labels_scores(4, n=400, ties=False)
    first = bootstrap_ci(roc_auc, y, p, n_boot=200, seed=3)
    assert first == bootstrap_ci(roc_auc, y, p, n_boot=200, seed=3)
    assert first.estimate == roc_auc(y, p)
    assert first.lo < first.estimate < first.hi
    # a binomial-like width: AUC's standard error at n=400 is about 0.025
    assert 0.05 < first.hi - first.lo < 0.15


def test_bootstrap_interval_covers_the_truth() -> None:
    # the population AUC of this design is known by simulation; 95% intervals should cover it
    rng = np.random.default_rng(11)
    covered = 0
    big_y = rng.integers(0, 2, 200_000)
    truth = roc_auc(big_y, big_y + rng.normal(0, 1.5, big_y.size))
    for rep in range(40):
        y = rng.integers(0, 2, 300)
        s = y + rng.normal(0, 1.5, 300)
        ci = bootstrap_ci(roc_auc, y, s, n_boot=200, seed=rep)
        covered += ci.lo <= truth <= ci.hi
    assert covered >= 34  # binomial(40, 0.95) falls below 34 with probability < 1%


def test_bootstrap_redraws_resamples_with_one_class() -> None:
    y = np.r_[np.zeros(30), 1.0]  # one churner: many resamples lose it
    p = np.linspace(0, 1, 31)
    ci = bootstrap_ci(roc_auc, y, p, n_boot=50, seed=0)
    assert ci.estimate == 1.0 and ci.lo == ci.hi == 1.0


# -- errors name the input ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1], [0.1], "differ in length"),
        ([0, np.nan], [0.1, 0.2], "y has 1 missing"),
        ([0, 2], [0.1, 0.2], "position 1 holds 2"),
        ([0, 1], [0.1, 1.2], "probabilities in"),
        ([1, 1], [0.1, 0.2], "only class 1"),
        ([], [], "empty"),
    ],
)
def test_bad_inputs_raise_named_errors(y: list, p: list, message: str) -> None:
    metric = roc_auc if message == "only class 1" else brier
    with pytest.raises(ChurnkitError, match=message):
        metric(y, p)


def test_ece_equals_the_weighted_gaps_of_the_calibration_table():
    rng = np.random.default_rng(11)
    p = rng.random(3_000).round(2)  # ties kept together in a bin
    y = (rng.random(3_000) < p).astype(int)
    table = calibration_table(y, p, n_bins=10)
    expected = float((table["n"] * (table["observed"] - table["p_mean"]).abs()).sum() / 3_000)
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(expected, abs=1e-12)
