"""Suggested codes: accuracy on the demo interviews, denial handling, the output contract, errors."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnkit.coding._codebook import load_codebook
from churnkit.coding._coder import OUTPUT_COLUMNS, code_answers
from churnkit.core._errors import DataValidationError, MissingColumnError
from churnkit.datasets import make_interviews, make_shop

BOOK = load_codebook()
THEMES = BOOK.themes


def _scores(answers: pd.DataFrame, coded: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Theme-level micro precision/recall/F1 and per-theme tp/fp/fn against ``true_codes``."""
    predicted = coded.groupby("answer_id")["theme"].agg(set)
    counts = {t: [0, 0, 0] for t in THEMES}
    for answer_id, joined in zip(answers["answer_id"], answers["true_codes"], strict=True):
        truth, pred = set(joined.split(";")), predicted[answer_id]
        for theme in truth | pred:
            counts[theme][0 if theme in truth & pred else 1 if theme in pred else 2] += 1
    table = pd.DataFrame.from_dict(counts, orient="index", columns=["tp", "fp", "fn"])
    table["precision"] = table["tp"] / (table["tp"] + table["fp"])
    table["recall"] = table["tp"] / (table["tp"] + table["fn"])
    tp, fp, fn = table[["tp", "fp", "fn"]].sum()
    micro = {
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
    }
    return micro, table


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    shop = make_shop(n_customers=2000, seed=0)
    answers = make_interviews(shop.truth["customer_id"], shop.truth, seed=0)
    return answers, code_answers(answers, lang_col="lang")


def test_demo_interviews_reach_micro_f1_085_at_theme_level(demo):
    # measured (make_shop(2000, seed=0)): the 1,655 answers without a denial micro P 0.984,
    # R 0.970, F1 0.977 (all 2,000: F1 0.974; lowest: service recall 0.83, trust precision 0.93)
    answers, coded = demo
    plain = answers["denied"] == ""
    micro, table = _scores(answers[plain], coded)
    assert micro["f1"] >= 0.85
    # every theme with at least 20 true mentions is found and not over-used
    big = table[table["tp"] + table["fn"] >= 20]
    assert len(big) >= 9
    assert (big["precision"] >= 0.8).all(), big
    assert (big["recall"] >= 0.8).all(), big


def test_denied_topics_are_not_coded_as_reasons(demo):
    # measured: 345 answers deny a topic; micro P 0.954, R 0.971, F1 0.963 on them; the
    # denied theme was still coded in 15 of them (4.3%)
    answers, coded = demo
    denying = answers[answers["denied"] != ""]
    assert len(denying) >= 200
    micro, _ = _scores(denying, coded)
    assert micro["f1"] >= 0.85
    predicted = coded.groupby("answer_id")["theme"].agg(set)
    leaked = sum(
        bool(set(d.split(";")) & predicted[a])
        for a, d in zip(denying["answer_id"], denying["denied"], strict=True)
    )
    assert leaked / len(denying) <= 0.08


def test_primary_code_matches_the_true_primary(demo):
    # measured: 97% of primaries right
    answers, coded = demo
    primary = coded[coded["is_primary"]].set_index("answer_id")["theme"]
    assert (primary[answers["answer_id"]].to_numpy() == answers["true_primary"]).mean() >= 0.9


@pytest.mark.parametrize(
    ("text", "primary", "absent"),
    [
        ("цены нормальные, но курьер опоздал", "delivery", "price"),
        ("Prices were fine, but the courier was always late", "delivery", "price"),
        ("С приложением всё нормально, просто нашла дешевле", "price", "technical"),
        ("Nothing wrong with the app, I found it cheaper elsewhere", "price", "technical"),
        ("Цены не устраивали, стало дороже", "price", None),
        ("Главное — баллы сгорели. Ещё доставка долгая", "loyalty", None),
        ("Доставка долгая. Но главное — баллы сгорели", "loyalty", None),
        ("Я всё ещё заказываю у вас, просто реже", "not_churned", None),
        ("Собака умерла, корм больше не нужен", "no_need", None),
        ("Не знаю, так получилось", "other", None),
        ("", "other", None),
    ],
)
def test_examples_from_the_brief(text, primary, absent):
    coded = code_answers(pd.DataFrame({"answer_id": [1], "text": [text]}))
    assert coded.loc[coded["is_primary"], "theme"].tolist() == [primary]
    assert absent not in set(coded["theme"])


@pytest.mark.parametrize(
    "text",
    [
        "Подорожало всё",
        "подорожал корм",
        "Цены выросли",
        "ценами недоволен",
        "дороговато у вас",
        "нашла дешевле на Озоне",
        "ДОРОЖЕ ЧЕМ У ВСЕХ",
        "too expensive",
        "prices went up",
        "it got pricier",
        "found it cheaper elsewhere",
    ],
)
def test_word_forms_of_price_are_found(text):
    coded = code_answers(pd.DataFrame({"answer_id": ["x"], "text": [text]}))
    assert "price" in set(coded["theme"])


def test_yo_and_e_are_the_same_letter():
    texts = ["Баллы сгорели, всё ещё обидно", "Баллы сгорели, все еще обидно"]
    coded = code_answers(pd.DataFrame({"answer_id": [1, 2], "text": texts}))
    by_answer = coded.groupby("answer_id")["code"].agg(tuple)
    assert by_answer[1] == by_answer[2]


def test_output_contract():
    answers = pd.DataFrame(
        {
            "id": ["z", "a", "m"],
            "answer": [
                "Баллы сгорели, и доставка долгая",
                "no reason",
                "Mainly the app kept crashing; also prices went up",
            ],
        }
    )
    coded = code_answers(answers, id_col="id", text_col="answer")
    assert coded.columns.tolist() == ["id", *OUTPUT_COLUMNS]
    assert coded["id"].unique().tolist() == ["z", "a", "m"]  # input order kept
    assert (coded.groupby("id")["is_primary"].sum() == 1).all()
    assert coded.groupby("id")["is_primary"].first().all()  # primary first
    assert coded["confidence"].between(0, 1).all()
    assert coded.loc[coded["id"] == "m", "code"].iloc[0].startswith("technical")
    for row in coded.itertuples():
        text = answers.set_index("id").at[row.id, "answer"]
        assert row.evidence in text
        assert row.group == BOOK.group_of(row.code)


def test_language_column_restricts_patterns():
    answers = pd.DataFrame({"answer_id": [1, 2], "text": ["доставка", "доставка"]})
    answers["lang"] = ["ru", "en"]
    coded = code_answers(answers, lang_col="lang")
    assert coded.set_index("answer_id").loc[1, "theme"] == "delivery"
    assert coded.set_index("answer_id").loc[2, "theme"] == "other"


def test_no_answers_give_an_empty_frame():
    coded = code_answers(pd.DataFrame({"answer_id": [], "text": []}))
    assert coded.empty and coded.columns.tolist() == ["answer_id", *OUTPUT_COLUMNS]


def test_errors_name_the_column_and_the_rows():
    with pytest.raises(MissingColumnError, match="'text'"):
        code_answers(pd.DataFrame({"answer_id": [1], "answer": ["x"]}))
    with pytest.raises(DataValidationError, match=r"repeated: \[1\]"):
        code_answers(pd.DataFrame({"answer_id": [1, 1], "text": ["a", "b"]}))
    with pytest.raises(DataValidationError, match=r"answers \[2\]"):
        code_answers(pd.DataFrame({"answer_id": [1, 2], "text": ["a", None]}))
    with pytest.raises(DataValidationError, match="'de'"):
        code_answers(
            pd.DataFrame({"answer_id": [1], "text": ["a"], "lang": ["de"]}), lang_col="lang"
        )
    with pytest.raises(DataValidationError, match="DataFrame"):
        code_answers(["a"])  # type: ignore[arg-type]


_texts = st.lists(st.text(max_size=120), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts)
def test_any_unicode_text_gets_exactly_one_primary_and_real_evidence(texts):
    answers = pd.DataFrame({"answer_id": range(len(texts)), "text": texts})
    coded = code_answers(answers)
    assert (coded.groupby("answer_id")["is_primary"].sum() == 1).all()
    assert coded["answer_id"].unique().tolist() == list(range(len(texts)))
    assert coded.groupby("answer_id")["code"].apply(lambda c: c.is_unique).all()
    for row in coded.itertuples():
        assert row.evidence in unicodedata.normalize("NFC", texts[row.answer_id])


_phrases = st.sampled_from(
    [
        "цены нормальные",
        "но курьер опоздал",
        "баллы сгорели",
        "приложение вылетает",
        "prices were fine",
        "the app kept crashing",
        "mainly",
        "главное",
        "не",
        "found it cheaper",
        "ёлки",
        ",",
        ".",
        "я всё ещё заказываю",
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_phrases, max_size=8).map(" ".join), min_size=1, max_size=5))
def test_coding_is_deterministic_and_independent_of_other_answers(texts):
    answers = pd.DataFrame({"answer_id": range(len(texts)), "text": texts})
    first = code_answers(answers)
    pd.testing.assert_frame_equal(first, code_answers(answers))
    # an answer is coded the same alone and among others, and in reverse order
    reversed_ = code_answers(answers.iloc[::-1])
    key = ["answer_id", "code"]
    pd.testing.assert_frame_equal(
        first.sort_values(key).reset_index(drop=True),
        reversed_.sort_values(key).reset_index(drop=True),
    )
    alone = code_answers(answers.iloc[[0]])
    pd.testing.assert_frame_equal(alone, first[first["answer_id"] == 0].reset_index(drop=True))
