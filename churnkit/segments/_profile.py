"""Who is in each lifecycle segment: size, value, rhythm and where they came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from churnkit.core._errors import ChurnkitError
from churnkit.segments._rules import SegmentRules, default_segment_rules

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog


def segment_profile(
    log: TransactionLog,
    at: Any = None,
    rules: SegmentRules | None = None,
    *,
    min_customers: int = 100,
    max_share: float = 0.4,
) -> pd.DataFrame:
    """Per segment at ``at``: size, share of revenue, order value, frequency, channel mix.

    Money and frequency are over the rules' value window (the last ``value_window_days``,
    365 by default): net revenue, *average order value* = net revenue per purchase occasion,
    *purchases per customer*. Where the customers table has ``acquisition_channel``, one
    ``channel: <name>`` column per channel gives the share of the segment acquired through it
    (where the loyal base came from, and where the one-off buyers did).

    A segment smaller than ``min_customers`` is too small to act on and one holding more than
    ``max_share`` of all customers too large to be personal: both get a ``warning`` (empty
    otherwise), so the output says it instead of staying silent.

    Returns
    -------
    DataFrame
        One row per segment in the rules' order: ``segment, customers, share_customers,
        revenue, share_revenue, purchases_per_customer, average_order_value,
        median_recency_days, median_typical_gap_days``, the channel shares and ``warning``.

    Examples
    --------
    >>> churnkit.segment_profile(log, at="2024-06-30")  # doctest: +SKIP
    """
    import numpy as np
    import pandas as pd

    from churnkit.segments._assign import assign_segments

    if min_customers < 0 or not 0 < max_share <= 1:
        raise ChurnkitError(
            f"min_customers must be >= 0 and max_share in (0, 1], got {min_customers} and "
            f"{max_share}"
        )
    rules = rules or default_segment_rules()
    seg = assign_segments(log, at=at, rules=rules)
    grouped = seg.groupby("segment", observed=False)
    out = grouped.agg(
        customers=("customer_id", "size"),
        revenue=("revenue_window", "sum"),
        purchases=("purchases_window", "sum"),
        median_recency_days=("recency_days", "median"),
        median_typical_gap_days=("typical_gap_days", "median"),
    )
    total_revenue = out["revenue"].sum()
    out.insert(1, "share_customers", out["customers"] / max(len(seg), 1))
    out.insert(3, "share_revenue", out["revenue"] / total_revenue if total_revenue else np.nan)
    out["purchases_per_customer"] = out["purchases"] / out["customers"].where(out["customers"] > 0)
    out["average_order_value"] = out["revenue"] / out["purchases"].where(out["purchases"] > 0)
    out = out.drop(columns="purchases")
    customers = log.customers
    if customers is not None and "acquisition_channel" in customers.columns:
        channel = seg[["customer_id", "segment"]].merge(
            customers[["customer_id", "acquisition_channel"]], on="customer_id", how="left"
        )
        channel["acquisition_channel"] = channel["acquisition_channel"].fillna("(unknown)")
        mix = pd.crosstab(channel["segment"], channel["acquisition_channel"], normalize="index")
        mix = mix.reindex(out.index, fill_value=0.0)
        mix.columns = [f"channel: {c}" for c in mix.columns]
        out = out.join(mix)
    out["warning"] = [
        _warning(n, n / max(len(seg), 1), min_customers, max_share) for n in out["customers"]
    ]
    out = out.reset_index()
    out["segment"] = out["segment"].astype(str)
    return out


def _warning(n: int, share: float, min_customers: int, max_share: float) -> str:
    if n == 0:
        return "empty"
    if n < min_customers:
        return f"too small to act on ({n} < {min_customers} customers)"
    if share > max_share:
        return f"too large to be personal ({share:.0%} > {max_share:.0%} of customers); split it"
    return ""
