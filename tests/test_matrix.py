"""The retention matrix: a hand-worked fixture, interval coverage, its invariants and outputs.

The statistics themselves (reference values, coverage over sample designs) are tested in
tests/test_survey_stats.py.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from churnkit.core._errors import DataValidationError, MissingColumnError
from churnkit.matrix._matrix import RetentionMatrix
from churnkit.matrix._survey_stats import stratified_share, wilson

# --------------------------------------------------------------------------- the fixture
# (sample_id, stratum, codes with the primary first)
INTERVIEWS = [
    ("S0", "L", ["price", "loyalty"]),
    ("S1", "L", ["price.went_up", "price.competitor_cheaper"]),
    ("S2", "L", ["price"]),
    ("S3", "L", ["price", "technical"]),
    ("S4", "L", ["loyalty.bonus_expired"]),
    ("S5", "L", ["loyalty", "price"]),
    ("S6", "L", ["delivery"]),
    ("S7", "L", ["technical.app_crash", "loyalty"]),
    ("S8", "F", ["price"]),
    ("S9", "F", ["delivery", "trust"]),
    ("S10", "F", ["delivery"]),
    ("S11", "F", ["trust.storage", "price"]),
]


def _fixture() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    codes = pd.DataFrame(
        [(sid, code, i == 0) for sid, _, cs in INTERVIEWS for i, code in enumerate(cs)],
        columns=["sample_id", "code", "is_primary"],
    )
    sample = pd.DataFrame(
        {
            "sample_id": [sid for sid, _, _ in INTERVIEWS] + ["S12"],
            "customer_id": [f"C{i}" for i in range(13)],
            "stratum": [s for _, s, _ in INTERVIEWS] + ["L"],
            "population": ["loyal" if s == "L" else "first_time" for _, s, _ in INTERVIEWS]
            + ["loyal"],
            "weight": [50.0] * 8 + [150.0] * 4 + [50.0],  # S12 did not answer
        }
    )
    frame = pd.DataFrame({"stratum": ["L", "F"], "N": [400, 600]})
    scores = pd.DataFrame(
        {
            "customer_id": ["X1", "X2", "X3", "X4"],
            "population": ["loyal", "loyal", "first_time", "first_time"],
            "p_churn": [0.9, 0.8, 0.7, 0.2],
            "value_at_risk": [60_000.0, 40_000.0, 60_000.0, 5_000.0],
        }
    )
    return codes, sample, frame, scores


@pytest.fixture(scope="module")
def matrix() -> RetentionMatrix:
    codes, sample, frame, scores = _fixture()
    return RetentionMatrix.from_codes(codes, sample, scores, frame=frame, threshold=0.5)


def _cell(m: RetentionMatrix, segment: str, code: str) -> pd.Series:
    cells = m.cells.set_index(["segment", "code"])
    return cells.loc[(segment, code)]


def test_hand_worked_twelve_interviews(matrix):
    """Twelve interviews in two strata, worked out by hand (z = 1.959964, z² = 3.841459).

    Frame: loyal stratum L, N = 400, 8 interviews (a 9th sampled customer, S12, did not
    answer: design weight N/r = 400/8 = 50); first-time stratum F, N = 600, 4 interviews
    (weight 150). Stratum shares of the total: W_L = 400/1000 = 0.4, W_F = 0.6.
    Value at risk of the predicted churners (p_churn >= 0.5): loyal 60,000 + 40,000 =
    100,000; first-time 60,000 (X4, p = 0.2, is no predicted churner).

    Primary price: L 4/8 = 0.5 (S0, S1, S2, S3), F 1/4 = 0.25 (S8).
    * loyal: p = 0.5, finite population correction f = 1 - 8/400 = 0.98,
      s² = 8/7 · 0.5 · 0.5 = 0.285714, V = 0.98 · 0.285714 / 8 = 0.035,
      n_eff = 0.25 / 0.035 = 7.142857; Wilson: centre (0.5 + z²/2n)/(1 + z²/n) = 0.5,
      half-width z/(1 + z²/n) · sqrt(pq/n + z²/4n²) = 1.274520 · 0.231998 = 0.295687
      -> [0.204313, 0.795687] (n_eff under Kish's 1/(8 · 0.98/64) = 8.163265: not capped).
      Money 100,000 · 0.5 = 50,000. Its interval is Wilson's with Student's t on
      min(2 · 4 cases, 8 − 1) = 7 df instead of z (t₇ = 2.364624, t² = 5.591448):
      1 + t²/n = 1.782803, half-width t/(1 + t²/n) · sqrt(pq/n + t²/4n²) = 1.326356 · 0.249796
      = 0.331318 -> [0.168682, 0.831318] · 100,000 = [16,868.24, 83,131.76].
    * first-time: p = 0.25, f = 1 - 4/600, s² = 4/3 · 0.25 · 0.75 = 0.25,
      V = 0.993333 · 0.25 / 4 = 0.062083, n_eff = 0.1875 / 0.062083 = 3.020134
      -> [0.037030, 0.742895]. Money 60,000 · 0.25 = 15,000; one case: t on min(2, 3) = 2
      df (t₂ = 4.302653) -> [0.009525, 0.920347] · 60,000 = [571.48, 55,220.83].
    * total: p = 0.4 · 0.5 + 0.6 · 0.25 = 0.35,
      V = 0.4² · 0.98 · 0.285714/8 + 0.6² · 0.993333 · 0.25/4 = 0.0056 + 0.02235 = 0.02795,
      n_eff = 0.35 · 0.65 / 0.02795 = 8.139535 -> [0.123766, 0.672423].
      Money: 50,000 + 15,000 = 65,000, estimated as 160,000 × a share with weights
      W' = (100,000, 60,000)/160,000 = (0.625, 0.375): 0.625 · 0.5 + 0.375 · 0.25 = 0.40625,
      V = 0.625² · 0.035 + 0.375² · 0.062083 = 0.022402, n_eff = 10.767219 (Kish's n of
      the same weights 1/(8 · 0.98 · 0.078125² + 4 · 0.993333 · 0.09375²) = 12.081, not
      capped); 5 cases: t on min(10, 12 − 2) = 10 df (t₁₀ = 2.228139)
      -> share [0.146286, 0.732051], money [23,405.77, 117,128.15].
    Mention price (multi-label; S1's two price codes are one mention): L 5/8 (S0, S1, S2, S3,
    S5), F 2/4 (S8, S11); total 0.4 · 0.625 + 0.6 · 0.5 = 0.55,
    V = 0.16 · 0.98 · (8/7 · 0.625 · 0.375)/8 + 0.02235 = 0.03505, n_eff = 7.061341
    -> [0.236556, 0.828210].
    Primary shares, total: price 0.35, delivery 0.4 · 1/8 + 0.6 · 2/4 = 0.35, loyalty
    0.4 · 2/8 = 0.10, technical 0.4 · 1/8 = 0.05, trust 0.6 · 1/4 = 0.15; sum 1.
    Obvious (price + delivery) 0.70, fixable 0.30: V = 0.16 · 0.98 · (8/7 · 3/8 · 5/8)/8
    + 0.36 · 0.993333 · (4/3 · 0.25 · 0.75)/4 = 0.0276, n_eff = 0.21/0.0276 = 7.608696
    -> fixable [0.093318, 0.640880]; fixable money 100,000 · 3/8 + 60,000 · 1/4 = 52,500
    (4 cases: t on 8 df) -> [15,978.23, 109,203.36].
    Every figure rests on fewer than 30 effective interviews, so every cell is ``low_n``.
    Low-hanging fruit by money: loyalty 25,000 (CRM / loyalty team, low), trust 15,000,
    technical 12,500.
    """
    m = matrix
    assert m.segments == ["loyal", "first_time", "total"]
    price_l, price_f, price_t = (_cell(m, s, "price") for s in m.segments)
    assert price_l[["n", "count", "n_primary"]].tolist() == [8, 5, 4]
    assert price_l[["primary_share", "primary_low", "primary_high"]].tolist() == pytest.approx(
        [0.5, 0.204313, 0.795687], abs=1e-6
    )
    assert price_l[["money_at_risk", "money_low", "money_high"]].tolist() == pytest.approx(
        [50_000, 16_868.24, 83_131.76], abs=0.01
    )
    assert price_l[["respondents", "cases", "low_n"]].tolist() == [8, 4, True]
    assert price_f[["primary_share", "primary_low", "primary_high"]].tolist() == pytest.approx(
        [0.25, 0.037030, 0.742895], abs=1e-6
    )
    assert price_f[["money_at_risk", "money_low", "money_high"]].tolist() == pytest.approx(
        [15_000, 571.48, 55_220.83], abs=0.01
    )
    assert price_t[["primary_share", "primary_low", "primary_high"]].tolist() == pytest.approx(
        [0.35, 0.123766, 0.672423], abs=1e-6
    )
    assert price_t[["money_at_risk", "money_low", "money_high"]].tolist() == pytest.approx(
        [65_000, 23_405.77, 117_128.15], abs=0.01
    )
    assert price_t[["mention_share", "mention_low", "mention_high"]].tolist() == pytest.approx(
        [0.55, 0.236556, 0.828210], abs=1e-6
    )
    total = m.table("primary_share")["total"].droplevel("group")
    assert total[["price", "delivery", "loyalty", "technical", "trust"]].tolist() == pytest.approx(
        [0.35, 0.35, 0.10, 0.05, 0.15]
    )
    summary = m.summary().set_index(["segment", "group"])
    fixable = summary.loc[("total", "fixable")]
    assert fixable[["primary_share", "primary_low", "primary_high"]].tolist() == pytest.approx(
        [0.30, 0.093318, 0.640880], abs=1e-6
    )
    assert fixable[["money_at_risk", "money_low", "money_high"]].tolist() == pytest.approx(
        [52_500, 15_978.23, 109_203.36], abs=0.01
    )
    assert m.cells["low_n"].all() and m.groups["low_n"].all()
    assert summary.loc[("total", "obvious"), "primary_share"] == pytest.approx(0.70)
    fruit = m.low_hanging_fruit()
    assert fruit["code"].tolist() == ["loyalty", "trust", "technical"]
    assert fruit["money_at_risk"].tolist() == pytest.approx([25_000, 15_000, 12_500])
    assert fruit.loc[0, ["owner", "effort"]].tolist() == ["CRM / loyalty team", "low"]
    assert m.notes["non_respondents"] == 1 and m.notes["respondents"] == 12


def test_wilson_matches_the_textbook_example():
    # Newcombe (1998), Stat Med 17:857, Table I: 81/263 -> Wilson 0.2553 to 0.3662
    low, high = wilson(81 / 263, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_frame_from_weights_and_attrs_agree_with_explicit_frame():
    codes, sample, frame, scores = _fixture()
    explicit = RetentionMatrix.from_codes(codes, sample, scores, frame=frame, threshold=0.5)
    # weight x main-sample rows: L 50 x 8 = 400 once the non-respondent is a reserve
    marked = sample.assign(is_reserve=[False] * 12 + [True])
    derived = RetentionMatrix.from_codes(codes, marked, scores, threshold=0.5)
    pd.testing.assert_frame_equal(explicit.cells, derived.cells)
    with_attrs = sample.copy()
    with_attrs.attrs["frame"] = frame.rename(columns={"N": "eligible"})
    from_attrs = RetentionMatrix.from_codes(codes, with_attrs, scores, threshold=0.5)
    pd.testing.assert_frame_equal(explicit.cells, from_attrs.cells)


def test_theme_and_code_levels_and_answer_id_link():
    codes, sample, frame, scores = _fixture()
    linked = codes.rename(columns={"sample_id": "answer_id"})
    m = RetentionMatrix.from_codes(
        linked,
        sample.assign(answer_id=sample["sample_id"]),
        scores,
        frame=frame,
        level="code",
    )
    table = m.table("n_primary")
    assert table.loc[("obvious", "price.went_up"), "loyal"] == 1
    assert ("obvious", "price.competitor_cheaper") in table.index
    assert m.table("primary_share").sum().to_numpy() == pytest.approx(1.0)


def test_contrast_rows_are_left_out_and_counted():
    codes, sample, frame, scores = _fixture()
    extra = pd.DataFrame(
        [["S99", "C99", "contrast|loyal", "loyal", 10.0, "contrast"]],
        columns=[*sample.columns, "group"],
    )
    sample = pd.concat([sample.assign(group="churner"), extra], ignore_index=True)
    m = RetentionMatrix.from_codes(codes, sample, scores, frame=frame)
    assert m.notes["left_out_contrast_rows"] == 1
    bad = pd.concat([codes, pd.DataFrame([["S99", "price", True]], columns=codes.columns)])
    with pytest.raises(DataValidationError, match=r"\['S99'\] are not interviews"):
        RetentionMatrix.from_codes(bad, sample, scores, frame=frame)


# --------------------------------------------------------------------------- coverage
@pytest.mark.parametrize(
    ("sizes", "n", "p"),
    [
        ((4000, 2000), (150, 150), (0.3, 0.5)),
        ((4000, 2000), (150, 150), (0.08, 0.15)),
        ((3000, 1500, 800), (60, 60, 60), (0.2, 0.4, 0.1)),
        ((500, 300), (120, 100), (0.3, 0.6)),  # large sampling fractions: the fpc matters
    ],
)
def test_interval_coverage_is_close_to_95_percent(sizes, n, p):
    # sample many times from a fixed finite population; measured 94.7-95.6% (2,000 draws)
    rng = np.random.default_rng(20261130)
    sizes_, n_ = np.array(sizes, dtype=float), np.array(n)
    population = [(rng.random(int(N)) < q).astype(float) for N, q in zip(sizes, p, strict=True)]
    weights = sizes_ / sizes_.sum()
    truth = sum(w * pop.mean() for w, pop in zip(weights, population, strict=True))
    stratum = np.repeat(np.arange(len(sizes)), n_)
    hits = 0
    draws = 2000
    for _ in range(draws):
        y = np.concatenate(
            [rng.choice(pop, size=k, replace=False) for pop, k in zip(population, n, strict=True)]
        )
        share = stratified_share(y, stratum, weights, sizes_)
        hits += share.low <= truth <= share.high
    assert 0.93 <= hits / draws <= 0.97


# --------------------------------------------------------------------------- properties
@st.composite
def _studies(draw):
    strata = draw(st.lists(st.sampled_from(["L1", "L2", "F1"]), min_size=1, max_size=40))
    strata = [*strata, "L1", "F1"]  # both populations present
    themes = ["price", "delivery", "loyalty", "trust", "no_need", "other"]
    rows = []
    for i in range(len(strata)):
        chosen = draw(st.lists(st.sampled_from(themes), min_size=1, max_size=3, unique=True))
        rows += [(f"S{i}", c, j == 0) for j, c in enumerate(chosen)]
    codes = pd.DataFrame(rows, columns=["sample_id", "code", "is_primary"])
    sample = pd.DataFrame(
        {
            "sample_id": [f"S{i}" for i in range(len(strata))],
            "customer_id": [f"C{i}" for i in range(len(strata))],
            "stratum": strata,
            "population": ["first_time" if s.startswith("F") else "loyal" for s in strata],
            "weight": 1.0,
        }
    )
    sizes = {s: draw(st.integers(60, 5000)) for s in sorted(set(strata))}
    frame = pd.DataFrame({"stratum": list(sizes), "N": list(sizes.values())})
    scale = draw(st.sampled_from([1.0, 3.0, 1000.0]))
    return codes, sample, frame, scale


SCORES = pd.DataFrame(
    {
        "customer_id": ["A", "B"],
        "population": ["loyal", "first_time"],
        "p_churn": [0.9, 0.9],
        "value_at_risk": [7000.0, 3000.0],
    }
)


@settings(max_examples=15, deadline=None)
@given(_studies())
def test_shares_sum_to_one_and_weights_rescale(study):
    codes, sample, frame, scale = study
    m = RetentionMatrix.from_codes(codes, sample, SCORES, frame=frame)
    primary = m.table("primary_share")
    assert primary.sum().to_numpy() == pytest.approx(1.0)
    assert m.summary().groupby("segment")["primary_share"].sum().to_numpy() == pytest.approx(1.0)
    cells = m.cells
    assert (cells["primary_low"] <= cells["primary_share"] + 1e-12).all()
    assert (cells["primary_share"] <= cells["primary_high"] + 1e-12).all()
    assert (cells["mention_share"] >= cells["primary_share"] - 1e-12).all()
    money = m.table("money_at_risk")
    assert money.sum().to_numpy() == pytest.approx([7000.0, 3000.0, 10000.0])
    assert money["total"].to_numpy() == pytest.approx(money["loyal"] + money["first_time"])
    # only relative stratum sizes matter for the shares
    scaled = RetentionMatrix.from_codes(
        codes, sample, SCORES, frame=frame.assign(N=frame["N"] * scale)
    )
    assert scaled.cells["primary_share"].to_numpy() == pytest.approx(
        m.cells["primary_share"].to_numpy()
    )
    # a self-weighting design (N_s proportional to respondents) gives the plain proportions
    counts = sample["stratum"].value_counts()
    flat = RetentionMatrix.from_codes(
        codes, sample, SCORES, frame=pd.DataFrame({"stratum": counts.index, "N": counts * 50})
    )
    raw = codes[codes["is_primary"]]["code"].value_counts() / len(sample)
    got = flat.table("primary_share")["total"].droplevel("group")
    assert got[raw.index].to_numpy() == pytest.approx(raw.to_numpy())


# --------------------------------------------------------------------------- outputs
def test_plot_and_excel(matrix, tmp_path):
    fig, ax = plt.subplots()
    try:
        assert matrix.plot(ax=ax) is ax
        assert [t.get_text() for t in ax.get_xticklabels()] == ["loyal", "first_time", "total"]
        assert ax.get_yticklabels()[0].get_text() == "price  [obvious]"
        assert ax.get_title() == "Retention matrix: primary share"
    finally:
        plt.close(fig)
    path = matrix.to_excel(tmp_path / "matrix.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["matrix", "cells", "summary", "low_hanging_fruit", "method"]
    header = [c.value for c in wb["matrix"][1]]
    assert header[:3] == ["group", "code", "label"]
    assert "total: primary_share" in header and "loyal: money_at_risk" in header
    # each interval sits next to the interviews it rests on; flagged figures are grey italics
    start = header.index("total: primary_share")
    assert header[start : start + 6] == [
        "total: primary_share", "total: primary_low", "total: primary_high",
        "total: respondents", "total: n_eff", "total: low_n",
    ]  # fmt: skip
    price = next(r for r in wb["matrix"].iter_rows(min_row=2) if r[1].value == "price")
    assert price[start + 3].value == 12 and price[start + 5].value is True
    assert price[start].font.i and not price[1].font.i
    method = " ".join(str(c.value) for c in wb["method"]["A"])
    for words in ("Wilson", "Kish", "N_s / r_s", "Cochran", "Korn", "value_source"):
        assert words in method
    assert "Wilson" in matrix.method_note() and "References:" in matrix.method_note()
    assert "Obvious reasons (price, delivery): 70%" in matrix.headline()


def test_every_zero_is_exact_and_money_without_values_is_the_old_one(matrix):
    """Cells with no case have a lower bound of exactly 0 (not 1e-17); with no value at risk
    per respondent, money is the population's value × the share, as the module notes say."""
    zero = matrix.cells[matrix.cells["primary_share"] == 0]
    assert len(zero) and (zero[["primary_low", "money_low", "money_at_risk"]] == 0).all().all()
    assert (zero["primary_high"] > 0).all()
    assert matrix.notes["value_source"] == "population mean"
    cells = matrix.cells.set_index(["segment", "code"])
    for segment, value in (("loyal", 100_000), ("first_time", 60_000)):
        part = cells.xs(segment, level="segment")
        assert part["money_at_risk"].to_numpy() == pytest.approx(value * part["primary_share"])
    assert (cells["respondents"] == cells["n"]).all()
    assert (cells["cases"] == cells["n_primary"]).all()


def test_money_uses_each_respondents_value_and_adds_up():
    """Each respondent's own value at risk: money per reason is the population's value at risk
    × the value-weighted share, so a column still sums to its value at risk and the total is
    the populations' sum; found in the sample or, by customer_id, in the scores."""
    codes, sample, frame, scores = _fixture()
    rng = np.random.default_rng(1)
    valued = sample.assign(value_at_risk=rng.lognormal(8, 1, len(sample)))
    m = RetentionMatrix.from_codes(codes, valued, scores, frame=frame, threshold=0.5)
    assert m.notes["value_source"] == "sample"
    money = m.table("money_at_risk")
    assert money.sum().to_dict() == pytest.approx(
        {"loyal": 100_000.0, "first_time": 60_000.0, "total": 160_000.0}
    )
    assert money["total"].to_numpy() == pytest.approx(money["loyal"] + money["first_time"])
    cells = m.cells
    assert (cells["money_low"] <= cells["money_at_risk"] + 1e-9).all()
    assert (cells["money_at_risk"] <= cells["money_high"] + 1e-9).all()
    loyal = cells[(cells["segment"] == "loyal") & (cells["code"] == "price")].iloc[0]
    v = valued["value_at_risk"].to_numpy()[:8]
    assert loyal["money_at_risk"] == pytest.approx(100_000 * v[:4].sum() / v.sum())
    # the same values looked up in the scores by customer_id
    scored = pd.concat(
        [scores, valued[["customer_id", "population"]].assign(
            p_churn=0.1, value_at_risk=valued["value_at_risk"])],
        ignore_index=True,
    )  # fmt: skip
    by_id = RetentionMatrix.from_codes(codes, sample, scored, frame=frame, threshold=0.5)
    assert by_id.notes["value_source"] == "scores"
    pd.testing.assert_series_equal(by_id.cells["money_at_risk"], m.cells["money_at_risk"])
    # no usable value in a population: its mean, so the money still sums to the value at risk
    zero = RetentionMatrix.from_codes(
        codes, sample.assign(value_at_risk=0.0), scores, frame=frame, threshold=0.5
    )
    assert zero.notes["value_source"] == "sample (12 respondents: population mean)"
    assert zero.table("money_at_risk").sum().tolist() == pytest.approx([100_000, 60_000, 160_000])


def test_errors_name_the_input():
    codes, sample, frame, scores = _fixture()
    with pytest.raises(MissingColumnError, match="'weight'"):
        RetentionMatrix.from_codes(codes, sample.drop(columns="weight"), scores, frame=frame)
    with pytest.raises(DataValidationError, match=r"\['S0'\] have \[2\]"):
        RetentionMatrix.from_codes(
            codes.assign(is_primary=codes["is_primary"] | (codes.index == 1)),
            sample,
            scores,
            frame=frame,
        )
    with pytest.raises(DataValidationError, match="'prise'"):
        RetentionMatrix.from_codes(codes.replace({"price": "prise"}), sample, scores, frame=frame)
    with pytest.raises(
        DataValidationError, match=r"strata \['F'\] of the sample have no positive size"
    ):
        RetentionMatrix.from_codes(codes, sample, scores, frame=frame.iloc[:1])
    with pytest.raises(DataValidationError, match=r"strata \['F'\] have no coded interview"):
        RetentionMatrix.from_codes(
            codes[~codes["sample_id"].isin(["S8", "S9", "S10", "S11"])], sample, scores, frame=frame
        )
    with pytest.raises(DataValidationError, match="span several populations"):
        RetentionMatrix.from_codes(codes, sample.assign(stratum="L"), scores, frame=frame)
    with pytest.raises(DataValidationError, match=r"population\(s\) \['first_time'\]"):
        RetentionMatrix.from_codes(codes, sample, scores.iloc[:2], frame=frame)
    with pytest.raises(MissingColumnError, match="share no interview key"):
        RetentionMatrix.from_codes(
            codes.rename(columns={"sample_id": "x"}), sample, scores, frame=frame
        )


def test_notes_say_what_was_assumed():
    codes, sample, frame, scores = _fixture()
    wider = pd.concat([frame, pd.DataFrame({"stratum": ["Z"], "N": [250]})], ignore_index=True)
    m = RetentionMatrix.from_codes(codes, sample, scores, frame=wider, threshold=0.5)
    assert m.notes["strata_not_sampled"] == {"Z": 250.0}
    # scores: 2 loyal and 1 first-time predicted churner, against frames of 400 and 600
    assert m.notes["scored_churners_vs_frame"] == {"first_time": (1, 600.0), "loyal": (2, 400.0)}
    assert m.notes["value_at_risk"] == {"first_time": 60_000.0, "loyal": 100_000.0}
    by_customer = codes.assign(customer_id=codes["sample_id"].str.replace("S", "C"))
    twice = sample.assign(customer_id=["C1"] * 13)
    with pytest.raises(DataValidationError, match=r"customer_id links codes to the sample but"):
        RetentionMatrix.from_codes(
            by_customer.drop(columns="sample_id"), twice, scores, frame=frame
        )


def test_churned_only_leaves_out_those_who_still_buy():
    """Two more loyal interviewees still buy: with ``churned_only`` they leave the shares.

    Loyal stratum L then holds 10 interviews of which 8 churned, so its size shrinks from
    400 to 400 × 8/10 = 320; F keeps 600. The total price share becomes
    (320 × 4/8 + 600 × 1/4) / 920 = 310/920, and the not-churned row is empty.
    """
    codes, sample, frame, scores = _fixture()
    extra = pd.DataFrame(
        {"sample_id": ["S13", "S14"], "code": ["not_churned", "not_churned"], "is_primary": True}
    )
    more = pd.DataFrame(
        {
            "sample_id": ["S13", "S14"],
            "customer_id": ["C13", "C14"],
            "stratum": "L",
            "population": "loyal",
            "weight": 40.0,
        }
    )
    codes, sample = pd.concat([codes, extra]), pd.concat([sample, more], ignore_index=True)
    both = RetentionMatrix.from_codes(codes, sample, scores, frame=frame, threshold=0.5)
    gone = RetentionMatrix.from_codes(
        codes, sample, scores, frame=frame, threshold=0.5, churned_only=True
    )
    assert _cell(both, "total", "not_churned")["primary_share"] > 0
    assert _cell(gone, "total", "not_churned")["primary_share"] == 0
    assert _cell(gone, "total", "price")["primary_share"] == pytest.approx(310 / 920)
    assert gone.notes["not_churned"] == {"L": 2}
    shares = gone.summary().query("segment == 'total'")["primary_share"]
    assert shares.sum() == pytest.approx(1.0)
    assert _cell(gone, "total", "price")["respondents"] == 12  # those who did churn
    # the money of a reason is the same either way; the value of those who still buy is a
    # note: 2 of 10 loyal respondents, equal values (no value_at_risk in the sample)
    money = [m.cells.set_index(["segment", "code"])["money_at_risk"] for m in (both, gone)]
    money = [x.drop("not_churned", level="code") for x in money]
    pd.testing.assert_series_equal(money[0], money[1].loc[money[0].index])
    assert _cell(gone, "loyal", "not_churned")["money_at_risk"] == 0
    still = gone.notes["value_not_churned"]["loyal"]
    assert still[0] == pytest.approx(100_000 * 2 / 10) and still[1] < still[0] < still[2]
    assert money[1].xs("loyal", level="segment").sum() + still[0] == pytest.approx(100_000)
    groups = gone.summary().set_index(["segment", "group"])["money_at_risk"]
    assert groups.xs("loyal", level="segment").sum() + still[0] == pytest.approx(100_000)
