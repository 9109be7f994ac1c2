"""The leadership PDF: number formats, sections from small hand-made inputs, both languages."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from pypdf import PdfReader

from churnkit.core._errors import ChurnkitError, ConfigError
from churnkit.matrix._matrix import RetentionMatrix
from churnkit.report._build import report_data, write_report
from churnkit.report._format import Words, format_number, format_share
from churnkit.report._sections import churners_table
from churnkit.report._sections_models import driver_counts
from churnkit.report._sections_study import merge_actions


# --------------------------------------------------------------------------- inputs by hand
def _matrix() -> RetentionMatrix:
    """The 12-interview fixture of tests/test_matrix.py, whose numbers are worked out there.

    From its docstring: fixable primary share 0.30 (95% CI 0.093–0.641), fixable money
    52,500; low-hanging fruit: loyalty 25,000 (CRM / loyalty team), trust 15,000, technical
    12,500.
    """
    interviews = [
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
    codes = pd.DataFrame(
        [(sid, code, i == 0) for sid, _, cs in interviews for i, code in enumerate(cs)],
        columns=["sample_id", "code", "is_primary"],
    )
    sample = pd.DataFrame(
        {
            "sample_id": [sid for sid, _, _ in interviews],
            "customer_id": [f"C{i}" for i in range(12)],
            "stratum": [s for _, s, _ in interviews],
            "population": ["loyal" if s == "L" else "first_time" for _, s, _ in interviews],
            "weight": [50.0] * 8 + [150.0] * 4,
        }
    )
    frame = pd.DataFrame({"stratum": ["L", "F"], "N": [400, 600]})
    return RetentionMatrix.from_codes(codes, sample, SCORES, frame=frame, threshold=0.5)


SCORES = pd.DataFrame(
    {
        "customer_id": ["X1", "X2", "X3", "X4"],
        "population": ["loyal", "loyal", "first_time", "first_time"],
        "segment": ["loyal", "at_risk", "first_time", "first_time"],
        "p_churn": [0.9, 0.8, 0.7, 0.2],
        "value_at_risk": [60_000.0, 40_000.0, 60_000.0, 5_000.0],
        "driver_1": [
            "no order for 94 days — usually every 31",
            "no order for 120 days — usually every 30",
            None,
            None,
        ],
    }
)
BACKTEST = pd.DataFrame(
    [
        (model, pop, pd.Timestamp(cut), metric, value, value - 0.02, value + 0.02)
        for cut in ("2024-03-31", "2024-06-30")
        for pop, base in (("loyal", 0.80), ("first_time", 0.70))
        for model, shift in (("gbm", 0.05), ("recency", 0.0), ("bgnbd", -0.02))
        for metric, value in (
            ("roc_auc", base + shift),
            ("pr_auc_churned", 0.6),
            ("brier", 0.2),
            ("ece", 0.08 if model == "gbm" and pop == "first_time" else 0.02),
            ("top_decile_lift", 2.0),
        )
    ],
    columns=["model", "population", "cutoff", "metric", "value", "lo", "hi"],
)
MODEL_VALIDATION = pd.DataFrame(
    {
        "population": ["first_time", "loyal"],
        "n": [853, 1137],
        "base_rate": [0.94, 0.42],
        "roc_auc": [0.75, 0.85],
        "ece_raw": [0.05, 0.04],
        "ece_calibrated": [0.01, 0.02],
        "survival_kind": ["weibull", "cox"],
    }
)
SAMPLE = {
    "strata": pd.DataFrame(
        {
            "stratum": ["loyal|high", "first_time|high"],
            "population": ["loyal", "first_time"],
            "risk_band": ["high", "high"],
            "eligible": [400, 600],
            "quota": [8, 4],
            "weight": [50.0, 150.0],
            "reserves": [24, 12],
        }
    ),
    "frame_report": pd.DataFrame(
        {"description": ["no research consent", "employee"], "excluded": [580, 0]}
    ),
    "params": {"strata": ["population", "risk_band"]},
    "seed": 7,
}
RELIABILITY = pd.DataFrame(
    {
        "code": ["price", "(primary)"],
        "alpha": [0.81, 0.74],
        "percent_agreement": [0.9, 0.85],
        "n_units": [40, 40],
        "n_coders": [2, 2],
        "flag": [False, False],
    }
)
SATURATION = pd.DataFrame(
    {"interview": [1, 2, 3, 4], "answer_id": list("abcd"), "new": ["price", "", "", ""],
     "n_new": [1, 0, 0, 0], "n_seen": [1, 1, 1, 1]}
)  # fmt: skip


def _results() -> dict:
    return {
        "as_of": "2024-12-31",
        "log_summary": {"customers": 12345, "as_of": "2024-12-31"},
        "validation": {"rows_read": 1000, "rows_used": 990, "n_rejected": 10, "n_returns": 5},
        "rejected_reasons": pd.DataFrame(
            {"reason": ["bad_date"], "rows": [10], "share": [0.01], "how_to_fix": ["fix dates"]}
        ),
        "backtest": BACKTEST,
        "model_validation": MODEL_VALIDATION,
        "scores": SCORES,
        "sample": SAMPLE,
        "fielding": {"completed": 9, "quota": 12, "open": 2, "refused": 1, "not_churned": 0},
        "reliability": RELIABILITY,
        "saturation": SATURATION,
        "matrix": _matrix(),
        "manifest": [
            {"stage": "validate", "status": "computed", "seconds": 1.5, "inputs": "ab" * 32}
        ],
    }


def _text(pdf) -> str:
    # no-break spaces (Russian digit groups) read as plain spaces
    pages = PdfReader(pdf).pages
    return re.sub(r"[\s\u00a0\u202f]+", " ", " ".join(p.extract_text() for p in pages))


# --------------------------------------------------------------------------- formats
@pytest.mark.parametrize(
    ("value", "lang", "decimals", "expected"),
    [
        (1234.5, "en", 1, "1,234.5"),
        (1234.5, "ru", 1, "1\u00a0234,5"),
        (1234567, "ru", 0, "1\u00a0234\u00a0567"),
        (0.5, "en", 2, "0.50"),
        (float("nan"), "en", 0, "–"),
        (None, "ru", 0, "–"),
    ],
)
def test_format_number(value, lang, decimals, expected):
    assert format_number(value, lang, decimals) == expected


def test_format_share():
    assert format_share(0.125, "en", 1) == "12.5%"
    assert format_share(0.125, "ru", 1) == "12,5\u00a0%"


def test_words_know_every_key_in_both_languages():
    en, ru = Words.of("en"), Words.of("ru")
    assert set(en.strings) == set(ru.strings)
    with pytest.raises(ConfigError, match=r"report\.lang"):
        Words.of("de")


def test_churners_table_counts_and_money():
    table = churners_table(SCORES, 0.5).set_index("population")
    assert table.loc["loyal", ["scored", "churners", "money"]].tolist() == [2, 2, 100_000.0]
    assert table.loc["first_time", ["churners", "money"]].tolist() == [1, 60_000.0]
    assert table.loc["total", ["churners", "money"]].tolist() == [3, 160_000.0]
    assert table.loc["total", "share"] == pytest.approx(0.75)


def test_driver_counts_mask_numbers():
    counts = driver_counts(SCORES)
    assert counts.to_dict() == {"no order for N days — usually every N": 2}


def test_actions_merge_overrides_and_reject_unknown_fields():
    merged = merge_actions({"loyal": {"channel": "App push"}, "pets": {"goal": {"en": "x"}}})
    assert merged["loyal"]["channel"] == "App push"
    assert merged["loyal"]["goal"]["ru"] == "Не дать уйти"  # the playbook's wording
    assert merged["pets"]["goal"] == {"en": "x"}
    with pytest.raises(ConfigError, match=r"report.actions.loyal.budget: unknown field"):
        merge_actions({"loyal": {"budget": 5}})


def test_unknown_input_is_named(tmp_path):
    with pytest.raises(ChurnkitError, match="unknown key"):
        report_data({"scorez": SCORES}, tmp_path)


# --------------------------------------------------------------------------- the PDF
@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return {
        lang: write_report(_results(), out / lang, lang=lang, currency="", title=None)
        for lang in ("en", "ru")
    }


def test_english_pdf_has_sections_and_numbers(pdfs):
    text = _text(pdfs["en"])
    for title in (
        "Summary for leadership",
        "Customer segments",
        "Churn models",
        "Interview study",
        "Retention matrix",
        "Actions per segment",
        "Appendix",
    ):
        assert title in text
    assert "12,345" in text  # customers
    assert "160,000" in text  # money at risk of the 3 predicted churners
    # the 80/20: obvious 70% (36–91%), fixable 30% (9–64%), as worked out in test_matrix.py
    assert "70% of predicted churners (95% CI 36%–91%)" in text
    assert "30% (9%–64%)" in text
    assert "Loyalty programme" in text and "CRM / loyalty team" in text and "25,000" in text
    assert "52,500" in text  # fixable money
    assert "Not run: segments" in text  # no segment input was given
    assert "Welcome message after the first order" in text
    assert "0.850 (0.830–0.870)" in text  # gbm loyal AUC at the latest cutoff, with its CI
    # the model's limits come from the numbers: first-time AUC 0.75 vs loyal 0.85, ECE 0.08
    assert "First-time buyers are harder to predict" in text
    assert "calibration error on the latest test date is 0.080" in text


def test_russian_pdf_has_sections_and_numbers(pdfs):
    text = _text(pdfs["ru"])
    for title in ("Кратко для руководства", "Модели оттока", "Матрица удержания", "Приложение"):
        assert title in text
    assert "12 345" in text and "160 000" in text and "52 500" in text
    assert "70 % уходящих (95% ДИ 36 %–91 %)" in text and "30 % (9 %–64 %)" in text
    assert "Программа лояльности" in text
    assert "Трансформация в лояльных" in text  # the playbook's first-time goal
    assert "0,850 (0,830–0,870)" in text


def test_pdf_is_a4_with_embedded_fonts(pdfs):
    reader = PdfReader(pdfs["ru"])
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"]
            fonts.append(any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")))
    assert fonts and all(fonts)


def test_sources_sit_next_to_the_pdf(pdfs):
    folder = pdfs["en"].parent
    data = json.loads((folder / "data.json").read_text(encoding="utf-8"))
    assert (folder / "churn_report.typ").is_file()
    assert [s["id"] for s in data["sections"]] == [
        "summary", "segments", "models", "interviews", "matrix", "actions", "appendix"
    ]  # fmt: skip
    figures = [b["path"] for s in data["sections"] for b in s["blocks"] if b["type"] == "figure"]
    assert figures and all((folder / f).is_file() and f.endswith(".svg") for f in figures)


def test_matrix_table_shows_the_interviews_behind_each_share(pdfs):
    """Each share of the matrix table carries the interviews it rests on; the fixture's
    figures all rest on fewer than 30 effective interviews, so all are flagged (†, grey)."""
    folder = pdfs["en"].parent
    data = json.loads((folder / "data.json").read_text(encoding="utf-8"))
    matrix = next(s for s in data["sections"] if s["id"] == "matrix")
    block = next(b for b in matrix["blocks"] if b["type"] == "table")
    price = next(r for r in block["rows"] if r[1] == "Price")
    # loyal 50% of 8 interviews, first-time 25% of 4, total 35% (12%–67%) of 12
    assert price[2:5] == [
        "50% (20%–80%) n\u00a08†",
        "25% (4%–74%) n\u00a04†",
        "35% (12%–67%) n\u00a012†",
    ]
    # every mentioned reason: 4 among loyal, 3 first-time, 5 in total (unmentioned ones: "–")
    assert [0, 2] in block["muted"] and len(block["muted"]) == 4 + 3 + 5
    assert "read as indicative only" in _text(pdfs["en"])
    assert "только как ориентир" in _text(pdfs["ru"])


def test_equal_inputs_give_equal_pdfs(tmp_path):
    results = {"log_summary": {"customers": 10}, "scores": SCORES}
    a = write_report(results, tmp_path / "a").read_bytes()
    b = write_report(results, tmp_path / "b").read_bytes()
    assert a == b


def test_nothing_run_still_renders(tmp_path):
    pdf = write_report({}, tmp_path / "empty", lang="ru")
    text = _text(pdf)
    assert "Не выполнялось: модель оттока" in text
    assert "Не выполнялось: матрица удержания" in text
