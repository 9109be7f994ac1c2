"""The eligible frame of an interview sample: who may be drawn, and why the others may not.

Exclusions are applied in the order of :data:`REASONS`, each counted; see
:func:`churnkit.draw_interview_sample` for the whole draw.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import DataValidationError, MissingColumnError

PathLike = str | os.PathLike[str]
SEP = "|"

# reason -> description; applied in this order, each customer counted under the first match
REASONS: dict[str, str] = {
    "population_not_requested": "population not among those asked for",
    "segment_not_requested": "lifecycle segment not among those asked for",
    "no_score": "p_churn missing",
    "not_predicted_churner": "not a predicted churner (and not a contrast case)",
    "not_in_customers": "missing from the customers table, so consent is unknown",
    "test_account": "test account (is_test)",
    "employee": "employee (is_employee)",
    "no_research_consent": "research_opt_in is not true (missing counts as no)",
    "do_not_contact": "on the do-not-contact list (customer id, phone or e-mail)",
    "recently_contacted": "contacted within the contact window before as_of",
    "no_usable_contact": "no valid phone or e-mail among the channels asked for",
    "duplicate_household": "shares a phone or e-mail with a customer kept in the frame",
}


def _read_table(source: pd.DataFrame | PathLike, name: str) -> pd.DataFrame:
    """A side table (do-not-contact list, contact history) from a frame, CSV or Parquet."""
    from churnkit.core._tables import read_source

    if isinstance(source, pd.DataFrame):  # an empty list is a fine list
        return source
    return read_source(source, what=name).frame


def hash_key(seed: int) -> str:
    """The 16-character key of the within-stratum order (pandas' SipHash takes 16 bytes)."""
    return hashlib.sha256(f"churnkit.sample.order:{int(seed)}".encode()).hexdigest()[:16]


def _random_keys(ids: pd.Series, key: str) -> np.ndarray:
    """Permanent random numbers: a keyed 64-bit hash of each customer id."""
    values = pd.Series(ids.astype(str).to_numpy(dtype=object))
    return pd.util.hash_pandas_object(values, index=False, hash_key=key).to_numpy()


# -- the eligible frame ------------------------------------------------------------------------
def _flag(values: pd.Series, name: str) -> np.ndarray:
    """A customers flag as bool; a blank counts as False, an unreadable value is an error."""
    from churnkit.io._parse import parse_bools

    parsed = parse_bools(values)
    if parsed.bad.any():
        bad = values[parsed.bad].iloc[0]
        raise DataValidationError(
            f"customers: column {name!r} has {int(parsed.bad.sum())} values that are not "
            f"true/false, e.g. {bad!r}; write true/false, 1/0, yes/no or да/нет (blank = no)."
        )
    return pd.array(parsed.values, dtype="boolean").fillna(False).to_numpy(dtype=bool)


def _text(values: pd.Series) -> pd.Series:
    """Text as pyarrow strings, whose string methods run vectorised."""
    return values.astype("string[pyarrow]")


def normalize_phone(phone: pd.Series) -> pd.Series:
    """Digits of a phone number, ``8XXXXXXXXXX`` read as ``7XXXXXXXXXX``; NA unless 10-15 digits.

    Examples
    --------
    >>> normalize_phone(pd.Series(["+7 (912) 345-67-89", "8 912 345 67 89", "12"])).tolist()
    ['79123456789', '79123456789', <NA>]
    """
    digits = _text(phone).str.replace(r"\D", "", regex=True)
    digits = digits.where(
        ~(digits.str.len().eq(11) & digits.str.startswith("8")), "7" + digits.str[1:]
    )
    return digits.where(digits.str.len().between(10, 15))


def normalize_email(email: pd.Series) -> pd.Series:
    """Trimmed lower-case e-mail; NA unless it looks like ``name@domain.tld``.

    Examples
    --------
    >>> normalize_email(pd.Series([" Anna@Mail.RU ", "anna@", None])).tolist()
    ['anna@mail.ru', <NA>, <NA>]
    """
    text = _text(email).str.strip().str.lower()
    return text.where(text.str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+").fillna(False))


class _Steps:
    """Applies exclusions in order to a shrinking frame and counts each one.

    The frame is held as plain arrays: filtering a dict of arrays costs one pass per column,
    whereas a DataFrame re-consolidates its blocks on every filter.
    """

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self.columns = columns
        self.rows: list[dict[str, Any]] = []
        self.scored = len(next(iter(columns.values())))

    def __len__(self) -> int:
        return len(self.columns["customer_id"])

    def __getitem__(self, name: str) -> pd.Series:
        return pd.Series(self.columns[name], copy=False)

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def add(self, **columns: Any) -> None:
        self.columns |= {k: np.asarray(v) for k, v in columns.items()}

    def exclude(self, reason: str, hit: Any) -> None:
        keep = ~np.asarray(hit, dtype=bool)
        self.columns = {k: v[keep] for k, v in self.columns.items()}
        self.rows.append(
            {
                "step": len(self.rows) + 1,
                "reason": reason,
                "description": REASONS[reason],
                "excluded": int((~keep).sum()),
                "remaining": len(self),
                "remaining_churners": (
                    int((self.columns["group"] == "churner").sum())
                    if "group" in self.columns
                    else None
                ),
            }
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns, copy=False)

    def report(self) -> pd.DataFrame:
        head = {"step": 0, "reason": "scored", "description": "rows in scores"}
        head |= {"excluded": 0, "remaining": self.scored, "remaining_churners": None}
        report = pd.DataFrame([head, *self.rows])
        report["remaining_churners"] = report["remaining_churners"].astype("Int64")
        return report


def eligible_frame(
    scores: pd.DataFrame,
    score_ids: pd.Index,
    customers: pd.DataFrame,
    customer_ids: pd.Index,
    *,
    strata: list[str],
    populations: list[str],
    segments: list[str] | None,
    threshold: float | None,
    top_share: float | None,
    contrast: int | Mapping[str, int],
    do_not_contact: Any,
    contact_history: Any,
    window: int,
    contact_via: list[str],
    as_of: pd.Timestamp | None,
    rand_key: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The eligible frame and the exclusion counts.

    The frame is narrow: ``customer_id, population, p_churn, group``, the strata columns,
    ``_row`` / ``_crow`` (positions in ``scores`` / ``customers``), normalised ``_phone`` /
    ``_email``, the random key ``_rand``, ``stratum`` and its code ``_scode``. Other
    columns are taken for the drawn rows only, which keeps a million-row draw fast.
    """
    in_scores = [c for c in strata if c in scores.columns]
    narrow = dict.fromkeys(("population", "p_churn", "risk_band", "segment", *in_scores))
    f = _Steps({"customer_id": score_ids.to_numpy()})
    f.add(**{c: scores[c].to_numpy() for c in narrow if c in scores.columns})
    f.add(_row=np.arange(len(scores)))
    f.exclude("population_not_requested", ~f["population"].isin(populations).to_numpy())
    if segments is not None and "segment" not in f:
        raise MissingColumnError(
            "segments= needs a 'segment' column in scores; score with segments or drop segments=."
        )
    wrong_segment = np.zeros(len(f), dtype=bool)
    if segments is not None:
        wrong_segment = ~f["segment"].isin(segments).to_numpy()
    f.exclude("segment_not_requested", wrong_segment)
    f.exclude("no_score", f["p_churn"].isna().to_numpy())

    churner = _churners(f, threshold, top_share)
    wanted = contrast if isinstance(contrast, Mapping) else dict.fromkeys(populations, contrast)
    asked = [p for p, n in wanted.items() if int(n) > 0]
    low = (f["risk_band"] == "low").to_numpy() if "risk_band" in f else np.zeros(len(f), bool)
    is_contrast = ~churner & low & f["population"].isin(asked).to_numpy()
    f.add(group=np.where(churner, "churner", "contrast").astype(object))
    f.exclude("not_predicted_churner", ~(churner | is_contrast))

    positions = customer_ids.get_indexer(f.columns["customer_id"])
    f.add(_crow=positions)
    f.exclude("not_in_customers", positions < 0)

    def column(name: str) -> pd.Series | None:
        if name not in customers.columns:
            return None
        return customers[name].iloc[f.columns["_crow"]].reset_index(drop=True)

    for reason, flag in (("test_account", "is_test"), ("employee", "is_employee")):
        values = column(flag)
        f.exclude(reason, _flag(values, flag) if values is not None else np.zeros(len(f), bool))
    consent = column("research_opt_in")
    assert consent is not None  # a required column (_check_table)
    f.exclude("no_research_consent", ~_flag(consent, "research_opt_in"))

    if not {"phone", "email"} & set(customers.columns):
        raise MissingColumnError(
            "customers has neither a 'phone' nor an 'email' column, so nobody can be "
            "contacted; map the contact columns in churnkit.load_customers(columns=...)."
        )
    empty = pd.Series(pd.NA, index=range(len(f)), dtype="string[pyarrow]")
    phone, email = column("phone"), column("email")
    f.add(
        _phone=(normalize_phone(phone) if phone is not None else empty).to_numpy(),
        _email=(normalize_email(email) if email is not None else empty).to_numpy(),
    )
    f.exclude("do_not_contact", _on_list(f, do_not_contact))
    f.exclude("recently_contacted", _recent(f, contact_history, as_of, window))
    usable = np.zeros(len(f), dtype=bool)
    for channel in contact_via:
        usable |= f[f"_{channel}"].notna().to_numpy()
    f.exclude("no_usable_contact", ~usable)

    # extra strata columns may come from the customers table
    for name in strata:
        if name not in f and name in customers.columns:
            f.add(**{name: column(name).to_numpy()})
    f.add(_rand=_random_keys(f["customer_id"], rand_key))
    code, label = _stratum_codes(f, strata)
    f.add(_scode=code, stratum=label)
    # phone and e-mail both identify a household, whichever channel the team will use
    f.exclude("duplicate_household", _household_duplicates(f))
    return f.frame(), f.report()


def _churners(f: Any, threshold: float | None, top_share: float | None) -> np.ndarray:
    p = f["p_churn"].to_numpy(dtype=float)
    if threshold is not None:
        return p >= threshold
    # top share within each population; ties at the cut all kept (never an arbitrary half)
    by = f["p_churn"].groupby(f["population"].astype(str).to_numpy())
    rank = by.rank(method="min", ascending=False)
    return (rank <= np.ceil(by.transform("size") * top_share)).to_numpy()


def _on_list(f: Any, source: Any) -> np.ndarray:
    hit = np.zeros(len(f), dtype=bool)
    if source is None:
        return hit
    dnc = _read_table(source, "do_not_contact")
    usable = {"customer_id", "phone", "email"} & set(dnc.columns)
    if not usable:
        raise MissingColumnError(
            f"do_not_contact needs at least one of the columns customer_id, phone, email; it "
            f"has {list(dnc.columns)}. Rename the column that identifies people."
        )
    if "customer_id" in dnc:
        hit |= f["customer_id"].isin(dnc["customer_id"].dropna().astype(str)).to_numpy()
    if "phone" in dnc:
        listed = normalize_phone(dnc["phone"]).dropna()
        hit |= f["_phone"].isin(listed).fillna(False).to_numpy(dtype=bool)
    if "email" in dnc:
        listed = normalize_email(dnc["email"]).dropna()
        hit |= f["_email"].isin(listed).fillna(False).to_numpy(dtype=bool)
    return hit


def _recent(f: pd.DataFrame, source: Any, as_of: pd.Timestamp | None, window: int) -> np.ndarray:
    if source is None:
        return np.zeros(len(f), dtype=bool)
    history = _read_table(source, "contact_history")
    missing = [c for c in ("customer_id", "contacted_at") if c not in history.columns]
    if missing:
        raise MissingColumnError(
            f"contact_history lacks the columns {missing} (has {list(history.columns)}); it "
            "needs one row per contact: customer_id, contacted_at (YYYY-MM-DD)."
        )
    from churnkit.io._parse import parse_dates

    when = parse_dates(history["contacted_at"], context="contact_history, column 'contacted_at'")
    if when.bad.any():
        row = int(np.flatnonzero(when.bad)[0])
        raise DataValidationError(
            f"contact_history row {row + 1}: contacted_at {history['contacted_at'].iloc[row]!r} "
            "is not a date; write it as YYYY-MM-DD or DD.MM.YYYY."
        )
    assert as_of is not None  # _resolve_as_of demands it with a history
    recent = history.loc[
        when.values > np.datetime64(as_of - pd.Timedelta(days=window)), "customer_id"
    ]
    return f["customer_id"].isin(recent.dropna().astype(str)).to_numpy()


def _stratum_codes(f: Any, strata: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's stratum as a code and a label (values joined by ``|``; contrast apart).

    Labels are built once per distinct combination, not per row.
    """
    missing = [c for c in strata if c not in f.columns]
    if missing:
        raise MissingColumnError(
            f"strata columns {missing} are in neither scores nor customers; choose from "
            f"{sorted(c for c in f.columns if not c.startswith('_'))}."
        )
    contrast = (f["group"] == "contrast").to_numpy()
    parts = [np.where(contrast, "contrast", "churner").astype(object)]
    for name in strata:
        values = pd.Series(f[name].to_numpy(dtype=object)).fillna("unknown").astype(str)
        if name != "population":  # a contrast stratum is one population
            values = values.where(~contrast, "")
        parts.append(values.to_numpy(dtype=object))
    if "population" not in strata:
        parts.append(np.where(contrast, f["population"].to_numpy(dtype=object), ""))
    # combine the per-column codes into one integer, then number the combinations seen
    combined = np.zeros(len(f), dtype=np.int64)
    levels = []
    for values in parts:
        part_codes, part_levels = pd.factorize(values)
        combined = combined * max(len(part_levels), 1) + part_codes
        levels.append(part_levels)
    seen, codes = np.unique(combined, return_inverse=True)
    uniques = []
    for value in seen:
        digits = []
        for part_levels in reversed(levels):
            value, digit = divmod(int(value), max(len(part_levels), 1))
            digits.append(str(part_levels[digit]))
        uniques.append(digits[::-1])
    at = 1 + strata.index("population") if "population" in strata else len(strata) + 1
    labels = np.array(
        [
            SEP.join(("contrast", u[at]))
            if u[0] == "contrast"
            else SEP.join(u[1 : 1 + len(strata)])
            for u in uniques
        ],
        dtype=object,
    )
    return codes, labels[codes]


def _household_duplicates(f: Any) -> np.ndarray:
    """Everyone but one per household (linked by a shared phone or e-mail, transitively).

    The kept member is a predicted churner if the household has one, then the one with the
    highest ``p_churn``, then the smallest random key. The frame (and so each stratum's N)
    does not depend on the seed or on row order.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(f)
    if n == 0:
        return np.zeros(0, dtype=bool)
    rows, cols, offset = [], [], n
    for column in ("_phone", "_email"):
        values = f[column]
        present = values.notna().to_numpy()
        codes, uniques = pd.factorize(values[present])
        rows.append(np.flatnonzero(present))
        cols.append(codes + offset)
        offset += len(uniques)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(offset, offset))
    _, label = connected_components(graph, directed=False)
    household = label[:n]
    order = np.lexsort(
        (
            f["_rand"].to_numpy(),
            -f["p_churn"].to_numpy(dtype=float),
            (f["group"] != "churner").to_numpy(),
            household,
        )
    )
    first = np.ones(n, dtype=bool)
    first[1:] = household[order][1:] != household[order][:-1]
    keep = np.zeros(n, dtype=bool)
    keep[order[first]] = True
    return ~keep
