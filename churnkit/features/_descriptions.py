"""What each column of :func:`churnkit.build_features` means, in English and Russian.

Each entry also carries a phrase template for explaining a score ("no order for 94 days —
usually every 31"). Templates are :meth:`str.format` strings over one feature-table row:
``{value}`` is the feature itself, ``{level}`` the value in a per-value column name
(``device_share_android_app`` -> ``android_app``), and any other ``{name}`` is that column of
the same row. Russian texts use abbreviations ("дн.") so that no plural forms are needed.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import ChurnkitError

if TYPE_CHECKING:
    import pandas as pd

LANGUAGES: tuple[str, ...] = ("en", "ru")


@dataclass(frozen=True)
class _Entry:
    name: str  # a column name, or a pattern with ``{level}`` / ``{w}``
    group: str
    en: str
    ru: str
    template_en: str
    template_ru: str


def _e(name: str, group: str, en: str, ru: str, template_en: str, template_ru: str) -> _Entry:
    return _Entry(name, group, en, ru, template_en, template_ru)


# fmt: off
_ENTRIES: tuple[_Entry, ...] = (
    _e("customer_id", "key", "customer identifier", "идентификатор клиента",
       "customer {value}", "клиент {value}"),
    _e("cutoff", "key", "the day the features describe (data up to its end)",
       "дата среза (данные по конец этого дня)", "as of {value:%Y-%m-%d}", "на {value:%Y-%m-%d}"),
    _e("population", "key", "first_time: exactly one purchase day by the cutoff; repeat: more",
       "first_time: ровно один день покупки к дате среза; repeat: больше",
       "{value} buyer", "покупатель: {value}"),
    _e("segment", "segment", "lifecycle segment at the cutoff", "сегмент жизненного цикла на дату среза",
       "segment: {value}", "сегмент: {value}"),
    _e("churned", "label", "1 = no purchase day in (cutoff, cutoff + horizon]; 0 = one or more; "
       "missing when the window runs past the data",
       "1 = нет покупок в (срез, срез + горизонт]; 0 = есть; пусто, если окно выходит за данные",
       "churned: {value:.0f}", "отток: {value:.0f}"),
    _e("recency_days", "rfm", "days since the last purchase day", "дней с последней покупки",
       "no order for {value:.0f} days", "нет заказов {value:.0f} дн."),
    _e("frequency", "rfm", "purchase days so far (one customer's orders on one day count once)",
       "число дней с покупками (заказы одного дня считаются один раз)",
       "{value:.0f} purchase days so far", "покупок (дней) всего: {value:.0f}"),
    _e("monetary_total", "rfm", "revenue of all purchases so far (returns not subtracted)",
       "выручка всех покупок (без вычета возвратов)",
       "spent {value:,.0f} in total", "потратил всего {value:,.0f}"),
    _e("monetary_mean", "rfm", "mean revenue per purchase day", "средняя выручка за день покупки",
       "spends {value:,.0f} per purchase on average", "в среднем {value:,.0f} за покупку"),
    _e("monetary_last", "rfm", "revenue of the last purchase day", "выручка последней покупки",
       "last purchase {value:,.0f}", "последняя покупка на {value:,.0f}"),
    _e("tenure_days", "rfm", "days since the first purchase day", "дней с первой покупки",
       "customer for {value:.0f} days", "клиент {value:.0f} дн."),
    _e("gap_mean", "rhythm", "mean days between purchase days", "среднее число дней между покупками",
       "usually buys every {value:.0f} days", "обычно покупает раз в {value:.0f} дн."),
    _e("gap_std", "rhythm", "standard deviation of the days between purchase days",
       "стандартное отклонение интервалов между покупками",
       "irregular rhythm (± {value:.0f} days)", "нерегулярный ритм (± {value:.0f} дн.)"),
    _e("gap_last", "rhythm", "days between the last two purchase days",
       "дней между двумя последними покупками",
       "last gap between orders {value:.0f} days", "последний интервал между заказами {value:.0f} дн."),
    _e("recency_gap_ratio", "rhythm", "days since the last purchase ÷ the mean gap between purchases",
       "дней с последней покупки ÷ средний интервал между покупками",
       "no order for {recency_days:.0f} days — usually every {gap_mean:.0f}",
       "нет заказов {recency_days:.0f} дн. — обычно раз в {gap_mean:.0f}"),
    _e("orders_{w}d", "recent", "purchase days in the last {w} days", "дней с покупками за последние {w} дн.",
       "{value:.0f} purchase days in the last {w} days", "покупок за последние {w} дн.: {value:.0f}"),
    _e("revenue_{w}d", "recent", "revenue in the last {w} days", "выручка за последние {w} дн.",
       "spent {value:,.0f} in the last {w} days", "потратил {value:,.0f} за последние {w} дн."),
    _e("orders_trend_90d", "recent", "purchase days in the last 90 days minus the 90 days before",
       "покупок за последние 90 дн. минус за 90 дн. до них",
       "{value:+.0f} purchase days against the previous 90 days",
       "{value:+.0f} покупок к предыдущим 90 дн."),
    _e("revenue_trend_90d", "recent", "revenue in the last 90 days minus the 90 days before",
       "выручка за последние 90 дн. минус за 90 дн. до них",
       "spending {value:+,.0f} against the previous 90 days", "траты {value:+,.0f} к предыдущим 90 дн."),
    _e("return_lines", "returns", "returned order lines so far", "возвращённых позиций",
       "{value:.0f} returned items", "возвратов: {value:.0f}"),
    _e("return_share", "returns", "returned revenue ÷ purchased revenue", "сумма возвратов ÷ сумма покупок",
       "returned {value:.0%} of purchases", "вернул {value:.0%} покупок"),
    _e("discount_mean", "discount", "mean discount of bought lines", "средняя скидка купленных позиций",
       "average discount {value:.0%}", "средняя скидка {value:.0%}"),
    _e("discount_share", "discount", "share of bought lines with a discount",
       "доля позиций, купленных со скидкой",
       "{value:.0%} of purchases on discount", "{value:.0%} покупок со скидкой"),
    _e("category_breadth", "assortment", "distinct categories bought", "число купленных категорий",
       "bought from {value:.0f} categories", "покупал в {value:.0f} категориях"),
    _e("channel_share_{level}", "channel", "share of bought lines with channel {level}",
       "доля позиций, купленных через канал {level}",
       "{value:.0%} of purchases via {level}", "{value:.0%} покупок через {level}"),
    _e("last_channel", "channel", "channel of the latest bought line", "канал последней покупки",
       "last ordered via {value}", "последний заказ через {value}"),
    _e("device_share_{level}", "device", "share of bought lines with device {level}",
       "доля позиций, купленных с устройства {level}",
       "{value:.0%} of purchases on {level}", "{value:.0%} покупок с {level}"),
    _e("last_device", "device", "device of the latest bought line", "устройство последней покупки",
       "last ordered on {value}", "последний заказ с {value}"),
    _e("last_app_version", "device", "app version of the latest bought line", "версия приложения последней покупки",
       "last ordered with app version {value}", "последний заказ с версии приложения {value}"),
    _e("delivery_days_mean", "delivery", "mean delivery time in days", "среднее время доставки, дн.",
       "deliveries take {value:.1f} days on average", "доставка в среднем {value:.1f} дн."),
    _e("delivery_days_max", "delivery", "longest delivery in days", "самая долгая доставка, дн.",
       "a delivery took {value:.0f} days", "одна доставка заняла {value:.0f} дн."),
    _e("delivery_days_last", "delivery", "delivery time of the latest purchase in days",
       "время доставки последней покупки, дн.",
       "last delivery took {value:.0f} days", "последняя доставка заняла {value:.0f} дн."),
    _e("delivery_slow_share", "delivery", "share of bought lines delivered slowly",
       "доля позиций с медленной доставкой",
       "{value:.0%} of deliveries were slow", "{value:.0%} доставок были медленными"),
    _e("quality_issue_share", "quality", "share of bought lines with a quality issue",
       "доля позиций с проблемой качества",
       "{value:.0%} of items had a quality issue", "{value:.0%} товаров с проблемой качества"),
    _e("bonus_earned_total", "bonus", "bonus points earned so far", "начислено бонусов",
       "earned {value:,.0f} bonus points", "начислено {value:,.0f} бонусов"),
    _e("bonus_spent_total", "bonus", "bonus points spent so far", "потрачено бонусов",
       "spent {value:,.0f} bonus points", "потратил {value:,.0f} бонусов"),
    _e("bonus_expired_total", "bonus", "bonus points expired so far", "сгорело бонусов",
       "{value:,.0f} bonus points expired", "сгорело {value:,.0f} бонусов"),
    _e("bonus_balance", "bonus", "bonus points earned − spent − expired", "бонусный баланс",
       "bonus balance {value:,.0f}", "бонусный баланс {value:,.0f}"),
    _e("bonus_expired_last_60d", "bonus", "bonus points expired in the last 60 days",
       "сгорело бонусов за последние 60 дн.",
       "{value:,.0f} bonus points expired in the last 60 days",
       "сгорело {value:,.0f} бонусов за последние 60 дн."),
    _e("days_since_bonus_expiry", "bonus", "days since bonus points last expired",
       "дней с последнего сгорания бонусов",
       "bonuses expired {value:.0f} days ago", "бонусы сгорели {value:.0f} дн. назад"),
    _e("bonus_expiring_next_30d", "bonus",
       "bonus points that expire in the next 30 days unless spent",
       "бонусов сгорит в ближайшие 30 дн., если их не потратить",
       "{value:,.0f} bonus points about to expire", "скоро сгорит {value:,.0f} бонусов"),
)
# fmt: on

_WINDOWS = ("30", "90", "180", "365")


def _expand() -> list[tuple[_Entry, dict[str, str]]]:
    """Entries with the window placeholder ``{w}`` written out, each with its fixed fields."""
    out = []
    for entry in _ENTRIES:
        if "{w}" in entry.name:
            out += [(entry, {"w": w}) for w in _WINDOWS]
        else:
            out.append((entry, {}))
    return out


def _pattern(name: str, fixed: Mapping[str, str]) -> re.Pattern[str]:
    text = re.escape(name.format_map({**fixed, "level": "\0"})).replace("\\\0", "\0")
    return re.compile(text.replace("\0", "(?P<level>.+)") + r"\Z")


@functools.cache
def _patterns() -> tuple[tuple[_Entry, dict[str, str], re.Pattern[str]], ...]:
    # built once: scoring phrases drivers for thousands of customers
    return tuple((entry, fixed, _pattern(entry.name, fixed)) for entry, fixed in _expand())


def _lookup(column: str) -> tuple[_Entry, dict[str, str]]:
    for entry, fixed, pattern in _patterns():
        match = pattern.match(column)
        if match:
            return entry, {**fixed, **match.groupdict()}
    raise ChurnkitError(
        f"no description for column {column!r}: it is not a column build_features makes. "
        "Pass only columns of a build_features(...) table."
    )


def feature_descriptions(columns: Iterable[str] | None = None) -> pd.DataFrame:
    """What the columns of :func:`churnkit.build_features` mean, in English and Russian.

    Parameters
    ----------
    columns : iterable of str, optional
        Columns of a feature table, e.g. ``features.columns``: one row each, with per-value
        names (``device_share_android_app``) written out. By default every kind of column,
        per-value ones as patterns (``device_share_{level}``).

    Returns
    -------
    DataFrame
        Indexed by ``feature``; columns ``group``, ``description_en``, ``description_ru``,
        ``template_en``, ``template_ru`` (see :func:`phrase_driver`).

    Raises
    ------
    ChurnkitError
        When a column is not one build_features makes.

    Examples
    --------
    >>> d = feature_descriptions(["recency_days", "device_share_android_app"])
    >>> d.loc["device_share_android_app", "description_en"]
    'share of bought lines with device android_app'
    """
    import pandas as pd

    if columns is None:
        pairs = [
            (_fill(entry.name, fixed), entry, {**fixed, "level": "{level}"})
            for entry, fixed in _expand()
        ]
    else:
        pairs = [(column, *_lookup(column)) for column in columns]
    rows = [
        {
            "feature": name,
            "group": entry.group,
            "description_en": entry.en.format_map(fields),
            "description_ru": entry.ru.format_map(fields),
            "template_en": _fill(entry.template_en, fields),
            "template_ru": _fill(entry.template_ru, fields),
        }
        for name, entry, fields in pairs
    ]
    return pd.DataFrame(rows).set_index("feature")


def _fill(template: str, fields: Mapping[str, str]) -> str:
    """Write the name-derived fields (``{w}``, ``{level}``) into a template, keep the rest."""
    out = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is None:
            continue
        if field in fields:
            out.append(fields[field])
        else:
            out.append(
                "{"
                + field
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
    return "".join(out)


def check_lang(lang: str) -> None:
    """Raise a :class:`ChurnkitError` unless ``lang`` is a language features are described in."""
    if lang not in LANGUAGES:
        raise ChurnkitError(f"lang must be one of {list(LANGUAGES)}, got {lang!r}.")


def phrase_driver(feature: str, row: Mapping[str, Any], lang: str = "en") -> str:
    """One feature of one customer in words, e.g. "no order for 94 days — usually every 31".

    Parameters
    ----------
    feature : str
        A column of a build_features table.
    row : mapping
        That customer's row (a ``Series`` or dict) holding ``feature`` and the columns its
        template refers to.
    lang : {"en", "ru"}
        Language of the phrase.

    Returns
    -------
    str
        The filled template; the plain description when a value it needs is missing.

    Examples
    --------
    >>> phrase_driver("recency_gap_ratio", {"recency_gap_ratio": 3.0, "recency_days": 94,
    ...                                     "gap_mean": 31.2})
    'no order for 94 days — usually every 31'
    """
    check_lang(lang)
    entry, fields = _lookup(feature)
    template = _fill(getattr(entry, f"template_{lang}"), fields)
    values = {"value": row[feature]}
    for _, field, _, _ in string.Formatter().parse(template):
        if field and field != "value":
            values[field] = row.get(field)
    if any(_missing(v) for v in values.values()):
        return getattr(entry, lang).format_map(fields)
    return template.format_map(values)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(value))
    except TypeError:
        import pandas as pd

        return value is pd.NaT or value is pd.NA
