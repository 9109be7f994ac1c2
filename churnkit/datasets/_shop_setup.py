"""The demo shop's fixed facts: reasons, regions, channels, app releases, parameters, calendar.

Also the draw of each customer's sign-up day, first purchase day and hidden traits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from churnkit.core._errors import ConfigError

REASONS: tuple[str, ...] = ("price", "delivery", "loyalty", "technical", "trust", "no_need")
OBVIOUS: tuple[str, ...] = ("price", "delivery")
FIXABLE: tuple[str, ...] = ("loyalty", "technical", "trust")

DEVICES: tuple[str, ...] = ("android_app", "ios_app", "web_mobile", "web_desktop")
DEVICE_SHARES = np.array([0.32, 0.20, 0.28, 0.20])
QUALITY: tuple[str, ...] = ("none", "damaged", "near_expiry")

# name, share, timezone, minimum delivery days, mean extra delivery days (Poisson)
REGIONS: tuple[tuple[str, float, str, int, float], ...] = (
    ("Moscow", 0.28, "Europe/Moscow", 1, 0.6),
    ("Moscow Oblast", 0.12, "Europe/Moscow", 1, 1.0),
    ("Saint Petersburg", 0.12, "Europe/Moscow", 1, 1.0),
    ("Kazan", 0.08, "Europe/Moscow", 2, 1.2),
    ("Krasnodar", 0.08, "Europe/Moscow", 2, 1.6),
    ("Samara", 0.08, "Europe/Samara", 2, 1.6),
    ("Yekaterinburg", 0.10, "Asia/Yekaterinburg", 2, 2.0),
    ("Novosibirsk", 0.08, "Asia/Novosibirsk", 3, 2.5),
    ("Vladivostok", 0.06, "Asia/Vladivostok", 5, 3.0),
)

# channel, share of sign-ups, purchase-rate factor, first-purchase-hazard factor, price-sensitivity shift
CHANNELS: tuple[tuple[str, float, float, float, float], ...] = (
    ("seo", 0.24, 1.00, 1.0, 0.00),
    ("context_ads", 0.22, 0.85, 1.3, 0.10),
    ("social", 0.14, 0.90, 1.2, 0.05),
    ("referral", 0.10, 1.30, 0.5, -0.05),
    ("marketplace", 0.16, 0.80, 1.7, 0.20),
    ("direct", 0.14, 1.20, 0.7, -0.05),
)

# (device, version, release day as a share of the period, has the failing-cart bug); the buggy
# android release is fixed by the next one, `bug_fix_days` later
APP_RELEASES: tuple[tuple[str, str, float], ...] = (
    ("android_app", "5.0", -0.2),
    ("android_app", "5.1", 0.22),
    ("android_app", "5.2", 0.50),
    ("android_app", "5.3", np.nan),  # bug fix: set from bug_fix_days
    ("android_app", "5.4", 0.86),
    ("ios_app", "3.0", -0.1),
    ("ios_app", "3.1", 0.30),
    ("ios_app", "3.2", 0.62),
    ("ios_app", "3.3", 0.90),
)
BUG_VERSION = ("android_app", "5.2")

DEFAULT_PARAMS: dict[str, float] = {
    "never_buy_share": 0.12,  # sign-ups who never place an order
    "same_day_first_order": 0.6,  # of buyers, share whose first order is on the sign-up day
    "growth": 3.0,  # sign-ups per day at the end relative to the start
    "purchase_rate": 0.02,  # median daily purchase rate
    "purchase_rate_sigma": 0.9,  # log-normal spread of purchase rates
    "basket": 1600.0,  # median order value, rubles
    "first_boost": 35.0,  # hazard multiplier right after the first purchase...
    "first_decay_days": 45.0,  # ...decaying with this time constant while it stays the only one
    "price": 0.00045,  # daily price hazard at price sensitivity 1 outside competitor promotions
    "promo_boost": 4.0,  # extra factor on the price hazard during a competitor promotion
    "promo_gap_days": 75.0,  # mean days between competitor promotions (+-30%)
    "delivery": 0.0007,  # daily hazard per delivery day beyond slow_delivery_days
    "slow_delivery_days": 3,
    "delivery_effect_days": 42,
    "loyalty": 0.0038,  # daily hazard at bonus care 1 after a bonus expiry
    "loyalty_effect_days": 60,
    "loyalty_min_expired": 100.0,  # bonus points: smaller expiries go unnoticed
    "bonus_rate": 0.05,  # points earned per ruble
    "bonus_max_spend": 0.3,  # points pay at most this share of an order
    "technical": 0.002,  # daily hazard while the buggy app version fails carts
    "technical_effect_days": 30,  # after the customer's app is updated past the bug
    "bug_fix_days": 110,
    "app_update_days": 14.0,  # mean lag before a customer installs a new app version
    "trust": 0.001,  # daily hazard after a damaged or near-expiry delivery
    "trust_effect_days": 90,
    "damaged_share": 0.025,
    "near_expiry_share": 0.015,
    "no_need": 0.000022,  # daily hazard of an external end (pet died, moved)
    "season_december": 0.35,  # purchase-rate peak before New Year
    "season_summer": 0.20,  # purchase-rate dip in July-August
    "return_share": 0.006,  # order lines returned, without a quality issue
    "return_share_issue": 0.15,  # order lines returned after a quality issue
}

NEVER = np.iinfo(np.int32).max // 2  # a day that never comes
HORIZON_PAD = 731  # calendars extend this many days past the end, for oracle windows


def resolve_params(overrides: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults updated with ``overrides``; unknown names raise ``ConfigError``."""
    params = dict(DEFAULT_PARAMS)
    unknown = sorted(set(overrides or {}) - set(params))
    if unknown:
        raise ConfigError(
            f"make_shop: unknown parameter(s) {unknown}; known parameters are {sorted(params)}."
        )
    params.update(overrides or {})
    return params


@dataclass
class Calendar:
    """Day-indexed facts known in advance (day 0 = start; extends HORIZON_PAD past the end)."""

    season: np.ndarray  # purchase-rate factor s(d)
    promo: np.ndarray  # 1.0 on competitor promotion days
    first_decay: np.ndarray  # exp(-t / first_decay_days) for t days since the first purchase
    promotions: np.ndarray  # (k, 2) first and last day of each competitor promotion
    release_day: np.ndarray  # per APP_RELEASES row
    bug_fix_day: int


def make_calendar(
    start: np.datetime64, n_days: int, params: Mapping[str, float], rng: np.random.Generator
) -> Calendar:
    """Seasonality, the competitor's promotion calendar and the app release days."""
    total = n_days + HORIZON_PAD
    dates = start + np.arange(total).astype("timedelta64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    dec = np.minimum(np.abs(doy - 352), 365 - np.abs(doy - 352))
    season = (
        1.0
        + params["season_december"] * np.exp(-((dec / 18.0) ** 2))
        - params["season_summer"] * np.exp(-(((doy - 205) / 35.0) ** 2))
    )
    promo = np.zeros(total)
    spans = []
    day = int(rng.integers(10, 60))
    while day < total:
        length = int(rng.integers(7, 15))
        promo[day : day + length] = 1.0
        spans.append((day, min(day + length, total) - 1))
        gap = params["promo_gap_days"]
        day += length + int(rng.integers(int(0.7 * gap), int(1.3 * gap) + 1))
    t = np.arange(total)
    release = np.array([np.nan if np.isnan(s) else round(s * n_days) for _, _, s in APP_RELEASES])
    bug_row = [(d, v) for d, v, _ in APP_RELEASES].index(BUG_VERSION)
    release[bug_row + 1] = release[bug_row] + params["bug_fix_days"]
    release[bug_row + 2] = max(release[bug_row + 2], release[bug_row + 1] + 30)
    return Calendar(
        season=season,
        promo=promo,
        first_decay=np.exp(-t / params["first_decay_days"]),
        promotions=np.array(spans, dtype=np.int64).reshape(-1, 2),
        release_day=release.astype(np.int64),
        bug_fix_day=int(release[bug_row + 1]),
    )


def draw_population(
    n: int, n_days: int, params: Mapping[str, float], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Sign-up day, first purchase day and hidden traits of ``n`` customers (sign-up order)."""
    growth = params["growth"]
    # sign-up density grows linearly from 1 to `growth`: invert its CDF
    u = rng.random(n)
    a = growth - 1.0
    share = u if a == 0 else (np.sqrt(1.0 + a * (a + 2.0) * u) - 1.0) / a
    registered = np.sort(np.minimum((share * n_days).astype(np.int32), n_days - 1))
    delay = np.where(
        rng.random(n) < params["same_day_first_order"], 0, rng.geometric(1 / 15, n)
    ).astype(np.int32)
    buyer = rng.random(n) >= params["never_buy_share"]
    first_day = np.where(buyer, registered + delay, NEVER).astype(np.int32)

    channel = rng.choice(len(CHANNELS), n, p=[c[1] for c in CHANNELS])
    rate_factor = np.array([c[2] for c in CHANNELS])[channel]
    first_factor = np.array([c[3] for c in CHANNELS])[channel]
    sens_shift = np.array([c[4] for c in CHANNELS])[channel]
    region = rng.choice(len(REGIONS), n, p=[r[1] for r in REGIONS])
    return {
        "registered": registered,
        "first_day": first_day,
        "channel": channel.astype(np.int8),
        "region": region.astype(np.int8),
        "device": rng.choice(len(DEVICES), n, p=DEVICE_SHARES).astype(np.int8),
        "lam": params["purchase_rate"]
        * rate_factor
        * rng.lognormal(0.0, params["purchase_rate_sigma"], n),
        "sens": np.clip(rng.beta(2.0, 3.0, n) + sens_shift, 0.0, 1.0),
        "savvy": rng.beta(2.0, 1.5, n),  # chance of paying with bonuses at an order
        "care": rng.beta(2.0, 2.0, n),  # how much an expiry of bonuses hurts
        "first_boost": params["first_boost"] * first_factor,
        "basket": params["basket"] * rng.lognormal(0.0, 0.4, n),
        "update_lag": rng.exponential(params["app_update_days"], n).astype(np.int32),
        "need": params["no_need"] * rng.lognormal(0.0, 0.5, n),
    }
