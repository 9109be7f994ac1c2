"""``make_shop``: a generated pet-supplies e-shop whose churn process and reasons are known."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from churnkit.core._errors import ChurnkitError, ConfigError
from churnkit.datasets import _shop_frames as frames
from churnkit.datasets._shop_oracle import no_purchase_oracle
from churnkit.datasets._shop_process import Process, churn_reasons
from churnkit.datasets._shop_setup import (
    APP_RELEASES,
    BUG_VERSION,
    HORIZON_PAD,
    REASONS,
    Calendar,
    draw_population,
    make_calendar,
    resolve_params,
)


@dataclass
class _Hidden:
    """What the oracle needs: the process's traits, purchase records and calendar."""

    x: dict[str, np.ndarray]
    hist: dict[str, np.ndarray]
    expiries: dict[str, np.ndarray]
    churn_day: np.ndarray
    cal: Calendar
    customer_ids: Any  # pyarrow array, in the process's customer order


@dataclass(repr=False)
class Shop:
    """A generated shop: its orders and customers as an export would hold them, and the truth.

    Attributes
    ----------
    orders : DataFrame
        One row per order line (about 1.3 per order) with churnkit's canonical columns plus
        ``app_version`` (app orders) and ``quality_issue`` ("none", "damaged", "near_expiry").
        Order-level values repeat on each line; bonus points are booked on an order's first
        line. Returns are extra lines with negative revenue and quantity, dated when returned.
        ``bonus_expired`` is what expired since the customer's previous order.
    customers : DataFrame
        One row per sign-up, including people who never ordered, employees and test accounts
        (who do place orders).
    truth : DataFrame
        One row per customer: ``churned`` (on or before ``end``), ``churn_date``,
        ``churn_reason`` (primary reason or None), ``churn_reasons`` (all, primary first,
        ';'-joined) and the hidden traits that drove the process.
    start, end : Timestamp
        The period the data covers.
    seed : int
    bonus_ttl_days : int
        Days after which unspent bonus points expire.
    params : dict
        Every process parameter (defaults updated with ``make_shop(params=...)``).
    competitor_promotions : DataFrame
        ``start, end`` of the competitor's promotions (price churn peaks during them).
    app_releases : DataFrame
        ``device, version, released_at, failing_carts``; one android release fails carts
        until the next one fixes it.
    bonus_expiries : DataFrame
        The loyalty system's log of expired points: ``customer_id, expired_on, points``.
    """

    orders: pd.DataFrame
    customers: pd.DataFrame
    truth: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int
    bonus_ttl_days: int
    params: dict[str, float]
    competitor_promotions: pd.DataFrame
    app_releases: pd.DataFrame
    bonus_expiries: pd.DataFrame
    _hidden: _Hidden = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Shop({len(self.customers):,} customers, {len(self.orders):,} order lines, "
            f"{self.start.date()} to {self.end.date()}, seed={self.seed})"
        )

    def p_no_purchase(
        self,
        cutoff: Any,
        horizon: int | pd.Timedelta = 90,
        alive_known: bool = True,
        rate_known: bool = True,
    ) -> pd.Series:
        """The oracle: each customer's true probability of no purchase in ``(cutoff, cutoff + horizon]``.

        Exact for the generating process given its hidden state at the end of day ``cutoff``:
        the customer's purchase rate and every hazard, including events already scheduled
        then (expiry of unspent bonuses, competitor promotions, the app fix), and — with
        ``alive_known`` — whether the customer is still alive (those who churned by the cutoff
        get 1). The window may run past ``end``.

        With ``alive_known=False`` the silence since the last purchase is weighed instead: the
        probability given the hidden traits and the orders up to the cutoff. With
        ``rate_known=False`` as well, the purchase rate is integrated over its prior given the
        customer's purchase days. Each step hides more of what a model of the orders cannot
        see, so each is a tighter ceiling for such a model (the others remain known: price
        sensitivity, bonus care, …).

        Parameters
        ----------
        cutoff : date-like
            A day in ``[start, end]``.
        horizon : int or Timedelta
            Window length in days.
        alive_known : bool, default True
            Whether the oracle knows who has churned by the cutoff.
        rate_known : bool, default True
            Whether it knows each customer's purchase rate (``False`` needs
            ``alive_known=False``).

        Returns
        -------
        Series
            Indexed by ``customer_id`` (customers with a first purchase on or before the cutoff),
            named ``p_no_purchase``.

        Examples
        --------
        >>> shop = make_shop(n_customers=300, seed=1)
        >>> p = shop.p_no_purchase("2024-06-30", 90)
        >>> bool(p.between(0, 1).all())
        True
        """
        day = (pd.Timestamp(cutoff).normalize() - self.start).days
        n_days = (self.end - self.start).days + 1
        if not 0 <= day < n_days:
            raise ChurnkitError(
                f"p_no_purchase: cutoff {pd.Timestamp(cutoff).date()} is outside the shop's "
                f"period {self.start.date()} to {self.end.date()}; pass a day inside it."
            )
        if alive_known and not rate_known:
            raise ConfigError(
                "p_no_purchase: rate_known=False needs alive_known=False (an oracle that knows "
                "who has left but not how often they buy is not one of the ceilings offered)."
            )
        days = horizon.days if isinstance(horizon, pd.Timedelta) else int(horizon)
        if not 1 <= days <= HORIZON_PAD:
            raise ChurnkitError(
                f"p_no_purchase: horizon must be 1 to {HORIZON_PAD} days, got {horizon!r}."
            )
        h = self._hidden
        idx, prob = no_purchase_oracle(
            h.x,
            h.hist,
            h.expiries,
            h.churn_day,
            day,
            days,
            h.cal,
            self.params,
            self.bonus_ttl_days,
            alive_known=alive_known,
            rate_known=rate_known,
        )
        ids = frames.strings(h.customer_ids.take(idx))
        out = pd.Series(prob, index=pd.Index(ids, name="customer_id"), name="p_no_purchase")
        return out.sort_index()

    def to_csv(self, path: str | os.PathLike[str], dirty: bool = False) -> dict[str, Any]:
        """Write the orders as a Russian 1C/Excel export (``;``, cp1251, decimal comma, dd.mm.yyyy).

        With ``dirty=True`` a few rows of each known problem are planted: exact duplicate
        lines, an empty customer id, an impossible date (31.02.2023) and revenue «н/д».

        Returns
        -------
        dict
            ``columns``: canonical name -> Russian column name, to pass as
            ``churnkit.load_orders(path, columns=...)``; ``other_columns``: the same for the
            non-canonical columns; ``planted``: problem -> 1-based data rows (the loader's
            ``source_row``), named like the loader's rejection reasons; ``rows``: data rows
            written.

        Examples
        --------
        >>> shop = make_shop(n_customers=200, seed=0)
        >>> info = shop.to_csv("orders.csv", dirty=True)  # doctest: +SKIP
        >>> info["columns"]["customer_id"]
        'Код клиента'
        """
        from churnkit.datasets._shop_export import write_orders_csv

        return write_orders_csv(self.orders, path, dirty=dirty, seed=self.seed)

    def customers_to_csv(self, path: str | os.PathLike[str]) -> dict[str, str]:
        """Write the customers like a 1C export (booleans «да»/«нет»); return the column mapping.

        Examples
        --------
        >>> shop = make_shop(n_customers=200, seed=0)
        >>> mapping = shop.customers_to_csv("customers.csv")  # doctest: +SKIP
        >>> mapping["is_test"]
        'Тестовый'
        """
        from churnkit.datasets._shop_export import write_customers_csv

        return write_customers_csv(self.customers, path)


def _streams(seed: int) -> list[np.random.Generator]:
    """Independent generators for calendar, population, process, reasons, orders, customers."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]


def _start_process(
    n: int,
    start: pd.Timestamp,
    n_days: int,
    ttl: int,
    p: Mapping[str, float],
    streams: list[np.random.Generator],
) -> tuple[Process, np.ndarray]:
    """The process at day 0 and each of its customers' id number (sign-up order)."""
    cal = make_calendar(np.datetime64(start.date(), "D"), n_days, p, streams[0])
    pop = draw_population(n, n_days, p, streams[1])
    # the process holds customers in first-purchase order; ids number them in sign-up order
    order = np.argsort(pop["first_day"], kind="stable")
    return Process({k: v[order] for k, v in pop.items()}, cal, p, ttl, streams[2]), order + 1


def make_shop(
    n_customers: int = 20_000,
    seed: int = 0,
    start: Any = "2022-01-01",
    end: Any = "2024-12-31",
    *,
    bonus_ttl_days: int = 90,
    params: Mapping[str, float] | None = None,
) -> Shop:
    """Generate a pet-supplies e-shop with known churn dates, reasons and an exact oracle.

    Customers sign up at a growing pace; each alive customer churns on a day with a hazard
    made of reason components (price in competitor promotions, slow deliveries, expired bonuses,
    a failing android app version, damaged or near-expiry deliveries, external ends), raised
    right after a first purchase, and otherwise buys with a seasonal rate. Deterministic in
    ``seed``; no data files. See ``_shop_process`` for the process
    and ``_shop_oracle`` for :meth:`Shop.p_no_purchase`.

    Parameters
    ----------
    n_customers : int
        Sign-ups over the period (about 12% never order).
    seed : int
        Same seed, identical frames.
    start, end : date-like
        First and last day of the data.
    bonus_ttl_days : int
        Days until unspent bonus points expire.
    params : mapping, optional
        Overrides of process parameters (``churnkit.datasets._shop_setup.DEFAULT_PARAMS``).

    Returns
    -------
    Shop

    Examples
    --------
    >>> shop = make_shop(n_customers=500, seed=0)
    >>> shop.orders.columns[:4].tolist()
    ['customer_id', 'order_id', 'order_date', 'revenue']
    >>> shop.truth["churned"].dtype
    dtype('bool')
    """
    start, end, n_days = _period(start, end, n_customers, bonus_ttl_days)
    p = resolve_params(params)
    streams = _streams(seed)
    process, number = _start_process(
        int(n_customers), start, n_days, int(bonus_ttl_days), p, streams
    )
    pop, cal = process.x, process.cal  # traits are never changed by the simulation
    customer_ids = frames.ids("C", number, max(6, len(str(int(n_customers)))))
    process.run(0, n_days)
    hist = process.history()
    expiries = process.expiry_log()

    churned = np.flatnonzero(process.churn_day < n_days)
    primary = np.full(len(number), len(REASONS))
    secondary = np.full(len(number), -1)
    primary[churned], secondary[churned] = churn_reasons(process.churn_parts[churned], streams[3])

    orders = frames.build_orders(hist, pop, customer_ids, start, n_days, p, streams[4])
    customers = frames.build_customers(pop, customer_ids, number, start, streams[5])
    truth = frames.build_truth(
        pop, customer_ids, number, process.churn_day, primary, secondary, start, n_days
    )
    promotions = pd.DataFrame(
        {
            "start": frames.days_to_dates(start, cal.promotions[:, 0]),
            "end": frames.days_to_dates(start, cal.promotions[:, 1]),
        }
    )
    releases = pd.DataFrame(
        {
            "device": [d for d, _, _ in APP_RELEASES],
            "version": [v for _, v, _ in APP_RELEASES],
            "released_at": frames.days_to_dates(start, cal.release_day),
            "failing_carts": [(d, v) == BUG_VERSION for d, v, _ in APP_RELEASES],
        }
    )
    hidden = _Hidden(
        x=process.x,
        hist=hist,
        expiries=expiries,
        churn_day=process.churn_day,
        cal=cal,
        customer_ids=customer_ids,
    )
    return Shop(
        orders=orders,
        customers=customers,
        truth=truth,
        start=start,
        end=end,
        seed=seed,
        bonus_ttl_days=int(bonus_ttl_days),
        params=p,
        competitor_promotions=promotions,
        app_releases=releases,
        bonus_expiries=pd.DataFrame(
            {
                "customer_id": frames.strings(customer_ids.take(pa.array(expiries["cust"]))),
                "expired_on": frames.days_to_dates(start, expiries["day"]),
                "points": expiries["points"],
            }
        ),
        _hidden=hidden,
    )


def _period(
    start: Any, end: Any, n_customers: int, bonus_ttl_days: int
) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """The first and last day and the number of days; the arguments checked."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    n_days = (end - start).days + 1
    if n_days < 30:
        raise ConfigError(
            f"make_shop: the period {start.date()} to {end.date()} must span at least 30 days."
        )
    if int(n_customers) < 1 or int(bonus_ttl_days) < 1:
        raise ConfigError(
            f"make_shop: n_customers and bonus_ttl_days must be positive, got "
            f"{n_customers} and {bonus_ttl_days}."
        )
    return start, end, n_days
