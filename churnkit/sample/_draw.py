"""Draw a stratified, reproducible interview sample of predicted churners.

:func:`draw_interview_sample` turns ``ChurnModel.score`` output and the customers table into
an eligible frame (predicted churners who may be contacted), quotas per stratum, a random
order within each stratum, ranked reserves and design weights.

Contract (what the export folder and the retention matrix rely on)
------------------------------------------------------------------
``InterviewSample.sample`` — one row per drawn customer, main sample first, then reserves:

=====================  =====================================================================
``sample_id``          pseudonymous id ``S`` + 12 hex digits of HMAC-SHA256(key, customer_id);
                       the key is ``id_key`` or, by default, derived from ``seed``. Never the
                       customer id; same ids, key and seed -> same sample ids.
``customer_id``        kept in memory and in ``sample_key.csv`` only, never in the analysis file
``group``              ``"churner"`` (predicted churner) or ``"contrast"`` (low-risk contrast case)
``stratum``            the stratum's values joined with ``|``, e.g. ``loyal|high``; contrast
                       strata are ``contrast|<population>``
``population``,        from the scores
``segment``,
``risk_band``
``weight``             design weight ``N_stratum / n_stratum`` (``N`` eligible, ``n`` quota);
                       a reserve carries its stratum's weight because it replaces a main case
``is_reserve``         bool
``reserve_rank``       1, 2, ... within the stratum (release order); missing for the main sample
``wave``               1 for the main sample; reserve ``r`` is in wave ``1 + ceil(r / n)``
``p_churn``, ``value_at_risk``, ``expected_revenue_12m``, ``p_churn_survival`` (when scored),
``value_band`` (terciles of value at risk among the eligible churners), ``driver_1..3``,
``model_version``, ``scored_at``, and with ``log`` the interviewer context (see
:func:`churnkit.sample._context.interviewer_context`).
=====================  =====================================================================

``InterviewSample.strata`` — one row per stratum of the eligible frame: ``stratum, group``,
the strata columns, ``eligible`` (N), ``quota`` (n), ``weight`` (N/n, NaN when n = 0: such a
stratum is not represented), ``reserves_requested``, ``reserves`` (fewer when the stratum
runs out; never hidden), ``sampling_fraction``.

``InterviewSample.frame_report`` — how the scored customers became the frame: one row per
exclusion reason in the order they are applied (``step, reason, description, excluded,
remaining``, and ``remaining_churners``: the predicted churners among those left, once
known); a customer who matches several reasons is counted under the first one, so
``scored - sum(excluded) = frame size``.

The export folder (:func:`churnkit.export_interview_sample`) holds ``strata.csv`` (the table
above: the frame's stratum sizes for re-weighting) and ``sample_key.csv`` (``sample_id,
customer_id``), kept apart from the pseudonymous analysis file.

For the retention matrix: interviews join the sample by ``sample_id`` (``analysis.csv``);
projections onto the predicted churners use the ``group == "churner"`` strata only (contrast
strata describe low-risk customers), and once fielding is done the weight of a completed
interview in stratum ``s`` is ``eligible_s / completed_s`` (the design weight adjusted for
non-response within the stratum). The frame, and so every ``eligible``, does not depend on
the seed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.core._errors import (
    ChurnkitError,
    ConfigError,
    DataValidationError,
    MissingColumnError,
)
from churnkit.sample._design import SampleDesign
from churnkit.sample._frame import eligible_frame, hash_key
from churnkit.sample._quotas import (
    Quotas,
    SampleQuotaError,
    allocate_quotas,
    check_quotas,
    strata_table,
)

if TYPE_CHECKING:
    from churnkit.io._transaction_log import TransactionLog

__all__ = ["InterviewSample", "SampleDesign", "SampleQuotaError", "draw_interview_sample"]

PathLike = str | os.PathLike[str]

SCORE_COLUMNS: tuple[str, ...] = ("customer_id", "population", "p_churn")
# score columns carried into the sample when present
CARRIED: tuple[str, ...] = (
    "segment",
    "risk_band",
    "p_churn_survival",
    "expected_days_to_next_order",
    "expected_revenue_12m",
    "value_at_risk",
    "driver_1",
    "driver_2",
    "driver_3",
    "model_version",
    "scored_at",
)
CONTACT_COLUMNS: tuple[str, ...] = ("first_name", "phone", "email", "timezone")


@dataclass(repr=False)
class InterviewSample:
    """A drawn interview sample; see the module docstring for the columns of each table.

    Attributes
    ----------
    sample : DataFrame
        Main sample and reserves, one row per customer (``customer_id`` included).
    strata : DataFrame
        Eligible size, quota, weight and reserves per stratum.
    frame_report : DataFrame
        Exclusions counted per reason.
    contacts : DataFrame
        PII for the fielding team: ``sample_id`` and the contact columns present
        (``first_name, phone, email, timezone``). Never join it to the analysis file.
    params : dict
        The parameters of the draw (for the manifest); ``id_key`` is never recorded.
    seed : int
    """

    sample: pd.DataFrame
    strata: pd.DataFrame
    frame_report: pd.DataFrame
    contacts: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    @property
    def main(self) -> pd.DataFrame:
        """The main sample (no reserves)."""
        return self.sample[~self.sample["is_reserve"]]

    @property
    def reserves(self) -> pd.DataFrame:
        """The reserve lists, in release order within each stratum."""
        return self.sample[self.sample["is_reserve"]]

    def __repr__(self) -> str:
        n_main = int((~self.sample["is_reserve"]).sum())
        frame = int(self.strata["eligible"].sum())
        return (
            f"InterviewSample({n_main:,} main cases + {len(self.sample) - n_main:,} reserves in "
            f"{int((self.strata['quota'] > 0).sum())} strata, from a frame of {frame:,}; "
            f"seed={self.seed})"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><strong>{self!r}</strong>"
            f"{self.strata.to_html(index=False)}{self.frame_report.to_html(index=False)}</div>"
        )


# -- the draw ----------------------------------------------------------------------------------
def draw_interview_sample(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    quotas: Quotas | None = None,
    *,
    design: SampleDesign | None = None,
    do_not_contact: pd.DataFrame | PathLike | None = None,
    contact_history: pd.DataFrame | PathLike | None = None,
    as_of: Any = None,
    log: TransactionLog | None = None,
    seed: int = 0,
    id_key: str | None = None,
    **settings: Any,
) -> InterviewSample:
    """Draw a stratified random sample of predicted churners, with reserves and weights.

    Steps: (1) the eligible frame — predicted churners of ``populations`` minus the
    exclusions in :data:`churnkit.sample._frame.REASONS`, each counted in ``frame_report``;
    (2) quotas per stratum; (3) a random order within each stratum from ``seed`` (a keyed
    hash of the customer id, so a customer's place does not depend on row order or on the
    other customers); the first ``n`` are the main sample, the next ``reserve_ratio × n``
    the ranked reserves.

    Replacement rule: when a main case ends without an interview (refused, no answer after
    the last attempt, ineligible, not churned), release the stratum's next reserve by
    ``reserve_rank``; never skip ranks and never move a reserve to another stratum. Drawn
    again from the same inputs and seed with a larger ``reserve_ratio``, every case keeps
    its id and rank and the new reserves follow the old ones.

    Parameters
    ----------
    scores : DataFrame
        ``ChurnModel.score`` output: ``customer_id, population, p_churn`` and, used when
        present, the columns in :data:`CARRIED`. One row per customer.
    customers : DataFrame
        The customers table (``TransactionLog.customers``): ``customer_id`` and the flags
        ``research_opt_in`` (required), ``is_test``, ``is_employee``, contacts ``phone`` /
        ``email``, and ``first_name``, ``timezone`` for the contact file.
    quotas : int, mapping or DataFrame, optional
        Interviews per stratum (see :class:`churnkit.SampleDesign`); required unless
        ``design`` gives them.
    design : SampleDesign, optional
        Every setting of the draw in one object; keywords in ``settings`` replace its values.
    do_not_contact : DataFrame or path, optional
        Any of the columns ``customer_id``, ``phone``, ``email``; a match on any excludes.
    contact_history : DataFrame or path, optional
        ``customer_id, contacted_at``: customers contacted in the ``contact_window_days``
        before ``as_of`` are excluded.
    as_of : date-like, optional
        Day of the draw for the contact window (default: the latest ``scored_at``).
    log : TransactionLog, optional
        Adds the interviewer context (last order, orders, AOV band, categories, channel and
        device, bonus status).
    seed : int
        Decides the order within strata and (without ``id_key``) the sample ids.
    id_key : str, optional
        Secret key of the sample ids. The seed is written to the manifest, so with real data
        pass a key kept apart from the analysis file: then the ids cannot be linked back to
        customers from the analysis file and manifest alone.
    **settings
        Fields of :class:`churnkit.SampleDesign` given one by one: ``strata``,
        ``allocation``, ``reserve_ratio``, ``populations``, ``segments``, ``threshold``,
        ``top_share``, ``contrast``, ``contact_window_days``, ``contact_via``.

    Returns
    -------
    InterviewSample

    Raises
    ------
    SampleQuotaError
        A quota is larger than its stratum's eligible count (or names a stratum the frame
        does not have).
    ConfigError
        A setting is unknown or out of range.

    Examples
    --------
    >>> draw = draw_interview_sample(scores, customers, quotas=300, seed=1)  # doctest: +SKIP
    >>> design = SampleDesign(quotas=300, segments=["loyal", "vip", "at_risk"])  # doctest: +SKIP
    >>> draw = draw_interview_sample(scores, customers, design=design)  # doctest: +SKIP
    >>> draw.strata[["stratum", "eligible", "quota", "weight"]]  # doctest: +SKIP
    """
    design = SampleDesign.of(design, quotas=quotas, **settings)
    score_ids = _check_table(scores, "scores", SCORE_COLUMNS)
    customer_ids = _check_table(customers, "customers", ("customer_id", "research_opt_in"))
    as_of = _resolve_as_of(scores, as_of, contact_history)
    frame, report = eligible_frame(
        scores,
        score_ids,
        customers,
        customer_ids,
        strata=design.strata,
        populations=design.populations,
        segments=design.segments,
        threshold=design.threshold,
        top_share=design.top_share,
        contrast=design.contrast,
        do_not_contact=do_not_contact,
        contact_history=contact_history,
        window=design.contact_window_days,
        contact_via=design.contact_via,
        as_of=as_of,
        rand_key=hash_key(seed),
    )
    table = _strata(frame, design)
    sample = _select(frame, table, scores)
    sample.insert(0, "sample_id", _sample_ids(sample["customer_id"], id_key, seed))
    if log is not None:
        from churnkit.sample._context import interviewer_context

        sample = sample.merge(
            interviewer_context(log, sample["customer_id"], as_of), on="customer_id", how="left"
        )
    contacts = _contacts(sample, customers)
    sample = sample.drop(columns=[c for c in sample.columns if c.startswith("_")])
    params = design.params() | {
        "as_of": None if as_of is None else str(as_of.date()),
        "id_key": "given" if id_key is not None else "derived from seed",
        "with_context": log is not None,
    }
    columns = ["stratum", "group", *design.strata, "eligible", "quota", "weight"]
    columns += ["reserves_requested", "reserves", "sampling_fraction"]
    return InterviewSample(
        sample=sample.reset_index(drop=True),
        strata=table[columns].reset_index(drop=True),
        frame_report=report,
        contacts=contacts,
        params=params,
        seed=int(seed),
    )


def _strata(frame: pd.DataFrame, design: SampleDesign) -> pd.DataFrame:
    """Eligible size, quota, reserves, weight and sampling fraction per stratum."""
    table = strata_table(frame, design.strata)
    table["quota"] = allocate_quotas(
        table, design.quotas, design.allocation, design.strata, design.contrast
    )
    check_quotas(table, design.threshold, design.top_share)
    table["reserves_requested"] = np.ceil(table["quota"] * design.reserve_ratio).astype("int64")
    table["reserves"] = np.minimum(table["reserves_requested"], table["eligible"] - table["quota"])
    table["weight"] = table["eligible"] / table["quota"].where(table["quota"] > 0)
    table["sampling_fraction"] = table["quota"] / table["eligible"]
    return table


# -- parameters and inputs --------------------------------------------------------------------
def _check_table(frame: Any, name: str, required: Sequence[str]) -> pd.Index:
    """Check the columns and the customer ids; return the ids as a text Index."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"{name} must be a DataFrame, got {type(frame).__name__}.")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{name} lacks the columns {missing} (has {list(frame.columns)}); "
            + (
                "pass the output of ChurnModel.score."
                if name == "scores"
                else "load it with churnkit.load_customers(..., columns={...}) to map yours."
            )
        )
    ids = frame["customer_id"]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise DataValidationError(f"{name}: customer_id is empty in row {row}; fill or drop it.")
    index = pd.Index(_id_text(ids))
    if not index.is_unique:  # the hash table built here also serves the later look-ups
        dup = index.duplicated()
        raise DataValidationError(
            f"{name}: customer_id must be unique, but {int(dup.sum())} repeat, e.g. "
            f"{index[dup][0]!r}; keep one row per customer."
        )
    return index


def _id_text(ids: pd.Series) -> np.ndarray:
    """Customer ids as an object array of str (ids read as numbers become text)."""
    values = ids.to_numpy(dtype=object)
    return (
        values if pd.api.types.is_string_dtype(values) else ids.astype(str).to_numpy(dtype=object)
    )


def _resolve_as_of(scores: pd.DataFrame, as_of: Any, history: Any) -> pd.Timestamp | None:
    if as_of is not None:
        return pd.Timestamp(as_of).normalize()
    if "scored_at" in scores.columns and scores["scored_at"].notna().any():
        return pd.Timestamp(pd.to_datetime(scores["scored_at"]).max()).normalize()
    if history is not None:
        raise ConfigError(
            "contact_history needs the day of the draw: pass as_of=... (scores have no "
            "scored_at column to take it from)."
        )
    return None


def _sample_ids(ids: pd.Series, id_key: str | None, seed: int) -> np.ndarray:
    key = (id_key if id_key is not None else f"churnkit.sample.id:{int(seed)}").encode()
    out = np.array(
        ["S" + hmac.new(key, str(c).encode(), hashlib.sha256).hexdigest()[:12] for c in ids],
        dtype=object,
    )
    if len(set(out)) != len(out):  # 48 bits: practically never; never silently merge two people
        raise ChurnkitError("Two sample ids collided; draw again with another seed or id_key.")
    return out


# -- selection ---------------------------------------------------------------------------------
def _select(frame: pd.DataFrame, table: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Main cases and ranked reserves per stratum, in the seeded random order."""
    info = table.set_index("stratum")
    order = np.lexsort((frame["_rand"].to_numpy(), frame["_scode"].to_numpy()))
    code = frame["_scode"].to_numpy()[order]
    start = np.r_[0, np.flatnonzero(np.diff(code)) + 1]
    position = np.arange(len(order)) - np.repeat(start, np.diff(np.r_[start, len(order)])) + 1
    label = frame["stratum"].to_numpy()[order]
    quota = pd.Series(label).map(info["quota"]).to_numpy(dtype="int64")
    reserves = pd.Series(label).map(info["reserves"]).to_numpy(dtype="int64")
    chosen = position <= quota + reserves
    out = frame.iloc[order[chosen]].reset_index(drop=True)
    position, quota = position[chosen], quota[chosen]
    is_reserve = position > quota
    rank = np.where(is_reserve, position - quota, 0)
    out["weight"] = out["stratum"].map(info["weight"]).to_numpy(dtype=float)
    out["is_reserve"] = is_reserve
    out["reserve_rank"] = pd.arrays.IntegerArray(rank.astype("int64"), ~is_reserve)
    out["wave"] = np.where(is_reserve, 1 + np.ceil(rank / np.maximum(quota, 1)), 1).astype("int64")
    carried = [c for c in CARRIED if c in scores.columns and c not in out.columns]
    rows = scores.iloc[out["_row"].to_numpy()]
    for name in carried:
        out[name] = rows[name].to_numpy()
    out["value_band"] = _value_band(frame, out, scores)
    out = out.sort_values(
        ["is_reserve", "group", "stratum", "reserve_rank", "_rand"], kind="stable"
    )
    front = ["customer_id", "group", "stratum", "population"]
    front += [c for c in ("segment", "risk_band") if c in out.columns]
    front += ["weight", "is_reserve", "reserve_rank", "wave", "p_churn"]
    front += [c for c in ("value_at_risk", "value_band") if c in out.columns]
    rest = [c for c in out.columns if c not in front]
    return out[front + rest].reset_index(drop=True)


def _value_band(frame: pd.DataFrame, out: pd.DataFrame, scores: pd.DataFrame) -> np.ndarray:
    """Terciles of value at risk among the eligible churners: low / medium / high."""
    if "value_at_risk" not in scores.columns:
        return np.full(len(out), "unknown", dtype=object)
    rows = frame.loc[frame["group"] == "churner", "_row"].to_numpy()
    churn = scores["value_at_risk"].to_numpy(dtype=float)[rows]
    churn = churn[~np.isnan(churn)]
    if not len(churn):
        return np.full(len(out), "unknown", dtype=object)
    lo, hi = np.quantile(churn, [1 / 3, 2 / 3])
    v = out["value_at_risk"].to_numpy(dtype=float)
    return np.select([np.isnan(v), v <= lo, v <= hi], ["unknown", "low", "medium"], "high")


def _contacts(sample: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in CONTACT_COLUMNS if c in customers.columns]
    out = customers[cols].iloc[sample["_crow"].to_numpy()].reset_index(drop=True)
    out.insert(0, "sample_id", sample["sample_id"].to_numpy())
    return out
