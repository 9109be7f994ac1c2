"""Write the demo shop as a Russian 1C/Excel export would look, optionally with planted problems."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

ORDER_COLUMNS: dict[str, str] = {
    "customer_id": "Код клиента",
    "order_id": "Номер заказа",
    "order_date": "Дата заказа",
    "revenue": "Сумма",
    "quantity": "Количество",
    "category": "Категория",
    "channel": "Канал",
    "device": "Устройство",
    "region": "Регион",
    "discount": "Скидка",
    "delivery_days": "Срок доставки, дн",
    "bonus_earned": "Начислено бонусов",
    "bonus_spent": "Списано бонусов",
    "bonus_expired": "Сгорело бонусов",
}
# not churnkit's canonical columns: a loader keeps them under their Russian names
OTHER_ORDER_COLUMNS: dict[str, str] = {
    "app_version": "Версия приложения",
    "quality_issue": "Проблема качества",
}
CUSTOMER_COLUMNS: dict[str, str] = {
    "customer_id": "Код клиента",
    "registered_at": "Дата регистрации",
    "acquisition_channel": "Канал привлечения",
    "first_name": "Имя",
    "email": "Электронная почта",
    "phone": "Телефон",
    "research_opt_in": "Согласие на исследования",
    "marketing_opt_in": "Согласие на рассылки",
    "is_employee": "Сотрудник",
    "is_test": "Тестовый",
}
OTHER_CUSTOMER_COLUMNS: dict[str, str] = {"timezone": "Часовой пояс"}

# problem (named like the loader's rejection reason) -> rows planted of it
PLANTED_PER_PROBLEM = 4
NBSP = "\u00a0"


def write_orders_csv(
    orders: pd.DataFrame, path: str | os.PathLike[str], *, dirty: bool, seed: int
) -> dict[str, Any]:
    """Write ``orders`` as ``;``-separated cp1251 with decimal commas and dd.mm.yyyy dates.

    With ``dirty`` it plants ``PLANTED_PER_PROBLEM`` rows of each problem at rows drawn from
    ``seed``: ``exact_duplicate`` (a copy of the line above), ``missing_customer_id``,
    ``unparseable_date`` (31.02.2023) and ``non_numeric_revenue`` («н/д»).
    """
    out = _russian(orders, {**ORDER_COLUMNS, **OTHER_ORDER_COLUMNS})
    planted: dict[str, list[int]] = {}
    if dirty:
        out, planted = _plant(out, seed)
    _write(out, path)
    return {
        "columns": dict(ORDER_COLUMNS),
        "other_columns": dict(OTHER_ORDER_COLUMNS),
        "planted": planted,
        "rows": len(out),
    }


def write_customers_csv(customers: pd.DataFrame, path: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``customers`` like :func:`write_orders_csv`, booleans as «да»/«нет»; return the mapping."""
    out = _russian(customers, {**CUSTOMER_COLUMNS, **OTHER_CUSTOMER_COLUMNS})
    _write(out, path)
    return dict(CUSTOMER_COLUMNS)


def _russian(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Booleans, dates and money as a Russian Excel export shows them, renamed to Russian.

    Other numbers stay numeric: ``_write`` prints them with a decimal comma.
    """
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            values = pd.Series(np.where(values.to_numpy(), "да", "нет"), index=values.index)
        elif pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%d.%m.%Y").fillna("")
        elif column == "revenue":
            # 1234.5 -> "1 234,50" with a non-breaking space between thousands, as Excel writes
            values = pd.Series(
                [f"{v:,.2f}".replace(",", NBSP).replace(".", ",") for v in values.to_numpy()],
                index=values.index,
            )
        out[names.get(column, column)] = values
    return pd.DataFrame(out)


def _write(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    frame.to_csv(
        path,
        sep=";",
        index=False,
        encoding="cp1251",
        lineterminator="\r\n",
        decimal=",",
        float_format="%.2f",
    )


def _plant(out: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Plant the known problems on distinct rows; return the frame and 1-based data rows."""
    rng = np.random.default_rng([seed, 1])
    n = PLANTED_PER_PROBLEM
    chosen = rng.choice(len(out), size=min(4 * n, len(out)), replace=False)
    blank, bad_date, bad_revenue, copied = (np.sort(c) for c in np.array_split(chosen, 4))
    out = out.copy()
    out.iloc[blank, out.columns.get_loc(ORDER_COLUMNS["customer_id"])] = ""
    out.iloc[bad_date, out.columns.get_loc(ORDER_COLUMNS["order_date"])] = "31.02.2023"
    out.iloc[bad_revenue, out.columns.get_loc(ORDER_COLUMNS["revenue"])] = "н/д"
    # a copy follows its original; data rows shift by the copies inserted before them
    n_rows = len(out)
    rows = np.concatenate([np.arange(n_rows), copied])
    order = np.argsort(np.concatenate([np.arange(n_rows) * 2, copied * 2 + 1]), kind="stable")
    out = out.iloc[rows[order]].reset_index(drop=True)
    data_row = np.empty(len(rows), np.int64)
    data_row[order] = np.arange(1, len(rows) + 1)

    planted = {
        "missing_customer_id": sorted(data_row[blank].tolist()),
        "unparseable_date": sorted(data_row[bad_date].tolist()),
        "non_numeric_revenue": sorted(data_row[bad_revenue].tolist()),
        "exact_duplicate": sorted(data_row[n_rows:].tolist()),
    }
    return out, planted
