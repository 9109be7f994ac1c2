"""Calibration on a held-out cutoff and the level correction under drift."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit

from churnkit.core._errors import ChurnkitError
from churnkit.models._calibration import Calibrator, DriftCorrection, shift_to_mean
from churnkit.models._metrics import expected_calibration_error, roc_auc

CUTOFFS = pd.date_range("2023-01-01", periods=6, freq="QS")


def _drifting_panel(seed: int = 0, n: int = 4000, drift: float = 0.25) -> list[dict]:
    """Customers at six quarterly cutoffs; the churn logit rises by ``drift`` per quarter.

    The ranking signal ``x`` is the same at every cutoff, only the level moves, which is what
    a tree model cannot extrapolate.
    """
    rng = np.random.default_rng(seed)
    panel = []
    for k, cutoff in enumerate(CUTOFFS):
        x = rng.normal(0, 1, n)
        truth = expit(-1.0 + 1.2 * x + drift * k)
        y = (rng.random(n) < truth).astype(int)
        panel.append({"cutoff": cutoff, "x": x, "truth": truth, "y": y})
    return panel


# -- Calibrator --------------------------------------------------------------------------------
def _underconfident(seed: int, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0.02, 0.98, n)
    truth = expit(2.0 * logit(raw) - 0.5)
    return raw, (rng.random(n) < truth).astype(int)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_reduces_ece_on_a_later_cutoff(method: str) -> None:
    raw_fit, y_fit = _underconfident(0)
    raw_new, y_new = _underconfident(1)
    cal = Calibrator(method).fit(raw_fit, y_fit)
    before = expected_calibration_error(y_new, raw_new)
    after = expected_calibration_error(y_new, cal.transform(raw_new))
    assert before > 0.08
    assert after < 0.03


def test_platt_recovers_the_distortion_and_keeps_the_ranking() -> None:
    raw, y = _underconfident(2, n=50_000)
    cal = Calibrator("platt").fit(raw, y)
    assert cal.coef_ == pytest.approx((2.0, -0.5), abs=0.06)
    assert roc_auc(y, cal.transform(raw)) == roc_auc(y, raw)


def test_isotonic_is_monotone_and_bounded() -> None:
    raw, y = _underconfident(3)
    cal = Calibrator("isotonic").fit(raw, y)
    grid = np.linspace(0, 1, 201)
    out = cal.transform(grid)
    assert (np.diff(out) >= 0).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrator_round_trips_through_json(method: str) -> None:
    raw, y = _underconfident(4, n=800)
    cal = Calibrator(method).fit(raw, y)
    again = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    probe = np.linspace(0, 1, 57)
    np.testing.assert_allclose(again.transform(probe), cal.transform(probe), rtol=0, atol=1e-12)


def test_calibrator_errors_name_the_problem() -> None:
    with pytest.raises(ChurnkitError, match="not fitted"):
        Calibrator().transform([0.5])
    with pytest.raises(ChurnkitError, match="both classes"):
        Calibrator().fit([0.2, 0.4], [1, 1])
    with pytest.raises(ChurnkitError, match="unknown calibration method"):
        Calibrator("beta").fit([0.2, 0.4], [0, 1])  # type: ignore[arg-type]
    with pytest.raises(ChurnkitError, match=r"position 1 holds 1\.5"):
        Calibrator().fit([0.2, 1.5], [0, 1])


# -- shift_to_mean -----------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=2, max_size=80),
    st.floats(0.01, 0.99),
    st.integers(0, 2**32 - 1),
)
def test_level_shift_hits_the_target_and_never_changes_the_ranking(
    p: list[float], target: float, seed: int
) -> None:
    p_arr = np.array(p)
    q = shift_to_mean(p_arr, target)
    assert q.mean() == pytest.approx(target, abs=1e-9)
    # order preserved: strictly where the (clipped) inputs differ, ties stay ties
    clipped = np.clip(p_arr, 1e-6, 1 - 1e-6)
    i, j = np.triu_indices(p_arr.size, 1)
    assert np.array_equal(np.sign(clipped[i] - clipped[j]), np.sign(q[i] - q[j]))
    y = np.random.default_rng(seed).integers(0, 2, p_arr.size)
    if 0 < y.sum() < y.size:
        assert roc_auc(y, q) == roc_auc(y, clipped)


def test_level_shift_rejects_impossible_targets() -> None:
    with pytest.raises(ChurnkitError, match="strictly between 0 and 1"):
        shift_to_mean([0.2, 0.3], 1.0)


# -- DriftCorrection ---------------------------------------------------------------------------
def test_drift_correction_brings_the_mean_closer_to_the_truth() -> None:
    panel = _drifting_panel()
    train, held_out, scoring = panel[:4], panel[4], panel[5]
    # a model that ranks perfectly but learned the pooled level of its training cutoffs
    pooled_level = logit(np.mean([c["y"].mean() for c in train])) - logit(
        np.mean([expit(-1.0 + 1.2 * c["x"]).mean() for c in train])
    )

    def model(x: np.ndarray) -> np.ndarray:
        return expit(-1.0 + 1.2 * x + pooled_level)

    cal = Calibrator("platt").fit(model(held_out["x"]), held_out["y"])
    labelled = panel[:5]
    drift = DriftCorrection().fit(
        [c["cutoff"] for c in labelled],
        [c["y"].mean() for c in labelled],
        [c["y"].size for c in labelled],
    )
    uncorrected = cal.transform(model(scoring["x"]))
    corrected = drift.transform(uncorrected, scoring["cutoff"])
    truth = scoring["truth"].mean()
    assert abs(corrected.mean() - truth) < 0.5 * abs(uncorrected.mean() - truth)
    assert abs(corrected.mean() - truth) < 0.015
    assert roc_auc(scoring["y"], corrected) == roc_auc(scoring["y"], uncorrected)


def test_without_drift_the_correction_stays_put() -> None:
    panel = _drifting_panel(seed=1, drift=0.0)
    labelled = panel[:5]
    drift = DriftCorrection().fit(
        [c["cutoff"] for c in labelled], [c["y"].mean() for c in labelled]
    )
    assert drift.rate_at(CUTOFFS[5]) == pytest.approx(panel[5]["truth"].mean(), abs=0.02)


def test_linear_trend_on_exact_logits_and_the_cap() -> None:
    days = np.array([0, 100, 200])
    rates = expit(-1 + 0.002 * days)
    cutoffs = pd.Timestamp("2024-01-01") + pd.to_timedelta(days, "D")
    drift = DriftCorrection(max_shift=10).fit(cutoffs, rates)
    assert drift.coef_ == pytest.approx((-1, 0.002))
    assert drift.rate_at(cutoffs[-1] + pd.Timedelta(days=100)) == pytest.approx(expit(-1 + 0.6))
    capped = DriftCorrection(max_shift=0.1).fit(cutoffs, rates)
    far = capped.rate_at(cutoffs[-1] + pd.Timedelta(days=1000))
    assert far == pytest.approx(expit(-1 + 0.4 + 0.1))


def test_single_cutoff_and_last_trend_carry_the_rate_forward() -> None:
    one = DriftCorrection().fit(["2024-01-01"], [0.3])
    assert one.rate_at("2025-01-01") == pytest.approx(0.3)
    last = DriftCorrection("last").fit(["2024-01-01", "2024-04-01"], [0.3, 0.4])
    assert last.rate_at("2024-07-01") == pytest.approx(0.4)


def test_drift_correction_round_trips_and_validates() -> None:
    drift = DriftCorrection().fit(CUTOFFS[:3], [0.2, 0.25, 0.3], [100, 200, 300])
    again = DriftCorrection.from_dict(json.loads(json.dumps(drift.to_dict())))
    assert again.rate_at(CUTOFFS[4]) == pytest.approx(drift.rate_at(CUTOFFS[4]))
    with pytest.raises(ChurnkitError, match="strictly between 0 and 1"):
        DriftCorrection().fit(CUTOFFS[:2], [0.2, 0.0])
    with pytest.raises(ChurnkitError, match="distinct labelled cutoff"):
        DriftCorrection().fit([CUTOFFS[0], CUTOFFS[0]], [0.2, 0.3])
    with pytest.raises(ChurnkitError, match="not fitted"):
        DriftCorrection().rate_at(CUTOFFS[0])
