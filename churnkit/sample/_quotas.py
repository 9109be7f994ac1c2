"""Quotas of an interview sample: allocation over strata and the check that they can be met."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError, ConfigError, MissingColumnError
from churnkit.sample._frame import SEP

Quotas = int | Mapping[Any, int] | pd.DataFrame


class SampleQuotaError(ChurnkitError):
    """A quota cannot be met from the eligible frame (nothing is shrunk silently)."""


def strata_table(frame: pd.DataFrame, strata: list[str]) -> pd.DataFrame:
    """Eligible size per stratum; churner strata first, then contrast, each in name order."""
    first = frame.drop_duplicates("stratum").set_index("stratum")
    table = pd.DataFrame({"stratum": first.index.astype(str), "group": first["group"].to_numpy()})
    table["eligible"] = table["stratum"].map(frame["stratum"].value_counts()).astype("int64")
    contrast = (table["group"] == "contrast").to_numpy()
    for column in strata:
        values = first[column].astype("string").fillna("unknown").to_numpy()
        keep = ~contrast | (column == "population")
        table[column] = pd.Series(values, dtype="string").where(keep, pd.NA)
    return table.sort_values(["group", "stratum"]).reset_index(drop=True)


def allocate_quotas(
    table: pd.DataFrame,
    quotas: Quotas,
    allocation: str,
    strata: list[str],
    contrast: int | Mapping[str, int],
) -> np.ndarray:
    churn = (table["group"] == "churner").to_numpy()
    out = np.zeros(len(table), dtype="int64")
    out[churn] = _churner_quotas(table[churn], quotas, allocation, strata)
    wanted = contrast if isinstance(contrast, Mapping) else None
    for i in np.flatnonzero(~churn):
        pop = table["stratum"].iloc[i].split(SEP, 1)[1]
        out[i] = int(wanted.get(pop, 0)) if wanted is not None else int(contrast)
    if wanted is not None:
        _unknown_strata(
            {f"contrast{SEP}{p}": int(q) for p, q in wanted.items() if int(q) > 0},
            table,
            "contrast",
        )
    elif int(contrast) > 0:
        # a requested contrast group with no eligible low-risk customers is an impossible quota
        have = set(table.loc[~churn, "stratum"].str.split(SEP).str[1])
        pops = set(table.loc[churn, "population"].astype(str))
        _unknown_strata(
            {f"contrast{SEP}{p}": int(contrast) for p in sorted(pops - have)}, table, "contrast"
        )
    return out


def _churner_quotas(
    table: pd.DataFrame, quotas: Quotas, allocation: str, strata: list[str]
) -> np.ndarray:
    sizes = table["eligible"].to_numpy(dtype="int64")
    if isinstance(quotas, int | np.integer) and not isinstance(quotas, bool):
        total = int(quotas)
        if total < 0:
            raise ConfigError(f"quotas must be >= 0, got {total}.")
        if total > sizes.sum():
            raise SampleQuotaError(
                f"A total quota of {total} interviews is more than the {int(sizes.sum())} "
                "eligible predicted churners in the frame; lower the total, lower the churn "
                "threshold / raise top_share, or relax exclusions (see frame_report)."
            )
        if allocation == "equal":
            return _equal(total, sizes, table["stratum"].to_numpy())
        return _largest_remainder(total, sizes)
    wanted = _quota_mapping(quotas, strata)
    bad = {k: v for k, v in wanted.items() if not (isinstance(v, int | np.integer) and v >= 0)}
    if bad:
        raise ConfigError(f"quotas must be whole numbers >= 0, got {bad}.")
    _unknown_strata(wanted, table, "churner")
    return table["stratum"].map(lambda s: int(wanted.get(s, 0))).to_numpy(dtype="int64")


def _quota_mapping(quotas: Mapping[Any, int] | pd.DataFrame, strata: list[str]) -> dict[str, int]:
    if isinstance(quotas, pd.DataFrame):
        missing = [c for c in (*strata, "quota") if c not in quotas.columns]
        if missing:
            raise MissingColumnError(
                f"the quotas table lacks the columns {missing}; it needs the strata columns "
                f"{strata} and 'quota'."
            )
        keys = quotas[strata].astype(str).agg(SEP.join, axis=1)
        return {k: int(q) for k, q in zip(keys, quotas["quota"], strict=True)}
    if not isinstance(quotas, Mapping):
        raise ConfigError(
            f"quotas must be an int, a mapping stratum -> int or a DataFrame, got "
            f"{type(quotas).__name__}."
        )
    out = {}
    for key, value in quotas.items():
        label = SEP.join(map(str, key)) if isinstance(key, tuple) else str(key)
        out[label] = value
    return out


def _unknown_strata(wanted: dict[str, int], table: pd.DataFrame, group: str) -> None:
    known = set(table.loc[table["group"] == group, "stratum"])
    unknown = {k: v for k, v in wanted.items() if k not in known and v > 0}
    if unknown:
        raise SampleQuotaError(
            f"Quotas {unknown} name strata with 0 eligible customers in the frame. Strata with "
            f"eligible customers: {sorted(known) or 'none'}. Drop or rename those quotas, "
            "lower the churn threshold, or relax exclusions (see frame_report)."
        )


def _largest_remainder(total: int, sizes: np.ndarray) -> np.ndarray:
    """Hamilton's method: floors of the exact shares, the rest to the largest remainders.

    Examples
    --------
    >>> _largest_remainder(10, np.array([50, 30, 20])).tolist()
    [5, 3, 2]
    """
    if total == 0 or sizes.sum() == 0:
        return np.zeros(len(sizes), dtype="int64")
    exact = total * sizes / sizes.sum()
    base = np.floor(exact).astype("int64")
    # ties go to the earlier stratum (table order), so the split is deterministic
    extra = np.argsort(-(exact - base), kind="stable")[: total - int(base.sum())]
    base[extra] += 1
    return base


def _equal(total: int, sizes: np.ndarray, names: np.ndarray) -> np.ndarray:
    out = np.full(len(sizes), total // max(len(sizes), 1), dtype="int64")
    larger_first = np.lexsort((names, -sizes))
    out[larger_first[: total - int(out.sum())]] += 1
    return out


def check_quotas(table: pd.DataFrame, threshold: float | None, top_share: float | None) -> None:
    over = table[table["quota"] > table["eligible"]]
    if over.empty:
        return
    lines = "; ".join(
        f"stratum {r.stratum!r}: quota {r.quota}, eligible {r.eligible}" for r in over.itertuples()
    )
    rule = f"threshold {threshold}" if threshold is not None else f"top_share {top_share}"
    raise SampleQuotaError(
        f"Quota larger than the eligible frame — {lines}. Nothing is shrunk silently: lower "
        "these quotas to at most the eligible count, use allocation='proportional', merge "
        f"strata (fewer strata columns), widen the frame (now {rule}), or relax exclusions "
        "(see frame_report)."
    )
