"""Saturation curve, its plain sentence and its plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnkit.coding._saturation import plot_saturation, saturation_curve, saturation_sentence
from churnkit.core._errors import DataValidationError, MissingColumnError


def _codes(per_answer: list[list[str]]) -> pd.DataFrame:
    rows = [(i, c) for i, codes in enumerate(per_answer) for c in codes]
    return pd.DataFrame(rows, columns=["answer_id", "code"])


def test_hand_worked_curve():
    codes = _codes(
        [
            ["price.went_up", "delivery"],
            ["price.competitor_cheaper"],  # same theme, new code
            ["not_churned"],  # no reason: never new
            ["trust.storage", "other"],
            ["price"],
        ]
    )
    curve = saturation_curve(codes)
    assert curve["new"].tolist() == ["price;delivery", "", "", "trust", ""]
    assert curve["n_seen"].tolist() == [2, 2, 2, 3, 3]
    by_code = saturation_curve(codes, level="code")
    assert by_code["n_new"].tolist() == [2, 1, 0, 1, 1]
    assert saturation_sentence(curve) == (
        "The last 1 interview added no new theme (3 themes heard in 5 interviews)."
    )
    assert saturation_sentence(by_code, level="code") == (
        "The last interview added a new code: not saturated yet (5 codes heard in 5 interviews)."
    )
    assert saturation_sentence(curve, lang="ru") == (
        "Последнее интервью не добавило ни одной новой темы (3 тем в 5 интервью)."
    )


def test_order_includes_uncoded_interviews():
    codes = _codes([["price"], ["trust"]])
    curve = saturation_curve(codes, order=[1, 7, 0, 8])
    assert curve["answer_id"].tolist() == [1, 7, 0, 8]
    assert curve["new"].tolist() == ["trust", "", "price", ""]
    assert saturation_sentence(curve).startswith("The last 1 interview added no new theme")


def test_forty_quiet_interviews_say_so():
    codes = _codes([["price"], ["delivery"]] + [["price"]] * 40)
    assert saturation_sentence(saturation_curve(codes)) == (
        "The last 40 interviews added no new theme (2 themes heard in 42 interviews)."
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["price", "price.went_up", "trust", "other", "no_need"])),
        min_size=1,
        max_size=30,
    )
)
def test_curve_properties(per_answer):
    curve = saturation_curve(_codes(per_answer), order=range(len(per_answer)))
    assert curve["n_seen"].is_monotonic_increasing
    assert curve["n_new"].sum() == curve["n_seen"].iloc[-1]
    themes = {c.split(".")[0] for codes in per_answer for c in codes} - {"other"}
    assert curve["n_seen"].iloc[-1] == len(themes)


def test_plot_returns_axes_with_labels():
    curve = saturation_curve(_codes([["price"], ["trust"], ["price"]]))
    fig, ax = plt.subplots()
    try:
        assert plot_saturation(curve, ax=ax) is ax
        assert ax.get_xlabel() == "interviews held"
        assert ax.get_ylabel() == "distinct themes heard"
        assert "The last 1 interview added no new theme" in ax.get_title()
    finally:
        plt.close(fig)
    ax = plot_saturation(curve)
    plt.close(ax.figure)


def test_errors():
    codes = _codes([["price"], ["trust"]])
    with pytest.raises(MissingColumnError, match="'code'"):
        saturation_curve(codes.rename(columns={"code": "c"}))
    with pytest.raises(DataValidationError, match="level"):
        saturation_curve(codes, level="sub")
    with pytest.raises(DataValidationError, match=r"more than once"):
        saturation_curve(codes, order=[0, 0, 1])
    with pytest.raises(DataValidationError, match=r"does not list: \[1\]"):
        saturation_curve(codes, order=[0])
    with pytest.raises(DataValidationError, match="lang"):
        saturation_sentence(saturation_curve(codes), lang="de")
