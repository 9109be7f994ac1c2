"""Driver themes, defined once: the families a churn driver belongs to.

A theme covers groups of :func:`churnkit.feature_descriptions` (``app_site``: the device and
channel features), is recognised in a driver phrase or a feature name by a pattern, and has a
label and an interview probe in English and Russian.

Who reads them:

- the churn model (:func:`churnkit.models._drivers.driver_themes`) names one driver per
  feature group, except that the groups of the ``rhythm`` theme count as one: recency, rhythm,
  recent activity and the lifecycle segment all say the customer has gone quiet, which is the
  symptom, not the cause;
- the interview sample's analysis file (``driver_themes``) and guide (probes per stratum)
  speak in themes, found from the phrased drivers by :func:`driver_theme`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["THEMES", "Theme", "driver_theme", "theme_groups"]


@dataclass(frozen=True)
class Theme:
    """One driver theme: its feature groups, its pattern, its labels and interview probes."""

    groups: tuple[str, ...]
    pattern: str
    label_en: str
    label_ru: str
    probe_en: str = ""
    probe_ru: str = ""

    def label(self, lang: str) -> str:
        """The theme's name for people, in ``lang`` ("en" or "ru")."""
        return self.label_ru if lang == "ru" else self.label_en

    def probe(self, lang: str) -> str:
        """The interview probe of the theme in ``lang``, "" for none."""
        return self.probe_ru if lang == "ru" else self.probe_en


# the first theme whose pattern matches a phrase wins, so the order matters
THEMES: dict[str, Theme] = {
    "bonus": Theme(
        ("bonus",),
        r"bonus",
        "bonus points",
        "бонусы",
        "Bonus points: did you use them? Did any expire before you could spend them? How did that feel?",
        "Бонусы: пользовались ли вы ими? Сгорали ли баллы раньше, чем вы успевали их потратить? Как вы к этому отнеслись?",
    ),
    "delivery": Theme(
        ("delivery",),
        r"deliver",
        "delivery",
        "доставка",
        "Delivery: how long did it take, was it on time, how does it compare with where you buy now?",
        "Доставка: сколько она занимала, приходила ли вовремя, как она по сравнению с тем, где вы покупаете сейчас?",
    ),
    "quality": Theme(
        ("quality",),
        r"quality|damag|near.expiry",
        "quality of goods",
        "качество товаров",
        "Goods: anything damaged, close to its expiry date, or stored in a way that worried you?",
        "Товары: было ли что-то повреждено, с истекающим сроком годности, или смущало, как хранят корм?",
    ),
    "returns": Theme(
        ("returns",),
        r"return",
        "returns",
        "возвраты",
        "Returns: what did you return and why? How was the return handled?",
        "Возвраты: что вы возвращали и почему? Как прошёл возврат?",
    ),
    "price": Theme(
        ("discount",),
        r"discount|promo|price|cheap",
        "discounts and prices",
        "скидки и цены",
        "Prices: did you compare prices? Where did you find it cheaper, and by how much?",
        "Цены: сравнивали ли вы цены? Где нашли дешевле и насколько?",
    ),
    "app_site": Theme(
        ("device", "channel"),
        r"device|channel|android|\bios|\bapp\b|site|web",
        "app or site",
        "приложение или сайт",
        "App or site: did anything fail — the cart, filters, payment, an update? On which device?",
        "Приложение или сайт: что-то не работало — корзина, фильтры, оплата, обновление? На каком устройстве?",
    ),
    # spend features belong to the rfm group (the rhythm theme for the model); their phrases
    # ("spent 4,200 in 90 days") are told apart here
    "spend": Theme((), r"spen[dt]|monetary|revenue|average order|last order \d", "spend", "траты"),
    "rhythm": Theme(
        ("rfm", "rhythm", "recent", "segment"),
        r"recency|no order|gap|order day|orders|frequency|tenure|customer for",
        "buying rhythm (long pause, fewer orders)",
        "ритм покупок (долгая пауза, меньше заказов)",
    ),
}
_PATTERNS = {name: re.compile(theme.pattern) for name, theme in THEMES.items()}


def theme_groups(name: str) -> tuple[str, ...]:
    """The feature groups of theme ``name``.

    Examples
    --------
    >>> theme_groups("app_site")
    ('device', 'channel')
    """
    return THEMES[name].groups


def driver_theme(driver: Any) -> str | None:
    """The theme of one driver (a phrase from ``ChurnModel.score`` or a feature name).

    None for a missing driver, "other" when no theme's pattern matches.

    Examples
    --------
    >>> driver_theme("bonuses expired 12 days ago"), driver_theme("last order via android app")
    ('bonus', 'app_site')
    >>> driver_theme("no order for 94 days — usually every 31")
    'rhythm'
    """
    if not isinstance(driver, str) or not driver.strip():
        return None
    text = driver.lower()
    for theme, pattern in _PATTERNS.items():
        if pattern.search(text):
            return theme
    return "other"
