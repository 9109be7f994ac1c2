"""Turn the simulated purchases and traits into the demo shop's orders, customers and truth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnkit.datasets._shop_setup import (
    APP_RELEASES,
    CHANNELS,
    DEVICES,
    NEVER,
    QUALITY,
    REASONS,
    REGIONS,
)

# category, share of first lines, typical spend per line (rubles), unit price (rubles)
CATEGORIES: tuple[tuple[str, float, float, float], ...] = (
    ("dry food", 0.34, 2200.0, 1900.0),
    ("wet food", 0.22, 900.0, 60.0),
    ("litter", 0.14, 700.0, 650.0),
    ("treats", 0.11, 350.0, 190.0),
    ("toys", 0.06, 450.0, 380.0),
    ("pharmacy", 0.07, 1100.0, 780.0),
    ("accessories", 0.06, 1300.0, 1150.0),
)

FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Анна", "anna"), ("Мария", "maria"), ("Елена", "elena"), ("Ольга", "olga"),
    ("Наталья", "natalia"), ("Екатерина", "ekaterina"), ("Татьяна", "tatiana"),
    ("Ирина", "irina"), ("Юлия", "yulia"), ("Светлана", "svetlana"), ("Дарья", "daria"),
    ("Алёна", "alena"), ("Ксения", "ksenia"), ("Полина", "polina"), ("Виктория", "viktoria"),
    ("Александр", "alexander"), ("Дмитрий", "dmitry"), ("Сергей", "sergey"),
    ("Андрей", "andrey"), ("Алексей", "alexey"), ("Максим", "maxim"), ("Иван", "ivan"),
    ("Михаил", "mikhail"), ("Артём", "artem"), ("Никита", "nikita"), ("Павел", "pavel"),
)  # fmt: skip
MAIL_DOMAINS: tuple[str, ...] = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru")
SHOP_DOMAIN = "zoolapka.ru"


def strings(values: pa.Array) -> pd.Series:
    """A pandas ``string[pyarrow]`` Series over an Arrow array, without a Python round trip."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([values])))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, e.g. C000123."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def days_to_dates(start: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    """Day numbers since ``start`` as ``datetime64[ns]`` (NaT where the day never came)."""
    out = (np.datetime64(start.date(), "D") + days.astype("timedelta64[D]")).astype("M8[ns]")
    out[days >= NEVER] = np.datetime64("NaT")
    return out


def build_orders(
    hist: Mapping[str, np.ndarray],
    pop: Mapping[str, np.ndarray],
    customer_ids: pa.Array,
    start: pd.Timestamp,
    n_days: int,
    p: Mapping[str, float],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Order lines (about 1.3 per order) plus return lines, sorted by date and order.

    Order-level values (device, delivery, quality) repeat on every line of an order; bonus
    points are booked on its first line, so that sums over lines are right.
    """
    n_orders = len(hist["cust"])
    n_lines = 1 + np.minimum(rng.poisson(0.3, n_orders), 3)
    order = np.repeat(np.arange(n_orders), n_lines)
    first = np.cumsum(n_lines) - n_lines
    pos = np.arange(len(order)) - first[order]
    # lines of one order have distinct categories: steps through Z_7 from a weighted first one
    n_cat = len(CATEGORIES)
    c0 = rng.choice(n_cat, n_orders, p=[c[1] for c in CATEGORIES])
    step = rng.integers(1, n_cat, n_orders)
    cat = (c0[order] + pos * step[order]) % n_cat

    weight = np.array([c[2] for c in CATEGORIES])[cat] * rng.lognormal(0.0, 0.3, len(order))
    share = weight / np.bincount(order, weight)[order]
    value = hist["value"][order]
    revenue = np.round(value * share, 2)
    last = first + n_lines - 1
    revenue[last] = np.round(
        hist["value"] - (np.bincount(order, revenue, n_orders) - revenue[last]), 2
    )

    cust = hist["cust"][order]
    on_promo = rng.random(len(order)) < 0.1 + 0.75 * pop["sens"][cust]
    discount = np.where(on_promo, np.round(rng.uniform(0.05, 0.4, len(order)), 2), 0.0)
    unit = np.array([c[3] for c in CATEGORIES])[cat] * rng.lognormal(0.0, 0.2, len(order))
    quantity = np.maximum(np.round(revenue / (unit * (1.0 - discount))), 1.0)
    head = pos == 0

    # returns: a line comes back a few days later, more often after a quality issue
    quality = hist["quality"][order]
    chance = np.where(quality > 0, p["return_share_issue"], p["return_share"])
    day = hist["day"][order]
    back_day = day + rng.geometric(0.2, len(order))
    back = np.flatnonzero((rng.random(len(order)) < chance) & (back_day < n_days))
    rows = np.concatenate([np.arange(len(order)), back])
    sign = np.concatenate([np.ones(len(order)), -np.ones(len(back))])
    line_day = np.concatenate([day, back_day[back]])
    booked = np.concatenate([head, np.zeros(len(back), bool)])
    sort = np.lexsort((sign < 0, order[rows], line_day))
    rows, sign, line_day, booked = rows[sort], sign[sort], line_day[sort], booked[sort]
    o = order[rows]

    device = hist["device"][o]
    version = hist["version"][o]
    width = max(8, len(str(n_orders)))
    versions = pa.array([v for _, v, _ in APP_RELEASES] + [None])
    return pd.DataFrame(
        {
            "customer_id": strings(customer_ids.take(pa.array(cust[rows]))),
            "order_id": strings(ids("O", o + 1, width)),
            "order_date": days_to_dates(start, line_day),
            "revenue": sign * revenue[rows],
            "quantity": sign * quantity[rows],
            "category": strings(pa.array([c[0] for c in CATEGORIES]).take(pa.array(cat[rows]))),
            "channel": strings(pa.array(["app", "app", "site", "site"]).take(pa.array(device))),
            "device": strings(pa.array(DEVICES).take(pa.array(device))),
            "app_version": strings(
                versions.take(pa.array(np.where(version < 0, len(APP_RELEASES), version)))
            ),
            "region": strings(
                pa.array([r[0] for r in REGIONS]).take(pa.array(pop["region"][cust[rows]]))
            ),
            "discount": discount[rows],
            "delivery_days": hist["delivery_days"][o].astype(np.float64),
            "bonus_earned": np.where(booked, hist["earned"][o], 0.0),
            "bonus_spent": np.where(booked, hist["spent"][o], 0.0),
            "bonus_expired": np.where(booked, hist["expired"][o], 0.0),
            "quality_issue": strings(pa.array(QUALITY).take(pa.array(hist["quality"][o]))),
        }
    )


def build_customers(
    pop: Mapping[str, np.ndarray],
    customer_ids: pa.Array,
    number: np.ndarray,
    start: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per sign-up, in customer id order; ``number`` is each customer's id number."""
    n = len(number)
    by_id = np.argsort(number)
    name = rng.integers(0, len(FIRST_NAMES), n)
    is_test = rng.random(n) < 0.002
    is_employee = ~is_test & (rng.random(n) < 0.005)
    latin = pa.array([f[1] for f in FIRST_NAMES]).take(pa.array(name))
    domain = pa.array(MAIL_DOMAINS).take(pa.array(rng.integers(0, len(MAIL_DOMAINS), n)))
    domain = pc.if_else(pa.array(is_test | is_employee), SHOP_DOMAIN, domain)
    local = pc.if_else(pa.array(is_test), "qa.test", latin)
    email = pc.binary_join_element_wise(
        local, pc.cast(pa.array(number), pa.string()), "@", domain, ""
    )
    first_name = pc.if_else(
        pa.array(is_test), "Тест", pa.array([f[0] for f in FIRST_NAMES]).take(pa.array(name))
    )
    digits = rng.integers(0, 10_000_000, n)
    phone = pc.binary_join_element_wise(
        "+7 9",
        pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 100, n)), pa.string()), 2, "0"),
        " ",
        pc.utf8_lpad(pc.cast(pa.array(digits // 10_000), pa.string()), 3, "0"),
        "-",
        pc.utf8_lpad(pc.cast(pa.array(digits // 100 % 100), pa.string()), 2, "0"),
        "-",
        pc.utf8_lpad(pc.cast(pa.array(digits % 100), pa.string()), 2, "0"),
        "",
    )
    research = rng.random(n) < np.where(pop["channel"] == 4, 0.5, 0.68)
    frame = pd.DataFrame(
        {
            "customer_id": strings(customer_ids),
            "registered_at": days_to_dates(start, pop["registered"]),
            "acquisition_channel": strings(
                pa.array([c[0] for c in CHANNELS]).take(pa.array(pop["channel"]))
            ),
            "first_name": strings(first_name),
            "email": strings(email),
            "phone": strings(phone),
            "timezone": strings(pa.array([r[2] for r in REGIONS]).take(pa.array(pop["region"]))),
            "research_opt_in": research,
            "marketing_opt_in": rng.random(n) < 0.55,
            "is_employee": is_employee,
            "is_test": is_test,
        }
    )
    return frame.iloc[by_id].reset_index(drop=True)


def build_truth(
    pop: Mapping[str, np.ndarray],
    customer_ids: pa.Array,
    number: np.ndarray,
    churn_day: np.ndarray,
    primary: np.ndarray,
    secondary: np.ndarray,
    start: pd.Timestamp,
    n_days: int,
) -> pd.DataFrame:
    """One row per customer: churn, its true reasons, and the hidden traits."""
    churned = churn_day < n_days
    names = np.array([*REASONS, ""], dtype=object)
    reason = np.where(churned, names[primary], None)
    reasons = np.where(
        secondary >= 0, names[primary] + ";" + names[secondary].astype(str), names[primary]
    )
    frame = pd.DataFrame(
        {
            "customer_id": strings(customer_ids),
            "churned": churned,
            "churn_date": days_to_dates(start, np.where(churned, churn_day, NEVER)),
            "churn_reason": reason,
            "churn_reasons": np.where(churned, reasons, None),
            "first_purchase": days_to_dates(
                start, np.where(pop["first_day"] < n_days, pop["first_day"], NEVER)
            ),
            "purchase_rate": pop["lam"],
            "price_sensitivity": pop["sens"],
            "bonus_savvy": pop["savvy"],
            "bonus_care": pop["care"],
            "first_purchase_boost": pop["first_boost"],
            "basket": pop["basket"],
            "no_need_hazard": pop["need"],
            "app_update_lag_days": pop["update_lag"],
            "home_region": strings(pa.array([r[0] for r in REGIONS]).take(pa.array(pop["region"]))),
            "preferred_device": strings(pa.array(DEVICES).take(pa.array(pop["device"]))),
        }
    )
    return frame.iloc[np.argsort(number)].reset_index(drop=True)
