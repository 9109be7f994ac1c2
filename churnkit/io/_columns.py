"""Naming the columns of an export: mapping yours to churnkit's, labels, examples, coercions.

Shared by the orders and customers loaders: ``columns=`` maps canonical names to the source's
columns (nothing is mapped by guesswork; close names are only suggested), every message names a
column as ``'quantity' ('Количество')``, and values that had to be rewritten are recorded with
examples.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ConfigError, DataValidationError, MissingColumnError
from churnkit.core._tables import Source
from churnkit.io._parse import as_text, numeric_or_none
from churnkit.io._validation import N_EXAMPLES

REWRITTEN_IDS = "were whole-number floats (123.0) and were rewritten as text ids (123)"

# names seen in real exports, used only to suggest a mapping, never to map silently
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": ("Клиент", "Код клиента", "Покупатель", "ID клиента", "client_id", "user_id"),
    "order_date": ("Дата заказа", "Дата", "Дата документа", "date", "order date", "created_at"),
    "revenue": ("Сумма", "Выручка", "Сумма заказа", "Сумма продажи", "amount", "sales", "total"),
    "order_id": ("Номер заказа", "Номер", "Номер документа", "order number"),
    "quantity": ("Количество", "Кол-во", "qty"),
    "category": ("Категория", "Группа товаров"),
    "channel": ("Канал", "Канал продаж"),
    "device": ("Устройство",),
    "region": ("Регион", "Город"),
    "discount": ("Скидка",),
    "delivery_days": ("Срок доставки", "Дней доставки"),
    "bonus_earned": ("Начислено бонусов",),
    "bonus_spent": ("Списано бонусов",),
    "bonus_expired": ("Сгорело бонусов",),
    "registered_at": ("Дата регистрации",),
    "acquisition_channel": ("Источник", "Канал привлечения"),
    "first_name": ("Имя",),
    "email": ("Почта", "E-mail", "Электронная почта"),
    "phone": ("Телефон",),
    "is_test": ("Тестовый",),
    "is_employee": ("Сотрудник",),
}


# -- column mapping --------------------------------------------------------------------------
def _similarity(found: str, target: str) -> float:
    a, b = found.strip().lower(), target.lower().replace("_", " ")
    return difflib.SequenceMatcher(None, a, b).ratio()


def _closest(key: str, found: list[str]) -> str | None:
    """The found column most like ``key`` or one of its aliases (ratio >= 0.6), if any."""
    targets = (key, *ALIASES.get(key, ()))
    scored = [(max(_similarity(f, t) for t in targets), f) for f in found]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= 0.6 else None


def resolve_columns(
    src: Source,
    columns: Mapping[str, str] | None,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    argument: str,
) -> dict[str, str]:
    """Canonical name -> source column, from ``columns=`` and canonical names already present."""
    found = list(src.frame.columns)
    known = (*required, *optional)
    columns = dict(columns or {})
    for key, user in columns.items():
        if key not in known:
            raise ConfigError(
                f"{src.name}: {argument}= maps {user!r} to {key!r}, which is not a churnkit "
                f"column. Known columns: {list(known)}."
            )
        if user not in found:
            near = difflib.get_close_matches(str(user), found, n=1, cutoff=0.6)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise MissingColumnError(
                f"{src.name}: column {user!r} given in {argument}={{{key!r}: {user!r}}} is not "
                f"in the table. Columns found: {found}.{hint}"
            )
        if key in found and user != key:
            raise DataValidationError(
                f"{src.name}: {argument}= maps {user!r} to {key!r}, but the table already has a "
                f"column {key!r}. Rename or drop one of them."
            )
    users = list(columns.values())
    if len(set(users)) < len(users):
        raise ConfigError(f"{src.name}: {argument}= maps one column to several names: {columns}.")
    resolved = {k: columns.get(k, k) for k in known if k in columns or k in found}
    missing = [k for k in required if k not in resolved]
    if missing:
        unused = [f for f in found if f not in resolved.values()]
        guesses = {k: _closest(k, unused) for k in missing}
        names = ", ".join(repr(k) for k in missing)
        plural = "s" if len(missing) > 1 else ""
        message = f"{src.name}: required column{plural} {names} not found. Columns found: {found}."
        if any(guesses.values()):
            message += (
                " Did you mean "
                + ", ".join(
                    f"{g!r}" + (f" for {k!r}" if len(missing) > 1 else "")
                    for k, g in guesses.items()
                    if g
                )
                + "?"
            )
        mapping = {k: g or "<your column>" for k, g in guesses.items()}
        message += f" Map {'them' if plural else 'it'} with {argument}={mapping}."
        raise MissingColumnError(message)
    return resolved


# -- labels, examples, coercions -------------------------------------------------------------
def column_label(src: Source, canonical: str, column: str) -> str:
    return f"{src.name}: column {_column(canonical, column)}"


def _column(canonical: str, column: str) -> str:
    """How a column is named in reports: ``'quantity'`` or ``'quantity' ('Количество')``."""
    return repr(canonical) if column == canonical else f"{canonical!r} ({column!r})"


def examples(rows: np.ndarray, values: pd.Series | np.ndarray) -> list[tuple[int, str]]:
    """(1-based row, raw value as text) for the first rows in ``rows`` (0-based positions)."""
    picked = rows[:N_EXAMPLES]
    shown = pd.Series(values).iloc[picked] if len(picked) else pd.Series([], dtype=object)
    return [(int(r) + 1, "" if pd.isna(v) else str(v)) for r, v in zip(picked, shown, strict=True)]


def text_extras(src: Source, extras: list[str]) -> dict[str, Any]:
    """User columns: from a text file numeric when every value is a number, else text."""
    out: dict[str, Any] = {}
    for col in extras:
        raw = src.frame[col]
        if not src.text:
            # numpy columns as arrays so that taking kept rows stays a numpy take
            out[col] = raw.to_numpy() if isinstance(raw.dtype, np.dtype) else raw.array
            continue
        numbers = numeric_or_none(raw)
        out[col] = numbers if numbers is not None else as_text(raw, strip=False).array
    return out


def _coercion(
    column: str, source_column: str, mask: np.ndarray, raw: pd.Series, action: str
) -> dict[str, Any]:
    rows = np.flatnonzero(mask)
    return {
        "column": column,
        "source_column": source_column,
        "count": len(rows),
        "action": action,
        "examples": examples(rows, raw),
    }
