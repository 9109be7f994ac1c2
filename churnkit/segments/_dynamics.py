"""Segment sizes, retention rates and migrations period by period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import ChurnkitError
from churnkit.segments._rules import SegmentRules, default_segment_rules

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog

# customers who were in no segment at a period's start (they appeared during the period)
ENTERED = "(entered)"


@dataclass(frozen=True)
class SegmentDynamics:
    """What :func:`segment_dynamics` computed.

    Attributes
    ----------
    table : DataFrame
        One row per period and segment: ``period``, ``period_start``, ``period_end``,
        ``segment``, ``customers`` (in the segment at the period's start), ``buyers`` (of them,
        who bought in the period), ``retention_rate`` (= buyers / customers) and ``revenue``
        (their net revenue in the period).
    migration : DataFrame
        One row per period and (``from_segment``, ``to_segment``) pair with ``customers``;
        ``from_segment`` is ``"(entered)"`` for customers who first appeared in the period.
    rules : SegmentRules
        The rules the segments came from.
    freq : str
        The period length.
    """

    table: pd.DataFrame
    migration: pd.DataFrame
    rules: SegmentRules
    freq: str

    def migration_matrix(self, period: str | None = None, normalize: bool = False) -> pd.DataFrame:
        """Customers moving from each segment (rows) to each segment (columns).

        Parameters
        ----------
        period : str, optional
            One period's label (e.g. ``"2024-03"``); default: all periods summed.
        normalize : bool
            Divide each row by its total (the share of a segment that moved where).
        """
        moves = self.migration
        if period is not None:
            if period not in set(moves["period"]):
                raise ChurnkitError(
                    f"no period {period!r} in the dynamics; periods run from "
                    f"{moves['period'].min()} to {moves['period'].max()}"
                )
            moves = moves[moves["period"] == period]
        names = list(self.rules.names)
        matrix = (
            moves.pivot_table(
                index="from_segment",
                columns="to_segment",
                values="customers",
                aggfunc="sum",
                fill_value=0,
                observed=False,
            )
            .reindex(index=[ENTERED, *names], columns=names, fill_value=0)
            .astype("int64")
        )
        matrix.index.name, matrix.columns.name = "from_segment", "to_segment"
        if normalize:
            totals = matrix.sum(axis=1)
            matrix = matrix.div(totals.where(totals > 0), axis=0).fillna(0.0)
        return matrix


def segment_dynamics(
    log: TransactionLog,
    freq: str = "M",
    rules: SegmentRules | None = None,
    start: Any = None,
    end: Any = None,
) -> SegmentDynamics:
    """Sizes, retention rates, revenue and migrations of the lifecycle segments per period.

    Periods are calendar periods of length ``freq`` (``"M"`` months, ``"Q"`` quarters,
    ``"W"`` weeks) that lie completely inside the data. A customer's segment at a period's
    start is their segment at the end of the day before it (:func:`churnkit.assign_segments`).

    **Retention rate** of a segment in a period: the share of the customers in the segment at
    the period's start who make at least one purchase (a customer-day with a non-return
    line) before the period ends. Customers who appear during the period count in no
    segment's rate; they enter the migrations as ``"(entered)"``.

    Parameters
    ----------
    log : TransactionLog
        Validated orders (and customers, for registered customers without a purchase).
    freq : {"M", "Q", "W"}
        Period length: calendar months, quarters or weeks (Monday to Sunday).
    rules : SegmentRules, optional
        Defaults to :func:`churnkit.default_segment_rules`.
    start, end : date-like, optional
        Limit the periods to those starting on/after ``start`` and ending on/before ``end``
        (default: the whole log, up to ``log.as_of``).

    Returns
    -------
    SegmentDynamics

    Examples
    --------
    >>> dyn = churnkit.segment_dynamics(log, freq="M")  # doctest: +SKIP
    >>> dyn.table.query("segment == 'loyal'")[["period", "retention_rate"]]  # doctest: +SKIP
    """
    import pandas as pd

    from churnkit.segments._assign import segment_transitions

    rules = rules or default_segment_rules()
    bounds = _period_bounds(log, freq, start, end)
    moves = segment_transitions(log, bounds, rules)
    # the rows at each period's starting bound describe that period
    periods = pd.DataFrame(
        {
            "snapshot": bounds[:-1],
            "period": _labels(bounds[:-1], freq),
            "period_start": [b + pd.Timedelta(days=1) for b in bounds[:-1]],
            "period_end": bounds[1:],
        }
    )
    label = dict(zip(periods["snapshot"], periods["period"], strict=True))
    now = moves[moves["snapshot"] < bounds[-1]].assign(period=lambda d: d["snapshot"].map(label))
    table = (
        now.groupby(["period", "segment"], observed=False, sort=True)
        .agg(
            customers=("customers", "sum"),
            buyers=("buyers", "sum"),
            revenue=("revenue_next", "sum"),
        )
        .reset_index()
    )
    table["retention_rate"] = table["buyers"] / table["customers"].where(table["customers"] > 0)
    table["revenue"] = table["revenue"].round(2)
    table = table.merge(periods.drop(columns="snapshot"), on="period", how="left")[
        [
            "period",
            "period_start",
            "period_end",
            "segment",
            "customers",
            "buyers",
            "retention_rate",
            "revenue",
        ]
    ]
    previous = dict(zip(bounds[1:], bounds[:-1], strict=True))
    entered = moves[moves["entered"]]
    migration = pd.concat(
        [
            pd.DataFrame(
                {
                    "period": now["period"],
                    "from_segment": now["segment"].astype(str),
                    "to_segment": now["next_segment"].astype(str),
                    "customers": now["customers"],
                }
            ),
            pd.DataFrame(
                {
                    "period": entered["snapshot"].map(previous).map(label),
                    "from_segment": ENTERED,
                    "to_segment": entered["segment"].astype(str),
                    "customers": entered["customers"],
                }
            ),
        ],
        ignore_index=True,
    )
    migration = (
        migration.groupby(["period", "from_segment", "to_segment"], sort=True)["customers"]
        .sum()
        .reset_index()
    )
    return SegmentDynamics(table=table, migration=migration, rules=rules, freq=freq)


_FREQ = {"M": "ME", "Q": "QE", "W": "W-SUN"}


def _period_bounds(log: TransactionLog, freq: str, start: Any, end: Any) -> list[pd.Timestamp]:
    """Period ends, starting with the end of the day before the first period."""
    import pandas as pd

    if freq not in _FREQ:
        raise ChurnkitError(f"freq must be one of {sorted(_FREQ)}, got {freq!r}")
    if not len(log.orders):
        raise ChurnkitError(f"{log.source}: no orders, so there are no segment dynamics")
    first = pd.Timestamp(log.start if start is None else start).normalize()
    last = pd.Timestamp(log.as_of if end is None else end).normalize()
    # the day before the first complete period, then every period end up to ``last``
    ends = pd.date_range(first - pd.Timedelta(days=1), last, freq=_FREQ[freq])
    bounds = [b.normalize() for b in ends]
    if len(bounds) < 2:
        raise ChurnkitError(
            f"{log.source}: the data from {first.date()} to {last.date()} hold no complete "
            f"period of freq={freq!r}; use a shorter freq or more data"
        )
    return bounds


def _labels(bounds: list[pd.Timestamp], freq: str) -> list[str]:
    """Label of the period that starts the day after each bound."""
    import pandas as pd

    out = []
    for b in bounds:
        day = b + pd.Timedelta(days=1)
        if freq == "M":
            out.append(f"{day.year}-{day.month:02d}")
        elif freq == "Q":
            out.append(f"{day.year}-Q{day.quarter}")
        else:
            out.append(day.date().isoformat())
    return out
