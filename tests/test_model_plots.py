"""Model plots: each draws on the given Axes (or a new one), returns it, and labels it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from churnkit.core._errors import ChurnkitError
from churnkit.models._plots import (
    plot_calibration,
    plot_km_by_segment,
    plot_lift,
    plot_roc,
    plot_shap_summary,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def yp() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    return y, {"gbm": np.clip(0.4 * y + rng.uniform(0, 0.6, 400), 0, 1), "random": rng.random(400)}


def test_roc_uses_the_given_axes_and_names_each_model(yp) -> None:
    y, scores = yp
    _fig, ax = plt.subplots()
    assert plot_roc(y, scores, ax=ax) is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("gbm (AUC 0.") and labels[1].startswith("random (AUC 0.")
    assert ax.get_ylabel() == "True positive rate (churners found)"


def test_calibration_points_are_the_bin_means(yp) -> None:
    y, scores = yp
    ax = plot_calibration(y, scores["gbm"], n_bins=5)
    x, _obs = ax.lines[0].get_data()
    assert len(x) == 5 and np.all(np.diff(x) > 0)
    assert ax.get_xlabel() == "Predicted churn probability (bin mean)"


def test_gains_curve_ends_at_one_and_beats_random(yp) -> None:
    y, scores = yp
    ax = plot_lift(y, scores)
    gbm, rnd = ax.lines[0].get_ydata(), ax.lines[1].get_ydata()
    assert gbm[-1] == pytest.approx(1.0) and gbm[0] == 0
    assert gbm[len(gbm) // 10] > rnd[len(rnd) // 10]
    with pytest.raises(ChurnkitError, match="at least one churner"):
        plot_lift(np.zeros(3), np.ones(3))


def test_km_by_segment_draws_one_step_curve_per_group() -> None:
    km = pd.DataFrame(
        {
            "group": ["loyal"] * 3 + ["first_time"] * 3,
            "day": [0, 1, 2] * 2,
            "survival": [1.0, 0.8, 0.7, 1.0, 0.95, 0.9],
            "lo": [1.0, 0.7, 0.6, 1.0, 0.9, 0.85],
            "hi": [1.0, 0.9, 0.8, 1.0, 0.99, 0.95],
        }
    )
    ax = plot_km_by_segment(km, horizon=2)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["first_time", "loyal"]
    assert ax.get_title() == "Still waiting for the next purchase"


@pytest.mark.slow
def test_shap_summary_is_a_beeswarm_of_the_gbm() -> None:
    from churnkit import load_orders
    from churnkit.datasets import make_shop
    from churnkit.models._churn_model import ChurnModel

    shop = make_shop(n_customers=800, seed=2)
    log = load_orders(shop.orders, customers=shop.customers)
    model = ChurnModel(num_boost_round=50, survival=False, segments=False)
    model.fit(log, pd.date_range("2023-06-30", "2024-06-30", freq="QE"))
    features = model.features(log, ["2024-09-30"], labelled=False)
    _fig, ax = plt.subplots()
    assert plot_shap_summary(model, features, "loyal", max_rows=300, ax=ax) is ax
    assert ax.get_title() == "What drives the churn score (loyal)"
    assert ax.get_xlabel().startswith("SHAP value")
    assert len(ax.get_yticklabels()) > 3
    with pytest.raises(ChurnkitError, match="no 'vip' population"):
        plot_shap_summary(model, features, "vip")
