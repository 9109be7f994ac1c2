"""Churn drivers in plain words: the features that push a customer's score up, phrased.

The churn model names the features with the largest positive SHAP contributions
(:func:`churnkit._gbm.top_contributions`); each becomes a short phrase with the customer's
own values via :func:`churnkit._feature_text.phrase_driver` (e.g. "no order for 94 days —
usually every 31", "bonuses expired 12 days ago").
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["DRIVER_GROUPS", "phrase_drivers"]

# planted churn reason -> prefixes of the features that express it (to check drivers
# against the demo shop's truth)
DRIVER_GROUPS: dict[str, tuple[str, ...]] = {
    "loyalty": ("bonus_", "days_since_bonus_expiry"),
    "technical": ("device_share_", "last_device", "channel_share_", "last_channel"),
    "delivery": ("delivery_",),
    "trust": ("quality_issue",),
    "price": ("discount_",),
}


def phrase_drivers(
    features: pd.DataFrame, names: pd.DataFrame, k: int = 3, lang: str = "en"
) -> pd.DataFrame:
    """Phrase the ``driver_i`` feature names of ``names`` with the rows of ``features``.

    Features that read the same in words are said once and the next driver moves up, so
    pass more candidates than ``k`` (e.g. the top 6 contributions).

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
    from churnkit._feature_text import phrase_driver

    candidates = sorted(
        (c for c in names.columns if re.fullmatch(r"driver_\d+", c)), key=lambda c: int(c[7:])
    )
    records = features.loc[names.index].to_dict(orient="index")
    said: list[list[str]] = []
    for idx, row in zip(names.index, names[candidates].itertuples(index=False), strict=True):
        phrases: list[str] = []
        for name in row:
            if isinstance(name, str) and len(phrases) < k:
                text = phrase_driver(name, records[idx], lang=lang)
                if text not in phrases:
                    phrases.append(text)
        said.append(phrases)
    out = pd.DataFrame(
        {f"driver_{i + 1}": [p[i] if i < len(p) else None for p in said] for i in range(k)},
        index=names.index,
    )
    out["drivers"] = ["; ".join(p) if p else None for p in said]
    return out
