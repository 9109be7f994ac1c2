"""Inter-coder reliability and reconciliation, checked against ``krippendorff`` and scikit-learn."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from churnkit.coding._reliability import (
    ALPHA_THRESHOLD,
    PRIMARY_ROW,
    cohen_kappa,
    krippendorff_alpha,
    reconcile,
    reliability,
)
from churnkit.core._errors import DataValidationError, MissingColumnError

NAN = np.nan


def _package_alpha(data: np.ndarray) -> float:
    with warnings.catch_warnings():
        # the package warns (RuntimeWarning) when α is undefined; we compare NaN with NaN then
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return float(krippendorff.alpha(data, level_of_measurement="nominal"))
        except ValueError:  # "There has to be more than one value in the domain."
            return float("nan")


def test_alpha_reproduces_krippendorff_2011_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", p. 3: nominal α = 0.743
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
            [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
        ]
    )
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(data) == pytest.approx(_package_alpha(data), abs=1e-9)


@st.composite
def _reliability_data(draw):
    coders = draw(st.integers(2, 5))
    units = draw(st.integers(1, 25))
    values = draw(st.integers(1, 4))
    cells = st.one_of(st.integers(0, values - 1).map(float), st.just(NAN))
    flat = draw(st.lists(cells, min_size=coders * units, max_size=coders * units))
    return np.array(flat).reshape(coders, units)


@settings(max_examples=300, deadline=None)
@given(_reliability_data())
def test_alpha_equals_the_krippendorff_package(data):
    ours, theirs = krippendorff_alpha(data), _package_alpha(data)
    if np.isnan(theirs) or np.isnan(ours):
        # undefined (no pairable values, or no variation): both say so
        assert np.isnan(ours) and np.isnan(theirs)
        return
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_alpha_accepts_string_labels_like_numbers():
    numbers = [[0, 1, 1, NAN], [0, 1, 0, 2]]
    labels = [["price", "trust", "trust", None], ["price", "trust", "price", "other"]]
    assert krippendorff_alpha(labels) == pytest.approx(krippendorff_alpha(numbers), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40),
)
def test_kappa_equals_scikit_learn(pairs):
    a, b = (list(x) for x in zip(*pairs, strict=True))
    ours = cohen_kappa(a, b)
    if len(set(a) | set(b)) == 1:
        assert np.isnan(ours)  # κ undefined: chance agreement is 1
        return
    assert ours == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)


def test_kappa_rejects_unequal_lengths():
    with pytest.raises(DataValidationError, match="equally long"):
        cohen_kappa([1, 2], [1])


def _long(table: dict[str, dict[str, list[str]]], primary: dict[str, dict[str, str]] | None = None):
    """coder -> answer -> codes as the long (coder, answer_id, code, is_primary) table."""
    rows = []
    for coder, answers in table.items():
        for answer, codes in answers.items():
            for code in codes or [None]:
                first = (primary or {}).get(coder, {}).get(answer, codes[0] if codes else None)
                rows.append((coder, answer, code, code == first))
    return pd.DataFrame(rows, columns=["coder", "answer_id", "code", "is_primary"])


SHEETS = {
    "A": {"a1": ["price"], "a2": ["delivery", "price"], "a3": ["trust"], "a4": ["price"]},
    "B": {"a1": ["price"], "a2": ["delivery"], "a3": ["trust", "price"], "a4": ["delivery"]},
    "C": {"a1": ["price"], "a2": ["delivery"], "a4": ["price"]},  # C did not code a3
}


def test_reliability_per_code_matches_the_package_and_scikit_learn():
    codes = _long(SHEETS)
    out = reliability(codes).set_index("code")
    coders, units = ["A", "B", "C"], ["a1", "a2", "a3", "a4"]
    for code in ["price", "delivery", "trust"]:
        data = np.array(
            [
                [float(code in SHEETS[c][u]) if u in SHEETS[c] else NAN for u in units]
                for c in coders
            ]
        )
        assert out.at[code, "alpha"] == pytest.approx(_package_alpha(data), abs=1e-9)
    # primary: A a1 price, a2 delivery, a3 trust, a4 price; B price, delivery, trust, delivery
    label = {"price": 0, "delivery": 1, "trust": 2}
    primary = np.array(
        [[label[SHEETS[c][u][0]] if u in SHEETS[c] else NAN for u in units] for c in coders]
    )
    assert out.at[PRIMARY_ROW, "alpha"] == pytest.approx(_package_alpha(primary), abs=1e-9)
    assert out.at["price", "n_units"] == 4 and out.at["price", "n_coders"] == 3
    # price: a1 all 1; a2 A=1 B,C=0; a3 A=0 B=1; a4 A,C=1 B=0 -> agree on 1 of 4
    assert out.at["price", "percent_agreement"] == pytest.approx(0.25)
    assert np.isnan(out.at["price", "kappa"])  # three coders: no Cohen's κ
    assert out["flag"].tolist() == (~(out["alpha"] >= ALPHA_THRESHOLD)).tolist()


def test_two_coders_get_cohen_kappa_on_shared_answers():
    two = {k: v for k, v in SHEETS.items() if k != "C"}
    out = reliability(_long(two)).set_index("code")
    units = ["a1", "a2", "a3", "a4"]
    for code in ["price", "delivery"]:
        a = [int(code in two["A"][u]) for u in units]
        b = [int(code in two["B"][u]) for u in units]
        assert out.at[code, "kappa"] == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)
    pa = [two["A"][u][0] for u in units]
    pb = [two["B"][u][0] for u in units]
    assert out.at[PRIMARY_ROW, "kappa"] == pytest.approx(cohen_kappa_score(pa, pb), abs=1e-9)


def test_theme_level_collapses_sub_codes():
    codes = pd.DataFrame(
        {
            "coder": ["A", "B"],
            "answer_id": ["a1", "a1"],
            "code": ["price.went_up", "price.competitor_cheaper"],
            "is_primary": [True, True],
        }
    )
    assert set(reliability(codes)["code"]) == {
        "price.went_up",
        "price.competitor_cheaper",
        PRIMARY_ROW,
    }
    themes = reliability(codes, level="theme").set_index("code")
    assert themes.at["price", "percent_agreement"] == 1.0


def test_reconcile_keeps_agreed_codes_and_lists_disagreements():
    final, todo = reconcile(_long(SHEETS))
    assert final.columns.tolist() == ["answer_id", "code", "is_primary", "n_coders"]
    kept = set(zip(final["answer_id"], final["code"], strict=True))
    assert kept == {("a1", "price"), ("a2", "delivery"), ("a3", "trust")}
    assert final.set_index(["answer_id", "code"]).at[("a1", "price"), "is_primary"]
    code_rows = todo[todo["kind"] == "code"].set_index(["answer_id", "code"])
    assert code_rows.at[("a2", "price"), "with_code"] == "A"
    assert code_rows.at[("a2", "price"), "without_code"] == "B;C"
    assert code_rows.at[("a4", "delivery"), "with_code"] == "B"
    primary_rows = todo[todo["kind"] == "primary"]
    assert primary_rows["answer_id"].tolist() == ["a4"]
    assert (todo["decision"] == "").all()
    # every (answer, code) given by anyone is either kept or listed
    codes = _long(SHEETS)
    given_ = set(zip(codes["answer_id"], codes["code"], strict=True))
    assert given_ == kept | set(code_rows.index)


def test_single_coder_answers_keep_their_codes():
    final, todo = reconcile(_long({"A": {"a1": ["price", "trust"]}}))
    assert final["n_coders"].tolist() == [1, 1]
    assert todo.empty


def test_errors_name_the_problem():
    codes = _long(SHEETS)
    with pytest.raises(MissingColumnError, match="primary_col=None"):
        reliability(codes.drop(columns="is_primary"))
    assert PRIMARY_ROW not in set(
        reliability(codes.drop(columns="is_primary"), primary_col=None)["code"]
    )
    two_primaries = codes.assign(is_primary=True)
    with pytest.raises(DataValidationError, match="coder 'A' on answer 'a2'"):
        reliability(two_primaries)
    with pytest.raises(DataValidationError, match="level"):
        reliability(codes, level="sub")
    with pytest.raises(DataValidationError, match="'coder' is empty"):
        reliability(codes.assign(coder=[None, *codes["coder"][1:]]))
