"""The interview guide of a drawn sample, in Russian or English Markdown.

The guide has the fielding rules (attempts, dispositions, the replacement rule), the open
questions about why the customer stopped buying, and per stratum its size and context and the
probes that the model's most common drivers in that stratum suggest.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pandas as pd

from churnkit.features._themes import THEMES, driver_theme

if TYPE_CHECKING:
    from churnkit.sample._draw import InterviewSample

__all__ = ["interview_guide"]

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "# Interview guide: why customers stop buying",
        "intro": (
            "{main} interviews in {strata} strata (plus {reserves} reserves), drawn on {date} "
            "with seed {seed}. Cases are identified by `sample_id` only; contact details are in "
            "the separate contact file. Interviews take 15–20 minutes; nothing is sold. "
            "Every quota can be met if at least {min_yield} of the released cases end in an "
            "interview (main case plus its reserves); `churnkit sample-status` shows the real "
            "rate as fielding goes."
        ),
        "rules_h": "## Fielding rules",
        "rules": (
            "- Call the main sample (`wave` 1) first. Up to 5 attempts per case, on different "
            "days and times of day, in the customer's timezone.\n"
            "- Record `attempts` and, when the case is closed, one `disposition`: "
            "`completed`, `refused`, `no answer` (after the last attempt), `ineligible` (wrong "
            "person, cannot be interviewed), `not churned` (still buys from us regularly: ask "
            "the short module below and close).\n"
            "- Read the consent text and write `consent_recorded_at` before the first question.\n"
            "- Replacement rule: a case closed without an interview is replaced by the next "
            "reserve of the same stratum, strictly by `reserve_rank`. Run `churnkit "
            "sample-status` to see which reserves to release; never pick reserves by hand and "
            "never move them between strata.\n"
            "- Notes must not contain phone numbers, e-mails or names."
        ),
        "consent_h": "## Consent (read out)",
        "consent": (
            "> Hello, this is {{interviewer}} from the shop's customer research team. We are "
            "talking to customers who bought from us to understand what we should do better. "
            "It takes 15–20 minutes, it is not a sales call, and you can stop at any time. Your "
            "answers are analysed without your name. May we talk now?"
        ),
        "questions_h": "## Questions (everyone)",
        "questions": (
            "1. Tell me a little about your pet(s) and how you buy food and supplies for them now.\n"
            "2. When did you last order from us? Where do you buy these things now?\n"
            "3. What made you stop ordering from us, or order less? *(open — do not suggest "
            "reasons; let them tell the story)*\n"
            "4. Was there a particular moment or order after which you decided? What happened?\n"
            "5. Of everything you mentioned, what was the main reason?\n"
            "6. Was there anything we could easily have done differently?\n"
            "7. What would make you come back, if anything?\n"
            "8. Is there anything else you would like us to know?"
        ),
        "probes_h": "### Probes, only if the customer raises the topic or stalls",
        "not_churned_h": "## Short module for `not churned`",
        "not_churned": (
            "- Where and how often do you buy now? When was your last order from us?\n"
            "- Has anything changed in how you buy from us in the last months?\n"
            "Close politely and record `not churned`: these answers tell us where the model "
            "was wrong."
        ),
        "strata_h": "## Strata",
        "stratum": "### {stratum}",
        "size": (
            "{eligible} eligible customers, quota {quota}, weight {weight}; {reserves} reserves."
        ),
        "contrast": (
            "Contrast group: low-risk customers, interviewed to compare with the churners. Ask "
            "the same questions; expect many `not churned`."
        ),
        "ctx_recency": "Median days since the last order: {v}.",
        "ctx_orders": "Median orders: {v}.",
        "ctx_categories": "Most frequent categories: {v}.",
        "ctx_device": "Most frequent devices: {v}.",
        "ctx_bonus": "Cases with unspent bonus points at their last order: {v}.",
        "ctx_drivers": "What the model most often saw in this stratum: {v}.",
        "ctx_probes": "Probe first: {v}",
    },
    "ru": {
        "title": "# Гайд интервью: почему клиенты перестают покупать",
        "intro": (
            "{main} интервью в {strata} стратах (и {reserves} резервных случаев), выборка от "
            "{date}, seed {seed}. Случаи обозначены только `sample_id`; контакты — в отдельном "
            "файле контактов. Интервью занимает 15–20 минут; ничего не продаём. "
            "Все квоты выполнимы, если интервью заканчивается не меньше {min_yield} выпущенных "
            "случаев (основной плюс его резервы); фактическую долю показывает "
            "`churnkit sample-status`."
        ),
        "rules_h": "## Правила полевого этапа",
        "rules": (
            "- Сначала основная выборка (`wave` 1). До 5 попыток на случай, в разные дни и "
            "время суток, по часовому поясу клиента.\n"
            "- Записывайте `attempts` и, когда случай закрыт, один `disposition`: `completed` "
            "(интервью состоялось), `refused` (отказ), `no answer` (не дозвонились после "
            "последней попытки), `ineligible` (не тот человек, интервью невозможно), `not "
            "churned` (продолжает регулярно у нас покупать: задайте короткий блок ниже и "
            "завершите).\n"
            "- Прочитайте текст согласия и заполните `consent_recorded_at` до первого вопроса.\n"
            "- Правило замены: случай, закрытый без интервью, заменяется следующим резервом "
            "той же страты строго по `reserve_rank`. Какие резервы выпускать, показывает "
            "`churnkit sample-status`; не выбирайте резервы вручную и не переносите их между "
            "стратами.\n"
            "- В заметках не должно быть телефонов, e-mail и имён."
        ),
        "consent_h": "## Согласие (зачитать)",
        "consent": (
            "> Здравствуйте, меня зовут {{интервьюер}}, я из команды исследований магазина. Мы "
            "разговариваем с покупателями, чтобы понять, что нам стоит делать лучше. Это займёт "
            "15–20 минут, это не продажа, и вы можете прервать разговор в любой момент. Ответы "
            "анализируются без вашего имени. Удобно сейчас поговорить?"
        ),
        "questions_h": "## Вопросы (для всех)",
        "questions": (
            "1. Расскажите немного о вашем питомце и о том, как вы сейчас покупаете для него "
            "корм и товары.\n"
            "2. Когда вы в последний раз заказывали у нас? Где вы покупаете это сейчас?\n"
            "3. Почему вы перестали заказывать у нас или стали заказывать реже? *(открытый "
            "вопрос — не подсказывайте причины, дайте рассказать)*\n"
            "4. Был ли момент или заказ, после которого вы решили? Что произошло?\n"
            "5. Из всего, что вы назвали, что было главной причиной?\n"
            "6. Что мы могли бы легко сделать иначе?\n"
            "7. Что могло бы вас вернуть, если что-то может?\n"
            "8. Хотите ли вы ещё что-то нам сказать?"
        ),
        "probes_h": "### Уточнения — только если клиент сам затронул тему или затрудняется",
        "not_churned_h": "## Короткий блок для `not churned`",
        "not_churned": (
            "- Где и как часто вы покупаете сейчас? Когда был ваш последний заказ у нас?\n"
            "- Изменилось ли что-то в том, как вы покупаете у нас, за последние месяцы?\n"
            "Вежливо завершите и отметьте `not churned`: эти ответы показывают, где модель "
            "ошиблась."
        ),
        "strata_h": "## Страты",
        "stratum": "### {stratum}",
        "size": (
            "В генсовокупности {eligible} клиентов, квота {quota}, вес {weight}; "
            "резервов {reserves}."
        ),
        "contrast": (
            "Контрольная группа: клиенты с низким риском, для сравнения с уходящими. Задавайте "
            "те же вопросы; многие окажутся `not churned`."
        ),
        "ctx_recency": "Медиана дней с последнего заказа: {v}.",
        "ctx_orders": "Медиана числа заказов: {v}.",
        "ctx_categories": "Частые категории: {v}.",
        "ctx_device": "Частые устройства: {v}.",
        "ctx_bonus": "Случаев с неистраченными бонусами на момент последнего заказа: {v}.",
        "ctx_drivers": "Что модель чаще всего видела в этой страте: {v}.",
        "ctx_probes": "Уточнять в первую очередь: {v}",
    },
}


def interview_guide(draw: InterviewSample, lang: str = "en") -> str:
    """The interview guide of ``draw`` as Markdown (``lang`` "en" or "ru").

    Examples
    --------
    >>> print(interview_guide(draw, "ru")[:60])  # doctest: +SKIP
    # Гайд интервью: почему клиенты перестают покупать
    """
    t = _TEXT[lang]
    main = draw.main
    # theme -> (label, probe) in the guide's language
    themes = {k: (v.label(lang), v.probe(lang)) for k, v in THEMES.items()}
    unique_probes = [probe for _, probe in themes.values() if probe]
    parts = [
        t["title"],
        t["intro"].format(
            main=len(main),
            strata=int((draw.strata["quota"] > 0).sum()),
            reserves=len(draw.sample) - len(main),
            date=draw.params.get("as_of") or "-",
            seed=draw.seed,
            min_yield=_min_yield(draw.strata),
        ),
        t["rules_h"],
        t["rules"],
        t["consent_h"],
        t["consent"],
        t["questions_h"],
        t["questions"],
        t["probes_h"],
        "\n".join(f"- {p}" for p in unique_probes),
        t["not_churned_h"],
        t["not_churned"],
        t["strata_h"],
    ]
    for row in draw.strata[draw.strata["quota"] > 0].itertuples(index=False):
        cases = main[main["stratum"] == row.stratum]
        parts.append(t["stratum"].format(stratum=row.stratum))
        lines = [
            t["size"].format(
                eligible=row.eligible,
                quota=row.quota,
                weight=f"{row.weight:.2f}",
                reserves=row.reserves,
            )
        ]
        if row.group == "contrast":
            lines.append(t["contrast"])
        lines += _context_lines(cases, t, themes)
        parts.append("\n".join(f"- {line}" for line in lines))
    return "\n\n".join(parts) + "\n"


def _context_lines(
    cases: pd.DataFrame, t: dict[str, str], themes: dict[str, tuple[str, str]]
) -> list[str]:
    lines = []
    if "days_since_last_order" in cases and cases["days_since_last_order"].notna().any():
        lines.append(t["ctx_recency"].format(v=int(cases["days_since_last_order"].median())))
    if "orders" in cases and cases["orders"].notna().any():
        lines.append(t["ctx_orders"].format(v=f"{float(cases['orders'].median()):g}"))
    if "top_categories" in cases:
        lines.append(t["ctx_categories"].format(v=_top(cases["top_categories"].str.split("; "))))
    if "main_device" in cases:
        lines.append(t["ctx_device"].format(v=_top(cases["main_device"].map(lambda d: [d]))))
    if "bonus_balance" in cases and cases["bonus_balance"].notna().any():
        unspent = int((cases["bonus_balance"] > 0).sum())
        lines.append(t["ctx_bonus"].format(v=f"{unspent} / {len(cases)}"))
    drivers = [c for c in ("driver_1", "driver_2", "driver_3") if c in cases]
    # a case counts once per theme, however many of its drivers share it
    counts = Counter(
        theme
        for row in cases[drivers].itertuples(index=False)
        for theme in {driver_theme(d) for d in row} - {None, "other"}
    )
    if counts:
        common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        words = ", ".join(f"{themes[k][0]} ({n}/{len(cases)})" for k, n in common)
        lines.append(t["ctx_drivers"].format(v=words))
        probes = [themes[k][1] for k, _ in common if themes[k][1]]
        if probes:
            lines.append(t["ctx_probes"].format(v=" ".join(probes)))
    return lines


def _min_yield(strata: pd.DataFrame) -> str:
    """The lowest interview yield that still meets every quota: max over strata of n / (n + r)."""
    used = strata[strata["quota"] > 0]
    if used.empty:
        return "-"
    need = (used["quota"] / (used["quota"] + used["reserves"])).max()
    return f"{need:.0%}"


def _top(lists: pd.Series, k: int = 3) -> str:
    counts = Counter(v for values in lists.dropna() for v in values if v and v == v)
    if not counts:
        return "-"
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:k]
    return ", ".join(f"{v} ({n})" for v, n in ranked)
