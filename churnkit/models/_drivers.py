"""Churn drivers in plain words: the features that push a customer's score up, phrased.

The churn model names the themes with the largest positive SHAP contributions
(:func:`churnkit.models._gbm.top_contributions`), each by its strongest feature; each becomes a
short phrase with the customer's own values via
:func:`churnkit.features._descriptions.phrase_driver` (e.g. "no order for 94 days — usually
every 31", "bonuses expired 12 days ago"). Which features share a theme is decided by
:data:`churnkit.features._themes.THEMES`: one per group of :func:`churnkit.feature_descriptions`,
except that the groups of the ``rhythm`` theme (recency, rhythm, recent activity, the lifecycle
segment) are one: they all say the customer has gone quiet, which is the symptom, not the cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from churnkit.core._errors import ChurnkitError
from churnkit.features._themes import theme_groups

__all__ = ["DRIVER_GROUPS", "REASON_THEMES", "driver_themes", "phrase_drivers"]

# planted churn reason of the demo shop -> the theme that expresses it
REASON_THEMES: dict[str, str] = {
    "loyalty": "bonus",
    "technical": "app_site",
    "delivery": "delivery",
    "trust": "quality",
    "price": "price",
}
# planted churn reason -> feature groups that express it (to check drivers against the truth)
DRIVER_GROUPS: dict[str, tuple[str, ...]] = {r: theme_groups(t) for r, t in REASON_THEMES.items()}

# said when nothing raises a customer's score above their population's average: their risk is
# the population's (a first-time buyer with a lower-than-average score can still be high risk)
_USUAL: dict[str, dict[str, str]] = {
    "first_time": {
        "en": "a single purchase so far: most first-time buyers never order again",
        "ru": "пока одна покупка: большинство новичков больше не заказывают",
    },
    "repeat": {
        "en": "no reason stands out: the usual risk of a repeat buyer",
        "ru": "отдельной причины нет: обычный риск постоянного покупателя",
    },
}

# the groups that count as one theme for the model: they all say "gone quiet"
_QUIET = "rhythm"
_QUIET_GROUPS = frozenset(theme_groups(_QUIET))


def driver_themes(columns: Iterable[str]) -> dict[str, str]:
    """Theme of each feature column for the model: its description group, the groups of the
    ``rhythm`` theme merged.

    Columns build_features does not make are their own theme.

    Examples
    --------
    >>> driver_themes(["recency_days", "orders_90d", "bonus_balance", "my_score"])
    {'recency_days': 'rhythm', 'orders_90d': 'rhythm', 'bonus_balance': 'bonus', 'my_score': 'my_score'}
    """
    from churnkit.features._descriptions import feature_descriptions

    out = {}
    for column in columns:
        try:
            group = feature_descriptions([column])["group"].item()
        except ChurnkitError:
            group = column
        out[column] = _QUIET if group in _QUIET_GROUPS else group
    return out


def phrase_drivers(
    features: pd.DataFrame, names: pd.DataFrame, k: int = 3, lang: str = "en"
) -> pd.DataFrame:
    """Phrase the ``driver_i`` feature names of ``names`` with the rows of ``features``.

    Features that read the same in words are said once and the next driver moves up, so
    pass more candidates than ``k`` (e.g. the top 6 contributions). A row without any driver
    gets its population's usual risk in words when ``features`` has ``population``.

    Returns
    -------
    DataFrame
        Same index as ``names``: ``driver_1..k`` in words (missing where fewer features push
        the score up) and ``drivers``, the phrases joined by "; ".

    Examples
    --------
    >>> f = pd.DataFrame([{"recency_days": 94, "gap_mean": 31.2, "recency_gap_ratio": 3.0}])
    >>> names = pd.DataFrame([{"driver_1": "recency_gap_ratio", "driver_2": None}])
    >>> phrase_drivers(f, names)["drivers"].item()
    'no order for 94 days — usually every 31'
    """
    from churnkit.features._descriptions import check_lang, phrase_driver

    check_lang(lang)
    candidates = sorted(
        (c for c in names.columns if re.fullmatch(r"driver_\d+", c)), key=lambda c: int(c[7:])
    )
    records = features.loc[names.index].to_dict(orient="index")
    usual = features["population"].astype(str) if "population" in features else pd.Series()
    said: list[list[str]] = []
    for idx, row in zip(names.index, names[candidates].itertuples(index=False), strict=True):
        phrases: list[str] = []
        for name in row:
            if isinstance(name, str) and len(phrases) < k:
                text = phrase_driver(name, records[idx], lang=lang)
                if text not in phrases:
                    phrases.append(text)
        if not phrases and idx in usual.index and usual[idx] in _USUAL:
            phrases.append(_USUAL[usual[idx]][lang])
        said.append(phrases)
    out = pd.DataFrame(
        {f"driver_{i + 1}": [p[i] if i < len(p) else None for p in said] for i in range(k)},
        index=names.index,
    )
    out["drivers"] = ["; ".join(p) if p else None for p in said]
    return out
