"""Read a filled fielding tracker back: completion per stratum, response rates, reserves to release.

The tracker is the sample's ``analysis.xlsx`` (or ``.csv``) with the fielding columns filled
in by the interviewers. A case is *released* when it is in the main sample, or when a reserve
has any attempt, disposition or interviewer recorded. A released case without a disposition
is *open*.

Arithmetic per stratum (``closed`` = cases with a disposition)::

    completion     = completed / quota
    response_rate  = completed / (completed + refused + no answer)
                     (AAPOR RR1-like: ineligible and not-churned cases are out of scope)
    yield          = completed / closed       (interviews per closed case)
    to_release     = min(reserves left, max(0, quota - completed - open))
    quota_reachable = completed + open + reserves left >= quota

``to_release`` follows the replacement rule of :func:`churnkit.draw_interview_sample`: every
case closed without an interview frees a slot for the next reserve by rank, so that as many
cases are open as interviews are still needed. ``projected_completes`` = completed + open ×
yield, where the yield is the stratum's own once it has ``min_closed`` closed cases, else the
pooled yield of all strata once that has, else ``assumed_yield``.

Dispositions ``not churned`` are counted apart: they say the model was wrong about a customer
(``not_churned_share`` = not churned / (completed + not churned)) and are listed in
``SampleStatus.not_churned``.

Precision: ``expected_completes`` = min(quota, completed + (open + reserves left) × yield), the
interviews a stratum will end with if every reserve is released when needed;
:func:`churnkit.sample._precision.design_precision` turns them into the expected effective n
and interval widths of every matrix column, with warnings that say what to change. Without a
tracker (before fieldwork) every main case is open and the yield is ``assumed_yield``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import DataValidationError, MissingColumnError
from churnkit.core._outputs import atomic_folder, write_csv, write_json
from churnkit.sample._export import DISPOSITIONS
from churnkit.sample._precision import ASSUMED_YIELD, design_precision

__all__ = ["SampleStatus", "sample_status"]

PathLike = str | os.PathLike[str]

# spelling -> canonical disposition (after lower-casing, '_'/'-' to spaces, spaces collapsed)
_SPELLINGS: dict[str, str] = {
    **{d: d for d in DISPOSITIONS},
    "complete": "completed",
    "done": "completed",
    "interviewed": "completed",
    "завершено": "completed",
    "интервью": "completed",
    "состоялось": "completed",
    "refusal": "refused",
    "отказ": "refused",
    "noanswer": "no answer",
    "no contact": "no answer",
    "нет ответа": "no answer",
    "не дозвонились": "no answer",
    "не подходит": "ineligible",
    "не ушел": "not churned",
    "не ушёл": "not churned",
    "покупает": "not churned",
}


@dataclass(repr=False)
class SampleStatus:
    """Where fielding stands; see the module docstring for the arithmetic.

    Attributes
    ----------
    by_stratum : DataFrame
        One row per stratum with a quota: ``quota, released, reserves_released, completed,
        refused, no_answer, ineligible, not_churned, open, completion, response_rate,
        yield_, not_churned_share, reserves_left, to_release, quota_reachable, yield_basis,
        projected_completes, expected_completes``.
    totals : dict
        The same counts over all strata, with the pooled rates.
    release_next : DataFrame
        The reserves to release now: ``sample_id, stratum, reserve_rank``, in order.
    not_churned : DataFrame
        Cases closed as ``not churned``: ``sample_id, stratum, group, risk_band, p_churn,
        notes``.
    tracker : DataFrame
        The tracker as read: ``sample_id``, canonical ``disposition``, ``attempts``,
        ``released``.
    precision : DataFrame
        Per matrix column, the expected interviews, effective n and interval half-widths
        (:func:`churnkit.sample._precision.design_precision`).
    warnings : list of str
        Where the matrix's intervals will be wide or unreliable, and what to change.
    """

    by_stratum: pd.DataFrame
    totals: dict[str, Any]
    release_next: pd.DataFrame
    not_churned: pd.DataFrame
    tracker: pd.DataFrame
    precision: pd.DataFrame
    warnings: list[str]

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"SampleStatus({t['completed']}/{t['quota']} interviews, {t['open']} open, "
            f"{len(self.release_next)} reserves to release, {t['not_churned']} not churned)"
        )

    def write(self, out: PathLike) -> Path:
        """Write the tables and totals into folder ``out`` (replaced atomically)."""
        with atomic_folder(out) as tmp:
            write_csv(self.by_stratum, tmp / "status_by_stratum.csv")
            write_csv(self.release_next, tmp / "release_next.csv")
            write_csv(self.not_churned, tmp / "not_churned.csv")
            write_csv(self.precision, tmp / "precision.csv")
            write_json(self.totals | {"warnings": self.warnings}, tmp / "status_totals.json")
        return Path(out)


def sample_status(
    folder: PathLike,
    tracker: PathLike | pd.DataFrame | None = None,
    *,
    assumed_yield: float = ASSUMED_YIELD,
    min_closed: int = 10,
) -> SampleStatus:
    """Compare a filled fielding tracker with the sample folder it came from; say how precise
    the matrix will be.

    Parameters
    ----------
    folder : path
        The folder :func:`churnkit.export_interview_sample` wrote (``strata.csv`` and
        ``analysis.csv`` are read).
    tracker : path or DataFrame, optional
        The filled ``analysis.xlsx`` (sheet ``sample``, else the first) or a CSV with at
        least ``sample_id`` and ``disposition``. None before fieldwork: every main case open.
    assumed_yield : float
        Interviews per closed case assumed for a stratum until ``min_closed`` cases are closed.
    min_closed : int
        Closed cases needed before an observed yield is trusted.

    Returns
    -------
    SampleStatus

    Examples
    --------
    >>> status = sample_status("out/sample", "filled.xlsx")  # doctest: +SKIP
    >>> status.release_next  # doctest: +SKIP
    """
    folder = Path(folder)
    strata = pd.read_csv(folder / "strata.csv", dtype={"stratum": str})
    design = pd.read_csv(folder / "analysis.csv", dtype={"sample_id": str, "stratum": str})
    name = "tracker" if isinstance(tracker, pd.DataFrame | None) else str(tracker)
    if tracker is None:  # before fieldwork: the analysis file as exported
        main = design.loc[~design["is_reserve"].astype(bool), ["sample_id"]]
        tracker = main.assign(disposition=None)
    filled = _read_tracker(tracker, name)
    cases = _match(design, filled, name)
    by_stratum = _by_stratum(cases, strata, assumed_yield, min_closed)
    expected = by_stratum[["stratum", "expected_completes"]]
    precision, warnings = design_precision(strata.merge(expected, on="stratum"))
    release = _release_next(cases, by_stratum)
    not_churned = cases.loc[cases["disposition"] == "not churned"]
    not_churned = not_churned[
        [
            c
            for c in ("sample_id", "stratum", "group", "risk_band", "p_churn", "notes")
            if c in cases
        ]
    ].reset_index(drop=True)
    tracker_view = cases[["sample_id", "disposition", "attempts", "released"]].reset_index(
        drop=True
    )
    return SampleStatus(
        by_stratum=by_stratum,
        totals=_totals(by_stratum, len(release)),
        release_next=release,
        not_churned=not_churned,
        tracker=tracker_view,
        precision=precision,
        warnings=warnings,
    )


def _read_tracker(source: PathLike | pd.DataFrame, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"tracker {path} does not exist")
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook

            sheets = load_workbook(path, read_only=True).sheetnames
            sheet = "sample" if "sample" in sheets else sheets[0]
            frame = pd.read_excel(path, sheet_name=sheet, dtype=object)
        else:
            frame = pd.read_csv(path, dtype=object, sep=None, engine="python", encoding="utf-8-sig")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("sample_id", "disposition") if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{name}: the tracker lacks the columns {missing} (has {list(frame.columns)}); "
            "fill in the analysis file the sample folder holds and keep its headers."
        )
    frame["sample_id"] = frame["sample_id"].astype("string").str.strip()
    dup = frame["sample_id"].duplicated() & frame["sample_id"].notna()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataValidationError(
            f"{name}, row {row + 2}: sample_id {frame['sample_id'].iloc[row]!r} appears twice; "
            "keep one row per case."
        )
    frame = frame[frame["sample_id"].notna()]
    frame["disposition"] = _dispositions(frame["disposition"], frame.index, name)
    frame["attempts"] = _attempts(frame.get("attempts"), frame, name)
    return frame


def _dispositions(values: pd.Series, index: pd.Index, name: str) -> pd.Series:
    def canonical(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
            return None
        key = re.sub(r"[\s_\-]+", " ", str(v).strip().lower())
        return _SPELLINGS.get(key, "?" + str(v))

    out = values.map(canonical)
    bad = out.fillna("").str.startswith("?")
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(
            f"{name}, row {int(index[pos]) + 2}: disposition {values.iloc[pos]!r} is not one of "
            f"{list(DISPOSITIONS)} (blank while the case is open); correct it in the tracker."
        )
    return out


def _attempts(values: pd.Series | None, frame: pd.DataFrame, name: str) -> pd.Series:
    if values is None:
        return pd.Series(0, index=frame.index, dtype="int64")
    number = pd.to_numeric(values, errors="coerce")
    bad = (number.isna() & values.notna() & (values.astype(str).str.strip() != "")) | (number < 0)
    bad |= number.notna() & (number != np.floor(number.fillna(0)))
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(
            f"{name}, row {int(frame.index[pos]) + 2}: attempts {values.iloc[pos]!r} is not a "
            "whole number >= 0; write how many contact attempts were made."
        )
    return number.fillna(0).astype("int64")


def _match(design: pd.DataFrame, filled: pd.DataFrame, name: str) -> pd.DataFrame:
    unknown = sorted(set(filled["sample_id"]) - set(design["sample_id"]))
    if unknown:
        raise DataValidationError(
            f"{name}: {len(unknown)} sample ids are not in this sample folder, e.g. "
            f"{unknown[:3]}; is the tracker from another draw?"
        )
    main = design.loc[~design["is_reserve"].astype(bool), "sample_id"]
    lost = sorted(set(main) - set(filled["sample_id"]))
    if lost:
        raise DataValidationError(
            f"{name}: {len(lost)} main-sample cases are missing from the tracker, e.g. "
            f"{lost[:3]}; restore their rows (an untouched case stays in the tracker with a "
            "blank disposition)."
        )
    extra = [c for c in ("interviewer", "notes") if c in filled.columns]
    cases = design.drop(columns=[c for c in ("attempts", "disposition", *extra) if c in design])
    cases = cases.merge(
        filled[["sample_id", "disposition", "attempts", *extra]], on="sample_id", how="left"
    )
    cases["attempts"] = cases["attempts"].fillna(0).astype("int64")
    touched = cases["disposition"].notna() | (cases["attempts"] > 0)
    if "interviewer" in cases:
        touched |= cases["interviewer"].notna() & (
            cases["interviewer"].astype(str).str.strip() != ""
        )
    cases["released"] = ~cases["is_reserve"].astype(bool) | touched
    return cases


def _by_stratum(
    cases: pd.DataFrame, strata: pd.DataFrame, assumed: float, min_closed: int
) -> pd.DataFrame:
    names = {d: d.replace(" ", "_") for d in DISPOSITIONS}
    counts = pd.crosstab(cases["stratum"], cases["disposition"]).reindex(columns=list(names))
    counts = counts.fillna(0).astype("int64").rename(columns=names)
    released = cases[cases["released"]]
    table = strata.loc[strata["quota"] > 0, ["stratum", "group", "quota"]].set_index("stratum")
    table["released"] = released.groupby("stratum").size()
    table["reserves_released"] = (
        released[released["is_reserve"].astype(bool)].groupby("stratum").size()
    )
    table = table.join(counts).fillna(0)
    count_cols = ["released", "reserves_released", *names.values()]
    table[count_cols] = table[count_cols].astype("int64")
    closed = table[list(names.values())].sum(axis=1)
    table["open"] = table["released"] - closed
    table["completion"] = table["completed"] / table["quota"]
    answered = table["completed"] + table["refused"] + table["no_answer"]
    table["response_rate"] = table["completed"] / answered.where(answered > 0)
    table["yield_"] = table["completed"] / closed.where(closed > 0)
    reached = table["completed"] + table["not_churned"]
    table["not_churned_share"] = table["not_churned"] / reached.where(reached > 0)
    unreleased = cases[~cases["released"]].groupby("stratum").size()
    table["reserves_left"] = unreleased.reindex(table.index).fillna(0).astype("int64")
    needed = (table["quota"] - table["completed"] - table["open"]).clip(lower=0)
    table["to_release"] = np.minimum(needed, table["reserves_left"]).astype("int64")
    # even if every open case and every reserve left ended in an interview
    table["quota_reachable"] = (
        table["completed"] + table["open"] + table["reserves_left"] >= table["quota"]
    )

    pooled = table["completed"].sum() / closed.sum() if closed.sum() >= min_closed else None
    own = closed >= min_closed
    table["yield_basis"] = np.where(own, "observed", "pooled" if pooled is not None else "assumed")
    used = np.where(own, table["yield_"].fillna(0), pooled if pooled is not None else assumed)
    table["projected_completes"] = table["completed"] + table["open"] * used
    reachable = table["completed"] + (table["open"] + table["reserves_left"]) * used
    table["expected_completes"] = np.minimum(table["quota"], reachable)
    return table.reset_index()


def _release_next(cases: pd.DataFrame, by_stratum: pd.DataFrame) -> pd.DataFrame:
    waiting = cases[~cases["released"]].sort_values(["stratum", "reserve_rank"])
    quota = by_stratum.set_index("stratum")["to_release"]
    rank_in = waiting.groupby("stratum").cumcount() + 1
    chosen = waiting[rank_in <= waiting["stratum"].map(quota).fillna(0)]
    out = chosen[["sample_id", "stratum", "reserve_rank"]].reset_index(drop=True)
    out["reserve_rank"] = out["reserve_rank"].astype("int64")
    return out


def _totals(table: pd.DataFrame, n_release: int) -> dict[str, Any]:
    sums = {c: int(table[c].sum()) for c in ("quota", "released", "completed", "refused")}
    sums |= {c: int(table[c].sum()) for c in ("no_answer", "ineligible", "not_churned", "open")}
    answered = sums["completed"] + sums["refused"] + sums["no_answer"]
    closed = answered + sums["ineligible"] + sums["not_churned"]
    reached = sums["completed"] + sums["not_churned"]
    return sums | {
        "completion": sums["completed"] / sums["quota"] if sums["quota"] else None,
        "response_rate": sums["completed"] / answered if answered else None,
        "yield": sums["completed"] / closed if closed else None,
        "not_churned_share": sums["not_churned"] / reached if reached else None,
        "to_release": n_release,
        "unreachable_strata": table.loc[~table["quota_reachable"], "stratum"].tolist(),
    }
