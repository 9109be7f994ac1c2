"""Synthetic interview answers: ground truth, denials, languages, variety and bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnkit.core._errors import ChurnkitError, DataValidationError, MissingColumnError
from churnkit.datasets import _interview_phrases as ph
from churnkit.datasets._interviews import DENIABLE, NOISE_THEMES, THEMES, make_interviews

# (churned, churn_reason, churn_reasons) patterns like those of a real study: mostly obvious
# reasons, some fixable ones, a few several-reason churners and customers who still buy
PATTERNS = [
    (True, "price", "price"),
    (True, "price", "price;loyalty"),
    (True, "delivery", "delivery"),
    (True, "delivery", "delivery;price"),
    (True, "loyalty", "loyalty"),
    (True, "technical", "technical;price"),
    (True, "trust", "trust"),
    (True, "no_need", "no_need"),
    (True, "other", None),
    (False, None, ""),
    (False, None, None),
]

# strong words of the planted themes; a phrase of one theme must not use another theme's words
LEXICON = {
    "price": r"\bцен(?!тр)|\bдорог|\bдешев|\bподорож|\bпереплач|\bprice|\bpricier|\bcheap|\bexpensive"
    r"|\boverpay",
    "delivery": r"\bдостав|\bкурьер|\bdeliver|\bcourier|\bshipping",
    "loyalty": r"\bбалл|\bбонус|\bкешб|\bpoints\b|\bbonus|\bloyalty|\bcashback|\brewards?\b",
    "technical": r"\bприложен|\bсайт|\bкорзин|\bфильтр|\bapp\b|\bwebsite|\bcart\b|\bbasket"
    r"|\bfilters?\b",
    "trust": r"\bпросроч|\bподдел|\bпомят|\bсрок\w* годност|\bfake|\bcounterfeit|\bdented"
    r"|\bbest-before|\bexpiry",
}


def _truth(n: int) -> pd.DataFrame:
    rows = [(f"C{i:05d}", *PATTERNS[i % len(PATTERNS)]) for i in range(n)]
    return pd.DataFrame(rows, columns=["customer_id", "churned", "churn_reason", "churn_reasons"])


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return _truth(500)


@pytest.fixture(scope="module")
def answers(truth: pd.DataFrame) -> pd.DataFrame:
    return make_interviews(truth["customer_id"], truth, seed=7)


def _codes(joined: str) -> list[str]:
    return [c for c in joined.split(";") if c]


def test_same_seed_same_frame_and_other_seed_other_texts(truth, answers):
    pd.testing.assert_frame_equal(make_interviews(truth["customer_id"], truth, seed=7), answers)
    other = make_interviews(truth["customer_id"], truth, seed=8)
    assert (other["text"] != answers["text"]).mean() > 0.9


def test_an_answer_depends_on_its_customer_not_on_who_else_was_interviewed(truth, answers):
    some = answers["customer_id"].iloc[[40, 3, 250]].tolist()
    few = make_interviews(some, truth, seed=7)
    assert few["answer_id"].tolist() == ["A00001", "A00002", "A00003"]
    expected = answers.set_index("customer_id").loc[some].reset_index()
    cols = ["customer_id", "lang", "text", "true_primary", "true_codes", "denied"]
    pd.testing.assert_frame_equal(few[cols], expected[cols])


def test_one_row_per_interview_in_the_given_order(truth, answers):
    assert list(answers.columns) == [
        "answer_id",
        "customer_id",
        "lang",
        "text",
        "true_primary",
        "true_codes",
        "denied",
    ]
    assert answers["customer_id"].tolist() == truth["customer_id"].tolist()
    assert answers["answer_id"].tolist() == [f"A{i:05d}" for i in range(1, 501)]
    reversed_ids = truth["customer_id"].iloc[::-1].tolist()
    assert make_interviews(reversed_ids, truth)["customer_id"].tolist() == reversed_ids


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_fixed_language_is_respected(truth, lang):
    out = make_interviews(truth["customer_id"], truth, seed=3, lang=lang)
    assert set(out["lang"]) == {lang}
    cyrillic = out["text"].str.contains("[а-яё]", case=False, regex=True)
    assert cyrillic.all() if lang == "ru" else not cyrillic.any()


def test_mix_is_about_seventy_percent_russian(answers):
    share = (answers["lang"] == "ru").mean()
    assert 0.62 <= share <= 0.78, share
    cyrillic = answers["text"].str.contains("[а-яё]", case=False, regex=True)
    assert (cyrillic == (answers["lang"] == "ru")).all()


def test_true_codes_follow_the_truth(truth, answers):
    merged = answers.merge(truth, on="customer_id", validate="one_to_one")
    for row in merged.itertuples():
        codes = _codes(row.true_codes)
        assert codes[0] == row.true_primary
        assert len(codes) == len(set(codes))
        if row.churned:
            reasons = _codes(row.churn_reasons or "") or [row.churn_reason]
            assert row.true_primary == row.churn_reason
            assert codes[: len(reasons)] == reasons
            assert set(codes[len(reasons) :]) <= set(NOISE_THEMES)
            if reasons == ["other"]:
                assert codes == ["other"]  # a vague answer gets no side remark
        else:
            assert row.true_primary == "not_churned"
            assert set(codes[1:]) <= set(ph.MILD) and len(codes) <= 2
    # side remarks and mild complaints exist, but stay a minority
    extra = merged["true_codes"].map(_codes).str.len() > merged["churn_reasons"].fillna("").map(
        lambda s: max(len(_codes(s)), 1)
    )
    assert 0.03 <= extra.mean() <= 0.35, extra.mean()


def test_a_churner_without_listed_reasons_takes_churn_reason_or_other():
    truth = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "churned": [True, True, True, True],
            "churn_reason": ["trust", None, np.nan, "loyalty"],
            "churn_reasons": [None, "delivery;trust", "", "price;loyalty"],
        }
    )
    out = make_interviews(["a", "b", "c", "d"], truth, seed=0)
    codes = out["true_codes"].map(_codes)
    assert out["true_primary"].tolist() == ["trust", "delivery", "other", "loyalty"]
    assert codes[1][:2] == ["delivery", "trust"]
    # the primary reason leads even when churn_reasons lists it later
    assert codes[3][:2] == ["loyalty", "price"]


def test_denied_themes_are_never_true_and_appear_in_15_to_20_percent(answers):
    denied = answers["denied"].map(_codes)
    for codes, no in zip(answers["true_codes"].map(_codes), denied, strict=True):
        assert not set(codes) & set(no)
        assert set(no) <= set(DENIABLE)
    share = (denied.str.len() > 0).mean()
    assert 0.10 <= share <= 0.25, share
    assert denied.explode().dropna().nunique() >= 6


def test_a_churner_with_every_deniable_reason_has_nothing_left_to_deny():
    truth = pd.DataFrame(
        {
            "customer_id": [f"all{i}" for i in range(30)],
            "churned": True,
            "churn_reason": "price",
            "churn_reasons": ";".join(DENIABLE),
        }
    )
    out = make_interviews(truth["customer_id"], truth, seed=np.int64(3))
    assert (out["denied"] == "").all()
    assert (out["true_codes"] == ";".join(DENIABLE)).all()
    pd.testing.assert_frame_equal(out, make_interviews(truth["customer_id"], truth, seed=3))


def test_answers_vary(answers):
    assert answers["text"].nunique() >= 0.9 * len(answers)
    said = answers["text"].str.replace(r"^— [^\n]*\n— ", "", regex=True)  # drop the question
    sentences = said.str.split(r"(?<=[.!?])\s+", regex=True).explode()
    # the respondents use no stock phrase: the commonest is under 2.5% of ~1,200 sentences
    assert len(sentences) > 1000
    assert sentences.value_counts().iloc[0] <= 25


@pytest.mark.parametrize(
    ("theme", "lang", "forms"),
    [
        ("price", "ru", ["цен", "дорог", "дешевл", "подорож", "переплач", "выгодн"]),
        ("price", "en", ["cheap", "expensive", "pric", "overpay", "worth", "cost"]),
        ("delivery", "ru", ["доставк", "доставил", "курьер", "привез", "ждать"]),
        ("delivery", "en", ["deliver", "courier", "shipping", "arriv", "late"]),
        ("loyalty", "ru", ["балл", "бонус", "сгорел", "сгорают", "кешбэк"]),
        ("technical", "ru", ["приложени", "корзин", "фильтр", "оплат", "сайт"]),
        ("trust", "ru", ["хран", "срок", "упаковк", "подделк", "просроч"]),
    ],
)
def test_each_theme_is_said_in_several_word_forms(theme, lang, forms):
    ids = [f"{theme}{i}" for i in range(200)]
    truth = pd.DataFrame(
        {"customer_id": ids, "churned": True, "churn_reason": theme, "churn_reasons": theme}
    )
    texts = make_interviews(ids, truth, seed=1, lang=lang)["text"].str.lower()
    used = [f for f in forms if texts.str.contains(f, regex=False).any()]
    assert len(used) >= len(forms) - 1, used


def test_people_type_like_people(answers):
    ru = answers.loc[answers["lang"] == "ru", "text"]
    with_yo = ru.str.contains("ё").mean()
    assert 0.1 < with_yo < 0.9, with_yo  # half of the Russian answers are typed without «ё»
    assert (answers["text"] == answers["text"].str.lower()).any()
    fillers = r"\b(?:ну|в общем|честно говоря|honestly|well),"
    assert answers["text"].str.contains(fillers, case=False).any()
    assert answers["text"].str.startswith("— ").any()  # transcribed with the question
    assert answers["text"].str.contains(r"главное|main", case=False).any()  # stressed primary


def test_text_has_no_codes_or_markers(answers):
    for marker in ["{", "}", "_", "theme", "not churned", "no need", "A0"]:
        assert not answers["text"].str.contains(marker, regex=False).any(), marker


def _all_templates() -> dict[str, list[str]]:
    """Every template of the bank by name, both languages."""
    found: dict[str, list[str]] = {}

    def walk(name, node):
        if isinstance(node, str):
            found.setdefault(name, []).append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(f"{name}.{key}", value)
        else:
            for value in node:
                walk(name, value)

    for name in [n for n in dir(ph) if n.isupper()]:
        walk(name, getattr(ph, name))
    return found


def test_phrase_bank_is_complete_and_well_formed():
    for bank in (ph.REASONS, ph.MILD, ph.DENIALS):
        for theme, by_lang in bank.items():
            assert theme in THEMES
            assert set(by_lang) == {"ru", "en"}, theme
    assert set(ph.REASONS) == set(THEMES)
    for theme in ("price", "delivery", "loyalty", "technical", "trust"):
        for lang in ("ru", "en"):
            assert len(ph.REASONS[theme][lang]) >= 20, (theme, lang)
            assert len(set(ph.REASONS[theme][lang])) == len(ph.REASONS[theme][lang])
    for name, templates in _all_templates().items():
        for template in templates:
            for slot in re.findall(r"\{(\w+)\}", template):
                assert slot in ph.SLOTS or slot in {"s", "d", "r", "D"}, (name, template)


def test_phrases_of_a_theme_use_no_other_themes_words():
    # the ground truth is only honest if a phrase states its own theme and nothing else
    def words_of(theme: str, text: str) -> bool:
        return re.search(LEXICON[theme], text.lower()) is not None

    for bank in (ph.REASONS, ph.MILD, ph.DENIALS):
        for theme, by_lang in bank.items():
            for template in by_lang["ru"] + by_lang["en"]:
                others = [t for t in LEXICON if t != theme and words_of(t, template)]
                # a courier's rudeness is a service complaint by the codebook's definition
                if theme == "service":
                    others = [t for t in others if t != "delivery"]
                assert not others, (theme, template, others)
    # questions, openers, fillers, connectors and slot values (bonus amounts aside) are neutral
    neutral = [
        t
        for name, templates in _all_templates().items()
        if not name.startswith(("REASONS", "MILD", "DENIALS", "SLOTS.pts", "SLOTS.npts"))
        for t in templates
    ]
    for text in neutral:
        assert not [t for t in LEXICON if words_of(t, text)], text


def test_no_customers_no_rows(truth):
    out = make_interviews([], truth)
    assert out.empty
    assert out.columns.tolist() == make_interviews(["C00001"], truth).columns.tolist()


@given(
    flags=st.lists(
        st.tuples(
            st.booleans(),
            st.lists(st.sampled_from([t for t in THEMES if t != "not_churned"]), max_size=3),
        ),
        min_size=1,
        max_size=25,
    ),
    seed=st.integers(0, 2**32),
    lang=st.sampled_from(["mix", "ru", "en"]),
)
@settings(max_examples=60, deadline=None)
def test_any_truth_gives_consistent_answers(flags, seed, lang):
    truth = pd.DataFrame(
        {
            "customer_id": [f"X{i}" for i in range(len(flags))],
            "churned": [churned for churned, _ in flags],
            "churn_reason": [r[0] if r else None for _, r in flags],
            "churn_reasons": [";".join(r) for _, r in flags],
        }
    )
    out = make_interviews(truth["customer_id"][::-1], truth, seed=seed, lang=lang)
    assert out["customer_id"].tolist() == truth["customer_id"][::-1].tolist()
    for row, (churned, reasons) in zip(out.itertuples(), flags[::-1], strict=True):
        codes = _codes(row.true_codes)
        want = (list(dict.fromkeys(reasons)) or ["other"]) if churned else ["not_churned"]
        assert codes[: len(want)] == want
        assert not set(codes) & set(_codes(row.denied))
        assert row.text.strip() and "{" not in row.text
        assert row.lang in (("ru", "en") if lang == "mix" else (lang,))


def test_ids_missing_from_truth_are_named(truth):
    with pytest.raises(DataValidationError, match=r"2 id\(s\).*'nobody'.*'C99999'"):
        make_interviews(["C00001", "nobody", "C99999"], truth)


def test_numbers_are_not_taken_for_string_ids(truth):
    with pytest.raises(DataValidationError, match="id type"):
        make_interviews([1], truth)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda t: t.drop(columns="churn_reasons"), MissingColumnError, "churn_reasons"),
        (lambda t: pd.concat([t, t.head(1)]), DataValidationError, "several rows.*C00000"),
        (
            lambda t: t.assign(churn_reason=t["churn_reason"].replace("trust", "storage")),
            DataValidationError,
            "C00006.*'storage'",
        ),
        (
            lambda t: t.assign(churn_reasons=t["churn_reasons"].replace("price", "not_churned")),
            DataValidationError,
            "C00000.*not_churned",
        ),
        (
            lambda t: t.assign(churned=t["churned"].astype(object).where(t.index != 2, None)),
            DataValidationError,
            "churned.*C00002",
        ),
        (
            lambda t: t.assign(churned=t["churned"].map({True: "yes", False: "no"})),
            DataValidationError,
            "True or False",
        ),
    ],
)
def test_bad_truth_is_explained(truth, change, error, message):
    bad = change(truth.head(20).copy())
    with pytest.raises(error, match=message):
        make_interviews(bad["customer_id"].drop_duplicates().tolist(), bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lang": "de"}, "lang must be"),
        ({"seed": -1}, "seed must be"),
        ({"seed": 1.5}, "seed must be"),
        ({"customer_ids": "C00001"}, r"\['C00001'\]"),
        ({"customer_ids": ["C00001", "C00002", "C00001"]}, r"\['C00001'\] more than once"),
    ],
)
def test_bad_arguments_are_explained(truth, kwargs, message):
    kwargs = {"customer_ids": ["C00001"], **kwargs}
    with pytest.raises(ChurnkitError, match=message):
        make_interviews(truth=truth, **kwargs)
