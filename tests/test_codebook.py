"""The codebook: the packaged default, its self-consistency, and validation errors that name the code and key."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from churnkit.coding._codebook import Codebook, load_codebook
from churnkit.coding._coder import code_answers
from churnkit.core._errors import ChurnkitError, ConfigError

THEMES = [
    "price",
    "delivery",
    "loyalty",
    "technical",
    "trust",
    "assortment",
    "service",
    "communication",
    "no_need",
    "not_churned",
    "other",
]
GROUPS = {
    "price": "obvious",
    "delivery": "obvious",
    "loyalty": "fixable",
    "technical": "fixable",
    "trust": "fixable",
    "assortment": "fixable",
    "service": "fixable",
    "communication": "fixable",
    "no_need": "external",
    "not_churned": "other",
    "other": "other",
}


@pytest.fixture(scope="module")
def book() -> Codebook:
    return load_codebook()


def _minimal() -> dict:
    """A small valid codebook to break one key at a time."""
    return {
        "name": "tiny",
        "languages": ["ru", "en"],
        "codes": [
            {
                "id": "price",
                "label": {"ru": "Цена", "en": "Price"},
                "definition": "too expensive",
                "group": "obvious",
                "include": ["дорого"],
                "exclude": [],
                "patterns": {"ru": ["дорог"], "en": ["expens"]},
            },
            {
                "id": "loyalty",
                "label": {"ru": "Бонусы", "en": "Bonuses"},
                "definition": "bonus points",
                "group": "fixable",
                "owner": "CRM",
                "effort": "low",
                "include": ["баллы сгорели"],
                "exclude": [],
                "patterns": {"ru": ["балл"], "en": ["points"]},
            },
            {
                "id": "loyalty.bonus_expired",
                "label": {"ru": "Сгорели", "en": "Expired"},
                "definition": "points expired",
                "include": ["баллы сгорели"],
                "exclude": [],
                "patterns": {"ru": ["сгор"], "en": ["expired"]},
            },
            {
                "id": "other",
                "label": {"ru": "Другое", "en": "Other"},
                "definition": "anything else",
                "group": "other",
                "include": [],
                "exclude": [],
                "patterns": {},
            },
        ],
    }


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_default_codebook_has_the_eleven_themes_in_order(book):
    assert book.themes == THEMES
    assert {t: book.group_of(t) for t in THEMES} == GROUPS


def test_default_codebook_has_the_named_sub_codes(book):
    for code in [
        "price.competitor_cheaper",
        "price.went_up",
        "delivery.slow",
        "delivery.courier",
        "loyalty.bonus_expired",
        "technical.cart_reset",
        "technical.app_crash",
        "trust.storage",
        "trust.damaged",
        "no_need.pet",
        "no_need.moved",
    ]:
        assert code in book
        assert book.theme_of(code) == code.split(".")[0]
        assert book.group_of(code) == GROUPS[code.split(".")[0]]


def test_codes_table_has_labels_owner_and_effort(book):
    codes = book.codes
    assert list(codes.columns) == [
        "code",
        "theme",
        "is_theme",
        "label_ru",
        "label_en",
        "definition",
        "group",
        "owner_ru",
        "owner_en",
        "effort",
    ]
    assert codes["code"].is_unique
    fixable = codes[codes["group"] == "fixable"]
    assert fixable[["owner_ru", "owner_en"]].notna().all().all()
    assert fixable["owner_ru"].str.contains("[а-я]").all()  # owners are translated
    assert set(fixable["effort"]) <= {"low", "medium", "high"}
    owned = ["owner_ru", "owner_en", "effort"]
    assert codes.loc[codes["group"] != "fixable", owned].isna().all().all()
    assert (codes["label_ru"].str.len() > 0).all()
    assert (codes["label_en"].str.len() > 0).all()


def test_labels_and_lookups(book):
    assert book.label("price", "ru") == "Цена"
    assert book.label("trust.storage", "en") == "Storage conditions"
    assert book.owner_of("technical.app_crash") == "Mobile app team"
    assert book.owner_of("technical.app_crash", "ru") == "Команда мобильного приложения"
    assert book.owner_of("price", "ru") is None
    with pytest.raises(ChurnkitError, match="language 'de'"):
        book.owner_of("technical.app_crash", "de")
    with pytest.raises(ChurnkitError, match="'nope' is not in codebook"):
        book.group_of("nope")
    with pytest.raises(ChurnkitError, match="language 'de'"):
        book.label("price", "de")


def test_every_include_example_is_coded_with_its_theme(book):
    # the codebook documents itself: its own examples must be found by its own patterns
    rows = [(c.id, ex) for c in (book.code(i) for i in book.ids) for ex in c.include]
    answers = pd.DataFrame({"answer_id": range(len(rows)), "text": [ex for _, ex in rows]})
    coded = code_answers(answers, book)
    themes = coded.groupby("answer_id")["theme"].agg(set)
    missed = [
        (code, ex) for i, (code, ex) in enumerate(rows) if book.theme_of(code) not in themes[i]
    ]
    assert missed == []


def test_exclude_examples_are_not_given_their_code(book):
    # an exclude example names where it belongs in brackets; the text before it must not get
    # the code (a theme's exclusions: not the theme at all)
    rows = [
        (c, re.sub(r"\(.*\)", "", ex))
        for c in (book.code(i) for i in book.ids)
        for ex in c.exclude
        if c.id != "other"
    ]
    answers = pd.DataFrame({"answer_id": range(len(rows)), "text": [ex for _, ex in rows]})
    coded = code_answers(answers, book)
    given = coded.groupby("answer_id")["code"].agg(set)
    wrong = [
        (c.id, ex)
        for i, (c, ex) in enumerate(rows)
        if (c.id in given[i]) or (c.is_theme and any(g.split(".")[0] == c.id for g in given[i]))
    ]
    assert wrong == []


def test_minimal_codebook_loads_and_sub_code_inherits(tmp_path):
    book = load_codebook(_write(tmp_path, _minimal()))
    assert book.themes == ["price", "loyalty", "other"]
    assert book.group_of("loyalty.bonus_expired") == "fixable"
    # one owner text serves every language
    assert book.owner_of("loyalty.bonus_expired") == book.owner_of("loyalty", "ru") == "CRM"
    assert "tiny" in repr(book)


def _broken(tmp_path: Path, change) -> str:
    data = _minimal()
    change(data)
    with pytest.raises(ConfigError) as info:
        load_codebook(_write(tmp_path, data))
    message = str(info.value)
    assert "book.yaml" in message
    return message


def test_duplicate_id_names_code_and_key(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"].append(dict(d["codes"][0])))
    assert "'price'" in message and "'id'" in message and "duplicate" in message


def test_unknown_group_names_code_and_key(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][0].update(group="obvous"))
    assert "'price'" in message and "'group'" in message and "obvous" in message


def test_bad_regex_names_code_key_and_pattern(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][2]["patterns"].update(en=["ok", "(unclosed"]))
    assert "'loyalty.bonus_expired'" in message and "'patterns'" in message
    assert "en[1]" in message and "(unclosed" in message


def test_missing_owner_for_fixable_names_code_and_key(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][1].pop("owner"))
    assert "'loyalty'" in message and "'owner'" in message


def test_bad_effort_names_code_and_key(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][1].update(effort="huge"))
    assert "'loyalty'" in message and "'effort'" in message


def test_sub_code_without_theme_is_rejected(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][2].update(id="bonus.expired"))
    assert "'bonus.expired'" in message and "theme 'bonus'" in message


def test_sub_code_group_must_match_theme(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][2].update(group="obvious"))
    assert "'loyalty.bonus_expired'" in message and "'group'" in message


def test_unknown_code_key_is_rejected(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][0].update(patern={"ru": ["x"]}))
    assert "'price'" in message and "'patern'" in message


def test_missing_label_language_is_rejected(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][0].update(label={"ru": "Цена"}))
    assert "'price'" in message and "'label'" in message


def test_pattern_language_must_be_declared(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][0]["patterns"].update(de=["teuer"]))
    assert "'price'" in message and "'de'" in message


def test_fallback_code_is_required(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"].pop())
    assert "'other'" in message


def test_bad_global_cue_regex_is_rejected(tmp_path):
    message = _broken(tmp_path, lambda d: d.update(denial={"en": ["fine["]}))
    assert "'denial'" in message and "en[0]" in message


def test_unreadable_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        load_codebook(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("codes: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_codebook(bad)


def test_owner_missing_in_one_language_names_code_and_key(tmp_path):
    message = _broken(tmp_path, lambda d: d["codes"][1].update(owner={"en": "CRM"}))
    assert "'loyalty'" in message and "'owner'" in message and "every language" in message
