"""Lifecycle segment rules: boxes over a customer's values that tile the whole space.

A rule names a segment and one or more *boxes*; a box bounds some of the segment variables
with half-open ranges ``[low, high)`` (``None`` is unbounded). Rules are validated as a
partition: every combination of values falls in exactly one segment, so a gap or an overlap
is an error that names the rules and the values where it happens.

The variables (computed per customer at a date by :func:`churnkit.assign_segments`):

``purchases``
    Purchase occasions (customer-days with a non-return line) on or before the date.
``recency_ratio``
    Days since the last purchase ÷ the customer's typical gap: their own mean gap between
    purchases for repeat buyers, the shop's median first-to-second gap for one-time buyers.
    0 for customers without a purchase.
``value_pct``
    Percentile (0-100) of the customer's net revenue over the last ``value_window_days``
    among customers with a purchase; 0 for customers without one.
``recency_days``
    Days since the last purchase (0 without a purchase).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import SegmentRulesError

if TYPE_CHECKING:
    import numpy as np

VARIABLES: tuple[str, ...] = ("purchases", "recency_ratio", "value_pct", "recency_days")
SEGMENT_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "new": "New (no purchase yet)",
        "first_time": "First-time buyers",
        "promising": "Promising",
        "loyal": "Loyal",
        "vip": "VIP",
        "drifting": "Drifting",
        "at_risk": "At risk",
        "vip_at_risk": "VIP at risk",
        "sleeping": "Sleeping",
        "lost": "Lost",
    },
    "ru": {
        "new": "Новые (без покупки)",
        "first_time": "Купившие один раз",
        "promising": "Перспективные",
        "loyal": "Лояльные",
        "vip": "VIP",
        "drifting": "Дрейфующие",
        "at_risk": "Под угрозой ухода",
        "vip_at_risk": "VIP под угрозой",
        "sleeping": "Спящие",
        "lost": "В зоне потери",
    },
}
_SETTINGS = {"first_gap_days": "auto", "min_gap_days": 7, "value_window_days": 365}
FIRST_GAP_FALLBACK_DAYS = 90.0
# while fewer customers than this have a second purchase, the "auto" first gap is the fallback
FIRST_GAP_MIN_CUSTOMERS = 30


def segment_label(segment: str, lang: str = "en") -> str:
    """The segment's name for people, in English (``"en"``) or Russian (``"ru"``)."""
    return SEGMENT_LABELS.get(lang, SEGMENT_LABELS["en"]).get(segment, segment)


Range = tuple[float, float]


@dataclass(frozen=True)
class SegmentRule:
    """One segment and the boxes (any of them) of values that put a customer in it."""

    name: str
    boxes: tuple[dict[str, Range], ...]
    description: str = ""


@dataclass(frozen=True)
class SegmentRules:
    """Validated lifecycle segment rules; every customer falls in exactly one segment.

    Build them with :func:`default_segment_rules`, :meth:`from_dict` or :meth:`from_yaml`.

    Parameters
    ----------
    rules : tuple of SegmentRule
        In reporting order.
    first_gap_days : float or "auto"
        Typical gap of one-time buyers; ``"auto"`` is the median first-to-second gap of the
        customers who made a second purchase by the date (90 days while fewer than 30 did).
    min_gap_days : float
        Floor under a customer's typical gap, so two orders a day apart do not make a week's
        silence look like a lapse.
    value_window_days : int
        Window of the revenue behind ``value_pct``.

    Examples
    --------
    >>> rules = SegmentRules.from_dict({"segments": [
    ...     {"name": "buyer", "when": {"purchases": [1, None]}},
    ...     {"name": "new", "when": {"purchases": [0, 1]}},
    ... ]})
    >>> rules.names
    ('buyer', 'new')
    """

    rules: tuple[SegmentRule, ...]
    first_gap_days: float | str = "auto"
    min_gap_days: float = 7.0
    value_window_days: int = 365

    def __post_init__(self) -> None:
        _check_settings(self)
        # not a field: derived from the rules, so equality and repr ignore it
        object.__setattr__(self, "_grid", _partition_grid(self.rules))

    @property
    def names(self) -> tuple[str, ...]:
        """Segment names in reporting order."""
        return tuple(r.name for r in self.rules)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], source: str = "segment rules") -> SegmentRules:
        """Rules from ``{"segments": [{"name", "when", "description"}], <settings>}``.

        ``when`` is a box (a mapping of variable → ``[low, high)``; ``None`` is unbounded) or a
        list of boxes. Settings: ``first_gap_days``, ``min_gap_days``, ``value_window_days``.
        """
        if not isinstance(spec, Mapping) or "segments" not in spec:
            raise SegmentRulesError(
                f"{source}: expected a mapping with a 'segments' list, got {type(spec).__name__}"
            )
        unknown = set(spec) - {"segments", *_SETTINGS}
        if unknown:
            raise SegmentRulesError(
                f"{source}: unknown key(s) {sorted(unknown)}; allowed are 'segments' and "
                f"{sorted(_SETTINGS)}"
            )
        items = spec["segments"]
        if not isinstance(items, list) or not items:
            raise SegmentRulesError(f"{source}: 'segments' must be a non-empty list of rules")
        rules = tuple(_parse_rule(item, i, source) for i, item in enumerate(items))
        settings = {k: spec.get(k, v) for k, v in _SETTINGS.items()}
        return cls(rules, **settings)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> SegmentRules:
        """Rules from a YAML file laid out as in :meth:`from_dict`."""
        import yaml

        path = Path(path)
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise SegmentRulesError(f"{path}: cannot read the segment rules ({e})") from e
        except yaml.YAMLError as e:
            raise SegmentRulesError(f"{path}: not valid YAML ({e})") from e
        return cls.from_dict(spec, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The rules as plain data (round-trips through :meth:`from_dict`)."""
        return {
            "first_gap_days": self.first_gap_days,
            "min_gap_days": self.min_gap_days,
            "value_window_days": self.value_window_days,
            "segments": [
                {
                    "name": r.name,
                    "description": r.description,
                    "when": [
                        {v: [_plain(lo), _plain(hi)] for v, (lo, hi) in box.items()}
                        for box in r.boxes
                    ],
                }
                for r in self.rules
            ],
        }

    def to_yaml(self) -> str:
        """The rules as YAML text."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def cut_points(self, variable: str) -> np.ndarray:
        """The rules' inner cut points of ``variable``, ascending (empty when unused)."""
        import numpy as np

        variables, inner_cuts, _ = self._grid  # type: ignore[attr-defined]
        if variable not in variables:
            return np.array([])
        return inner_cuts[variables.index(variable)]

    def classify(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Position in :attr:`names` of each row's segment.

        ``values`` maps each variable the rules use to an array (all of the same length).
        Each value is binned by the rules' cut points and the bins index a table of segments,
        one per grid cell, built when the rules were checked.
        """
        import numpy as np

        variables, inner_cuts, table = self._grid  # type: ignore[attr-defined]
        cell = np.zeros(len(next(iter(values.values()))), dtype=np.int64)
        for var, cuts in zip(variables, inner_cuts, strict=True):
            cell = cell * (len(cuts) + 1) + np.searchsorted(cuts, values[var], side="right")
        return table[cell]


def default_segment_rules() -> SegmentRules:
    """churnkit's default lifecycle segments.

    By purchases and recency relative to the customer's own rhythm (``recency_ratio``):
    active below 2 typical gaps, at risk (repeat) or drifting (one-time) from 2 to 4,
    sleeping from 4 to 8, lost from 8. Active repeat buyers are promising (2-3 purchases),
    loyal (4+) or VIP (4+ and in the top 10% by 12-month revenue); at-risk repeat buyers in
    that top 10% are ``vip_at_risk``.

    Examples
    --------
    >>> default_segment_rules().names[:3]
    ('new', 'first_time', 'promising')
    """
    inf = None
    return SegmentRules.from_dict(
        {
            "segments": [
                _rule("new", "registered, no purchase yet", purchases=[0, 1]),
                _rule(
                    "first_time",
                    "one purchase, within 2 typical gaps",
                    purchases=[1, 2],
                    recency_ratio=[0, 2],
                ),
                _rule("promising", "2-3 purchases, active", purchases=[2, 4], recency_ratio=[0, 2]),
                _rule(
                    "loyal",
                    "4+ purchases, active, below the top 10% by value",
                    purchases=[4, inf],
                    recency_ratio=[0, 2],
                    value_pct=[0, 90],
                ),
                _rule(
                    "vip",
                    "4+ purchases, active, top 10% by value",
                    purchases=[4, inf],
                    recency_ratio=[0, 2],
                    value_pct=[90, inf],
                ),
                _rule(
                    "drifting",
                    "one purchase, 2-4 typical gaps ago",
                    purchases=[1, 2],
                    recency_ratio=[2, 4],
                ),
                _rule(
                    "at_risk",
                    "repeat buyer silent for 2-4 typical gaps",
                    purchases=[2, inf],
                    recency_ratio=[2, 4],
                    value_pct=[0, 90],
                ),
                _rule(
                    "vip_at_risk",
                    "top-10% repeat buyer silent for 2-4 typical gaps",
                    purchases=[2, inf],
                    recency_ratio=[2, 4],
                    value_pct=[90, inf],
                ),
                _rule(
                    "sleeping",
                    "silent for 4-8 typical gaps",
                    purchases=[1, inf],
                    recency_ratio=[4, 8],
                ),
                _rule(
                    "lost", "silent for 8+ typical gaps", purchases=[1, inf], recency_ratio=[8, inf]
                ),
            ]
        },
        source="default segment rules",
    )


def _rule(name: str, description: str, **when: list[float | None]) -> dict[str, Any]:
    return {"name": name, "description": description, "when": when}


def _plain(x: float) -> float | int | None:
    if math.isinf(x):
        return None
    return int(x) if float(x).is_integer() else x


def _parse_rule(item: Any, i: int, source: str) -> SegmentRule:
    where = f"{source}: rule #{i + 1}"
    if not isinstance(item, Mapping) or "name" not in item or "when" not in item:
        raise SegmentRulesError(f"{where} needs 'name' and 'when', got {item!r}")
    name = str(item["name"])
    where = f"{source}: rule {name!r}"
    if not name.isidentifier():
        raise SegmentRulesError(
            f"{where}: a segment name must be a plain identifier like 'at_risk'"
        )
    unknown = set(item) - {"name", "when", "description"}
    if unknown:
        raise SegmentRulesError(f"{where}: unknown key(s) {sorted(unknown)}")
    when = item["when"]
    boxes = when if isinstance(when, list) else [when]
    if not boxes:
        raise SegmentRulesError(f"{where}: 'when' is an empty list; give at least one box")
    return SegmentRule(
        name=name,
        boxes=tuple(_parse_box(box, where) for box in boxes),
        description=str(item.get("description", "")),
    )


def _parse_box(box: Any, where: str) -> dict[str, Range]:
    if not isinstance(box, Mapping):
        raise SegmentRulesError(f"{where}: each box in 'when' must be a mapping, got {box!r}")
    parsed: dict[str, Range] = {}
    for var, bounds in box.items():
        if var not in VARIABLES:
            raise SegmentRulesError(
                f"{where}: unknown variable {var!r}; use one of {list(VARIABLES)}"
            )
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise SegmentRulesError(
                f"{where}: {var} must be [low, high) with null for unbounded, got {bounds!r}"
            )
        try:
            low = -math.inf if bounds[0] is None else float(bounds[0])
            high = math.inf if bounds[1] is None else float(bounds[1])
        except (TypeError, ValueError) as e:
            raise SegmentRulesError(f"{where}: {var} bounds {bounds!r} are not numbers") from e
        if math.isnan(low) or math.isnan(high) or not low < high:
            raise SegmentRulesError(f"{where}: {var} range [{bounds[0]}, {bounds[1]}) is empty")
        parsed[var] = (low, high)
    return parsed


def _check_settings(rules: SegmentRules) -> None:
    gap = rules.first_gap_days
    if not (gap == "auto" or (isinstance(gap, int | float) and gap > 0)):
        raise SegmentRulesError(f"first_gap_days must be 'auto' or a positive number, got {gap!r}")
    if not (isinstance(rules.min_gap_days, int | float) and rules.min_gap_days > 0):
        raise SegmentRulesError(f"min_gap_days must be positive, got {rules.min_gap_days!r}")
    window = rules.value_window_days
    if not (isinstance(window, int) and not isinstance(window, bool) and window > 0):
        raise SegmentRulesError(f"value_window_days must be a positive integer, got {window!r}")
    names = [r.name for r in rules.rules]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SegmentRulesError(f"segment name(s) {dup} appear in more than one rule; merge them")


def _partition_grid(rules: tuple[SegmentRule, ...]) -> tuple[tuple[str, ...], list, Any]:
    """Check that every cell of the grid spanned by the rules' bounds lies in exactly one rule.

    Returns the grid: the variables used, each one's inner cut points, and the segment
    position of every cell (row-major over the variables).
    """
    import numpy as np

    used = tuple(v for v in VARIABLES if any(v in box for r in rules for box in r.boxes))
    cuts = {}
    for var in used:
        points = {0.0, math.inf}
        for r in rules:
            for box in r.boxes:
                if var in box:
                    points.update(p for p in box[var] if p > 0)
        cuts[var] = sorted(points)
    table = []
    for cell in itertools.product(*(itertools.pairwise(cuts[v]) for v in used)):
        where = dict(zip(used, cell, strict=True))
        owners = [i for i, r in enumerate(rules) if any(_covers(box, where) for box in r.boxes)]
        if len(owners) == 1:
            table.append(owners[0])
            continue
        region = ", ".join(f"{v} in [{_plain(lo)}, {_plain(hi)})" for v, (lo, hi) in where.items())
        if not owners:
            raise SegmentRulesError(
                f"segment rules leave a gap: no rule covers {region}; widen a rule or add one "
                "so every customer gets a segment"
            )
        names = " and ".join(repr(rules[i].name) for i in owners)
        raise SegmentRulesError(
            f"segment rules overlap: {names} both cover {region}; narrow one of them so each "
            "customer gets exactly one segment"
        )
    inner = [np.asarray(cuts[v][1:-1], dtype=float) for v in used]
    return used, inner, np.asarray(table, dtype=np.int8)


def _covers(box: dict[str, Range], cell: dict[str, Range]) -> bool:
    return all(box[v][0] <= lo and hi <= box[v][1] for v, (lo, hi) in cell.items() if v in box)
