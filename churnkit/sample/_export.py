"""Write an interview sample into one folder that a research team can field tomorrow.

``export_interview_sample(draw, out)`` writes, atomically (:func:`churnkit.core._outputs.atomic_folder`):

================================  ============================================================
``analysis.csv``, ``analysis.xlsx``  pseudonymous: one row per case (main sample, then reserves),
                                  design columns, interviewer context, drivers in words and
                                  empty fielding columns; the XLSX also has the sheets
                                  ``data_dictionary`` and ``strata``. No contact details, no
                                  customer id. Filled in, this file is the fielding tracker.
``contacts.csv``                  PII for the fielding team only: ``sample_id``, first name,
                                  phone, e-mail, timezone.
``sample_key.csv``                ``sample_id, customer_id``: keep it apart from the analysis file.
``strata.csv``                    eligible N, quota n and weight per stratum (for re-weighting).
``frame_report.csv``              exclusions counted per reason.
``interview_guide_ru.md``,        the guide: how to field, the open questions, and per stratum
``interview_guide_en.md``         its context and the probes its model drivers suggest.
``manifest.json``                 inputs' hashes, parameters, seed, versions, outputs' hashes.
================================  ============================================================

Same draw -> byte-identical files, the XLSX included (fixed zip entry times and document
dates); only ``manifest.json``'s ``created_at`` records when it was written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from churnkit.core._errors import ConfigError
from churnkit.core._outputs import atomic_folder, write_csv, write_manifest
from churnkit.core._schema import PII_COLUMNS
from churnkit.core._xlsx import EPOCH, write_xlsx
from churnkit.features._themes import THEMES, driver_theme

if TYPE_CHECKING:
    from churnkit.sample._draw import InterviewSample

__all__ = ["export_interview_sample", "write_xlsx"]

PathLike = str | os.PathLike[str]

FIELDING_COLUMNS: tuple[str, ...] = (
    "attempts",
    "disposition",
    "consent_recorded_at",
    "interviewer",
    "notes",
)
DISPOSITIONS: tuple[str, ...] = ("completed", "refused", "no answer", "ineligible", "not churned")
# never in the analysis file, whatever the sample carries
FORBIDDEN: frozenset[str] = frozenset({*PII_COLUMNS, "customer_id", "timezone"})

# column -> (English, Russian) description; the analysis file has exactly these, in this order
DICTIONARY: dict[str, tuple[str, str]] = {
    "sample_id": (
        "Pseudonymous case id (keyed hash; the link to the customer is only in sample_key.csv)",
        "Псевдонимный номер случая (ключевой хеш; связь с клиентом только в sample_key.csv)",
    ),
    "stratum": ("Stratum the case was drawn from", "Страта, из которой выбран случай"),
    "group": (
        "churner = predicted churner; contrast = low-risk contrast case",
        "churner — прогнозируемый отток; contrast — контрольный случай с низким риском",
    ),
    "population": (
        "first_time = one purchase so far; loyal = repeat buyer",
        "first_time — одна покупка; loyal — повторный покупатель",
    ),
    "segment": ("Lifecycle segment at scoring", "Сегмент жизненного цикла на дату скоринга"),
    "risk_band": (
        "Churn risk band: low / medium / high",
        "Уровень риска оттока: low / medium / high",
    ),
    "wave": (
        "1 = main sample; reserves: the release block they belong to",
        "1 — основная выборка; резерв — номер блока выпуска",
    ),
    "is_reserve": ("TRUE for a reserve case", "TRUE для резервного случая"),
    "reserve_rank": (
        "Release order of a reserve within its stratum (release strictly in this order)",
        "Порядок выпуска резерва внутри страты (выпускать строго по порядку)",
    ),
    "weight": (
        "Design weight N_stratum / n_stratum (eligible / quota)",
        "Вес дизайна N_страты / n_страты (в генсовокупности / квота)",
    ),
    "p_churn": ("Predicted probability of churn", "Прогнозная вероятность оттока"),
    "value_band": (
        "Value at risk (p_churn × expected 12-month revenue), terciles of the frame: low / medium / high",
        "Деньги под риском (p_churn × ожидаемая выручка за 12 мес.), терцили: low / medium / high",
    ),
    "model_version": ("Version of the churn model", "Версия модели оттока"),
    "scored_at": ("Date of scoring", "Дата скоринга"),
    "last_order_date": ("Date of the last order", "Дата последнего заказа"),
    "days_since_last_order": (
        "Days from the last order to the scoring date",
        "Дней с последнего заказа",
    ),
    "orders": ("Orders so far", "Число заказов"),
    "aov_band": (
        "Average order value against all buyers' terciles: low / medium / high",
        "Средний чек относительно терцилей всех покупателей: low / medium / high",
    ),
    "top_categories": ("Up to three categories by revenue", "До трёх категорий по выручке"),
    "main_channel": ("Channel of most orders (app / site)", "Канал большинства заказов"),
    "main_device": ("Device of most orders", "Устройство большинства заказов"),
    "bonus_balance": ("Unspent bonus points", "Остаток бонусных баллов"),
    "bonus_expired_90d": (
        "Bonus points expired in the 90 days before scoring",
        "Баллы, сгоревшие за 90 дней до скоринга",
    ),
    "top_drivers": (
        "What raised the model's churn score most, in words (as scored)",
        "Что сильнее всего подняло прогноз оттока (как в скоринге)",
    ),
    "driver_themes": (
        "Themes of those drivers: " + ", ".join(THEMES) + ", other",
        "Темы этих драйверов: " + ", ".join(THEMES) + ", other",
    ),
    "attempts": ("Fielding: contact attempts made (number)", "Поле: число попыток связаться"),
    "disposition": (
        "Fielding: " + " / ".join(DISPOSITIONS) + "; blank while the case is open",
        "Поле: completed (интервью) / refused (отказ) / no answer (не дозвонились) / "
        "ineligible (не подходит) / not churned (продолжает покупать); пусто, пока случай открыт",
    ),
    "consent_recorded_at": (
        "Fielding: date and time the consent to the interview was recorded",
        "Поле: дата и время записи согласия на интервью",
    ),
    "interviewer": ("Fielding: interviewer's name or code", "Поле: интервьюер"),
    "notes": ("Fielding: notes (no contact details here)", "Поле: заметки (без контактных данных)"),
}


def _driver_text(value: Any) -> str | None:
    """A driver as shown to people: a feature name becomes its description, a phrase stays."""
    from churnkit.core._errors import ChurnkitError
    from churnkit.features._descriptions import feature_descriptions

    if not isinstance(value, str) or not value.strip():
        return None
    if re.fullmatch(r"[a-z0-9_]+", value):
        try:
            return str(feature_descriptions([value])["description_en"].iloc[0])
        except ChurnkitError:
            return value.replace("_", " ")
    return value


# -- the analysis table ------------------------------------------------------------------------
def analysis_table(draw: InterviewSample) -> pd.DataFrame:
    """The pseudonymous analysis/tracker table: :data:`DICTIONARY`'s columns, in order.

    Raises if a PII column or the customer id would slip in (a guard, not a filter).
    """
    s = draw.sample
    out = pd.DataFrame(index=s.index)
    drivers = [c for c in ("driver_1", "driver_2", "driver_3") if c in s.columns]
    for column in DICTIONARY:
        if column in s.columns:
            out[column] = s[column]
        elif column == "top_drivers":
            out[column] = _join_words([_map_unique(s[c], _driver_text) for c in drivers], len(s))
        elif column == "driver_themes":
            out[column] = _join_words([_map_unique(s[c], driver_theme) for c in drivers], len(s))
        elif column == "attempts":
            out[column] = pd.array([pd.NA] * len(s), dtype="Int64")
        else:
            out[column] = None
    if "scored_at" in s.columns:
        out["scored_at"] = pd.to_datetime(s["scored_at"]).dt.normalize()
    leaked = FORBIDDEN & set(out.columns)
    if leaked:  # pragma: no cover - the dictionary above decides the columns
        raise AssertionError(f"PII columns {sorted(leaked)} reached the analysis table")
    return out.reset_index(drop=True)


def _map_unique(values: pd.Series, fn: Any) -> pd.Series:
    """``values.map(fn)`` calling ``fn`` once per distinct value."""
    distinct = values.dropna().unique()
    return values.map(dict(zip(distinct, (fn(v) for v in distinct), strict=True)))


def _join_words(words: list[pd.Series], n: int) -> list[str | None]:
    if not words:
        return [None] * n
    rows = zip(*(w.tolist() for w in words), strict=True)
    return [
        "; ".join(dict.fromkeys(x for x in row if isinstance(x, str) and x)) or None for row in rows
    ]


def data_dictionary() -> pd.DataFrame:
    """One row per analysis column: ``column, description_en, description_ru``."""
    return pd.DataFrame(
        [(c, en, ru) for c, (en, ru) in DICTIONARY.items()],
        columns=["column", "description_en", "description_ru"],
    )


# -- the folder --------------------------------------------------------------------------------
def export_interview_sample(
    draw: InterviewSample,
    out: PathLike,
    *,
    inputs: Mapping[str, Any] | None = None,
    languages: Sequence[str] = ("ru", "en"),
) -> Path:
    """Write the sample's analysis file, contact file, key, strata, guides and manifest.

    Parameters
    ----------
    draw : InterviewSample
        What :func:`churnkit.draw_interview_sample` returned.
    out : path
        The folder; replaced atomically once every file is written.
    inputs : mapping, optional
        Name -> path or DataFrame of the inputs (scores, customers, …) whose hashes the
        manifest records.
    languages : sequence of {"ru", "en"}
        Languages of the interview guide.

    Returns
    -------
    Path
        ``out``.

    Examples
    --------
    >>> draw = churnkit.draw_interview_sample(scores, customers, quotas=300)  # doctest: +SKIP
    >>> export_interview_sample(draw, "out/sample")  # doctest: +SKIP
    """
    from churnkit.sample._guide import interview_guide

    unknown = set(languages) - {"ru", "en"}
    if unknown or not languages:
        raise ConfigError(f"languages must be among 'ru' and 'en', got {list(languages)}.")
    table = analysis_table(draw)
    stamp = _stamp(draw)
    with atomic_folder(out) as tmp:
        write_csv(table, tmp / "analysis.csv")
        write_xlsx(
            {"sample": table, "data_dictionary": data_dictionary(), "strata": draw.strata},
            tmp / "analysis.xlsx",
            stamp=stamp,
            choices={"disposition": DISPOSITIONS},
        )
        write_csv(draw.contacts, tmp / "contacts.csv")
        write_csv(draw.sample[["sample_id", "customer_id"]], tmp / "sample_key.csv")
        write_csv(draw.strata, tmp / "strata.csv")
        write_csv(draw.frame_report, tmp / "frame_report.csv")
        for lang in languages:
            text = interview_guide(draw, lang)
            (tmp / f"interview_guide_{lang}.md").write_text(text, encoding="utf-8")
        write_manifest(
            tmp,
            stage="sample",
            inputs=dict(inputs or {}),
            config=draw.params | {"languages": list(languages)},
            seed=draw.seed,
        )
    return Path(out)


def _stamp(draw: InterviewSample) -> datetime:
    as_of = draw.params.get("as_of")
    return datetime.fromisoformat(as_of) if as_of else EPOCH
