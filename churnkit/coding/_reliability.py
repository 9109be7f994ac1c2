"""Inter-coder reliability of interview coding (Krippendorff's α, Cohen's κ) and reconciliation.

Input is the long table coders produce: one row per (coder, answer, code). A coder who coded
an answer has a 0/1 value for every code on it; a coder who did not code the answer is
*missing* there, not "absent" (Krippendorff's α handles missing values; percent agreement and
κ use only the answers that the coders share).

α is computed here from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
Alpha-Reliability", Departmental Papers (ASC) 43, University of Pennsylvania), so it works for
any number of coders; the tests check it against the ``krippendorff`` package and κ against
scikit-learn's ``cohen_kappa_score``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import DataValidationError, MissingColumnError

#: Krippendorff's lowest conceivable limit for tentative conclusions
ALPHA_THRESHOLD = 0.667
PRIMARY_ROW = "(primary)"
_LEVELS = ("code", "theme")


def krippendorff_alpha(data: Any) -> float:
    """Krippendorff's α for nominal data, from a coders × units table with missing values.

    Parameters
    ----------
    data : array-like or DataFrame
        One row per coder, one column per unit (the layout of Krippendorff's reliability data
        matrix and of the ``krippendorff`` package). Values are any hashable labels; ``None``
        and NaN are missing.

    Returns
    -------
    float
        α in [-1, 1] (1 = perfect agreement, 0 = chance); NaN when fewer than two pairable
        values exist or every pairable value is the same (no variation: α is undefined).

    Examples
    --------
    Krippendorff (2011), p. 3: four observers, twelve units, missing data; nominal α = 0.743.

    >>> nan = None
    >>> data = [
    ...     [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...     [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ... ]
    >>> round(krippendorff_alpha(data), 3)
    0.743
    """
    table = pd.DataFrame(data)
    # one column per unit; factorize labels to 0..V-1 with -1 for missing
    codes, _ = pd.factorize(table.to_numpy(dtype=object).ravel(), use_na_sentinel=True)
    codes = codes.reshape(table.shape)
    n_values = codes.max() + 1
    if n_values < 1:
        return float("nan")
    counts = np.zeros((table.shape[1], n_values))
    for coder_codes in codes:
        present = coder_codes >= 0
        counts[np.flatnonzero(present), coder_codes[present]] += 1
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m = counts[pairable], m[pairable]
    n = m.sum()
    if n < 2:
        return float("nan")
    # the coincidence matrix's margins are the value counts among pairable values; working
    # from integer counts keeps "no variation" exactly zero instead of rounding noise
    n_c = counts.sum(axis=0)
    if np.count_nonzero(n_c) < 2:
        return float("nan")
    observed = ((m * m - (counts**2).sum(axis=1)) / (m - 1)).sum()
    expected = (n * n - (n_c**2).sum()) / (n - 1)
    return float(1.0 - observed / expected)


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's κ of two coders' labels for the same units (no missing values).

    Returns NaN when chance agreement is 1 (both coders used one and the same label), where
    κ is undefined.

    Examples
    --------
    >>> cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"])
    0.5
    """
    a_arr, b_arr = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a_arr.shape != b_arr.shape or a_arr.ndim != 1:
        raise DataValidationError(
            f"cohen_kappa needs two equally long 1-d sequences, got shapes {a_arr.shape} and {b_arr.shape}"
        )
    if len(a_arr) == 0:
        return float("nan")
    labels, inverse = np.unique(np.concatenate([a_arr, b_arr]).astype(str), return_inverse=True)
    ia, ib = inverse[: len(a_arr)], inverse[len(a_arr) :]
    p_observed = float(np.mean(ia == ib))
    pa = np.bincount(ia, minlength=len(labels)) / len(ia)
    pb = np.bincount(ib, minlength=len(labels)) / len(ib)
    p_chance = float(pa @ pb)
    if p_chance >= 1.0:
        return float("nan")
    return (p_observed - p_chance) / (1.0 - p_chance)


def as_bool(values: pd.Series, table: str, column: str) -> np.ndarray:
    """A True/False column that may have come from a text file ("True", "false", 1, 0, empty).

    Empty means False (a coder who left the primary box blank); anything else is an error
    naming the table, the column and the values, because ``bool("False")`` is True.
    """
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.to_numpy(dtype=bool)
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    true, false = text.isin(["true", "1", "1.0", "yes"]), text.isin(["false", "0", "0.0", "no", ""])
    bad = ~(true | false)
    if bad.any():
        raise DataValidationError(
            f"{table}: column {column!r} must be True or False; rows "
            f"{values.index[bad].tolist()[:10]} have {values[bad].tolist()[:10]}"
        )
    return true.to_numpy()


def _prepare(
    codes: pd.DataFrame,
    coder_col: str,
    unit_col: str,
    code_col: str,
    primary_col: str | None,
    level: str,
) -> pd.DataFrame:
    if not isinstance(codes, pd.DataFrame):
        raise DataValidationError(f"codes must be a pandas DataFrame, got {type(codes).__name__}")
    for col in (coder_col, unit_col, code_col, primary_col):
        if col is not None and col not in codes.columns:
            hint = (
                " (pass primary_col=None if the coders marked no primary code)"
                if col == primary_col
                else ""
            )
            raise MissingColumnError(
                f"codes have no column {col!r}; columns are {list(codes.columns)}{hint}"
            )
    if level not in _LEVELS:
        raise DataValidationError(f"level must be one of {_LEVELS}, got {level!r}")
    for col in (coder_col, unit_col):
        missing = codes[col].isna()
        if missing.any():
            raise DataValidationError(
                f"column {col!r} is empty in rows {codes.index[missing].tolist()[:10]}; every row needs a coder and an answer id"
            )
    out = pd.DataFrame(
        {"coder": codes[coder_col], "unit": codes[unit_col], "code": codes[code_col]}
    )
    if level == "theme":
        out["code"] = out["code"].map(lambda c: c.split(".")[0] if isinstance(c, str) else c)
    out["primary"] = (
        as_bool(codes[primary_col], "codes", primary_col) if primary_col is not None else False
    )
    if primary_col is not None:
        n_primary = out.groupby(["coder", "unit"], sort=False)["primary"].sum()
        bad = n_primary[n_primary != 1]
        if len(bad):
            examples = [
                f"coder {c!r} on answer {u!r} ({int(k)} primary)"
                for (c, u), k in bad.head(5).items()
            ]
            raise DataValidationError(
                f"each coder must mark exactly one primary code per answer in {primary_col!r}: "
                + "; ".join(examples)
            )
    return out


def _presence(prepared: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coders × units 'coded' mask and a (coder, unit, code) presence table."""
    coded = pd.crosstab(prepared["coder"], prepared["unit"]) > 0
    present = prepared.dropna(subset=["code"]).drop_duplicates(["coder", "unit", "code"])
    return coded, present


def reliability(
    codes: pd.DataFrame,
    coder_col: str = "coder",
    unit_col: str = "answer_id",
    code_col: str = "code",
    primary_col: str | None = "is_primary",
    level: str = "code",
) -> pd.DataFrame:
    """Agreement between coders, per code and for the primary code.

    For every code, each coder's coding of each answer is a 0/1 presence value (missing if the
    coder did not code that answer). Rows with an empty code mark an answer that a coder read
    and gave no code.

    Parameters
    ----------
    codes : pandas.DataFrame
        One row per (coder, answer, code), e.g. stacked coding sheets.
    coder_col, unit_col, code_col : str
        Column names of the coder, the answer id and the code.
    primary_col : str or None
        Boolean column marking each coder's one primary code per answer; adds an overall
        ``(primary)`` row (nominal α over all codes). None: no primary row.
    level : {"code", "theme"}
        Compare codes as given, or collapse sub-codes to their theme (``price.went_up`` ->
        ``price``) first.

    Returns
    -------
    pandas.DataFrame
        One row per code, then ``(primary)``: ``alpha`` (Krippendorff, nominal),
        ``percent_agreement`` (share of answers coded by 2+ coders on which all agree),
        ``kappa`` (Cohen, only with exactly two coders, on the answers both coded),
        ``n_units`` (answers coded by 2+ coders), ``n_coders``, ``n_present`` (coder-answer
        pairs with the code) and ``flag`` (True when α < 0.667 or undefined).

    Examples
    --------
    >>> import pandas as pd
    >>> sheet = pd.DataFrame({
    ...     "coder": ["A", "A", "B", "B", "A", "B"],
    ...     "answer_id": ["a1", "a2", "a1", "a2", "a3", "a3"],
    ...     "code": ["price", "delivery", "price", "price", "trust", "trust"],
    ...     "is_primary": [True] * 6,
    ... })
    >>> reliability(sheet)[["code", "percent_agreement", "flag"]]
            code  percent_agreement   flag
    0   delivery           0.666667   True
    1      price           0.666667   True
    2      trust           1.000000  False
    3  (primary)           0.666667   True
    """
    prepared = _prepare(codes, coder_col, unit_col, code_col, primary_col, level)
    coded, present = _presence(prepared)
    coders = list(coded.index)
    rows = []
    for code, group in present.groupby("code", sort=True):
        values = coded.astype(float).where(coded)
        hits = pd.crosstab(group["coder"], group["unit"]).reindex(
            index=coded.index, columns=coded.columns, fill_value=0
        )
        values = values.where(~coded, (hits > 0).astype(float))
        rows.append({"code": code, **_agreement(values, coders), "n_present": len(group)})
    if primary_col is not None:
        primary = prepared[prepared["primary"]].pivot(index="coder", columns="unit", values="code")
        primary = primary.reindex(index=coded.index, columns=coded.columns)
        rows.append(
            {
                "code": PRIMARY_ROW,
                **_agreement(primary, coders),
                "n_present": int(primary.notna().sum().sum()),
            }
        )
    out = pd.DataFrame(
        rows,
        columns=["code", "alpha", "percent_agreement", "kappa", "n_units", "n_coders", "n_present"],
    )
    out["flag"] = ~(out["alpha"] >= ALPHA_THRESHOLD)
    return out


def _agreement(values: pd.DataFrame, coders: list[Any]) -> dict[str, Any]:
    """α, percent agreement and (for two coders) κ of a coders × units table with NaN = missing."""
    observed = values.notna()
    shared = observed.sum(axis=0) >= 2
    pairable = values.loc[:, shared]
    n_units = int(shared.sum())
    if n_units:
        agree = pairable.apply(lambda col: col.dropna().nunique() == 1, axis=0)
        percent = float(agree.mean())
    else:
        percent = float("nan")
    kappa = float("nan")
    if len(coders) == 2 and n_units:
        kappa = cohen_kappa(pairable.iloc[0].tolist(), pairable.iloc[1].tolist())
    return {
        "alpha": krippendorff_alpha(values.to_numpy(dtype=object)),
        "percent_agreement": percent,
        "kappa": kappa,
        "n_units": n_units,
        "n_coders": len(coders),
    }


def reconcile(
    codes: pd.DataFrame,
    coder_col: str = "coder",
    unit_col: str = "answer_id",
    code_col: str = "code",
    primary_col: str | None = "is_primary",
    level: str = "code",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the codes all coders agree on; list every disagreement for a decision.

    Parameters
    ----------
    codes : pandas.DataFrame
        One row per (coder, answer, code), as for :func:`reliability`.
    coder_col, unit_col, code_col, primary_col, level
        As for :func:`reliability`.

    Returns
    -------
    final : pandas.DataFrame
        ``unit_col, code, is_primary, n_coders``: codes that every coder of the answer gave
        (``is_primary`` when they also agree it is the primary one). An answer coded by one
        coder keeps that coder's codes (``n_coders`` = 1 shows it).
    disagreements : pandas.DataFrame
        ``unit_col, kind, code, with_code, without_code, decision``: for ``kind == "code"``
        the coders who gave and did not give the code; for ``kind == "primary"`` each coder's
        primary code in ``with_code``. ``decision`` is empty, for the researcher to fill in.

    Examples
    --------
    >>> import pandas as pd
    >>> sheet = pd.DataFrame({
    ...     "coder": ["A", "A", "B"],
    ...     "answer_id": ["a1", "a1", "a1"],
    ...     "code": ["price", "delivery", "price"],
    ...     "is_primary": [True, False, True],
    ... })
    >>> final, todo = reconcile(sheet)
    >>> final[["answer_id", "code", "is_primary"]]
      answer_id   code  is_primary
    0        a1  price        True
    >>> todo[["answer_id", "kind", "code", "with_code", "without_code"]]
      answer_id  kind      code with_code without_code
    0        a1  code  delivery         A            B
    """
    prepared = _prepare(codes, coder_col, unit_col, code_col, primary_col, level)
    coded, present = _presence(prepared)
    coders_of = {unit: [c for c in coded.index if coded.at[c, unit]] for unit in coded.columns}
    primary_of = (
        prepared[prepared["primary"]].set_index(["unit", "coder"])["code"].to_dict()
        if primary_col is not None
        else {}
    )
    final, todo = [], []
    for (unit, code), group in present.groupby(["unit", "code"], sort=True):
        with_code = list(dict.fromkeys(group["coder"]))
        without = [c for c in coders_of[unit] if c not in with_code]
        if without:
            todo.append((unit, "code", code, _join(with_code), _join(without), ""))
        else:
            primaries = {primary_of.get((unit, c)) for c in with_code}
            final.append((unit, code, primaries == {code}, len(with_code)))
    if primary_col is not None:
        for unit, coders in coders_of.items():
            chosen = {c: primary_of[(unit, c)] for c in coders}
            if len(set(chosen.values())) > 1:
                detail = "; ".join(f"{c}: {p}" for c, p in chosen.items())
                todo.append(
                    (unit, "primary", _join(dict.fromkeys(chosen.values())), detail, "", "")
                )
    final_df = pd.DataFrame(final, columns=[unit_col, "code", "is_primary", "n_coders"])
    todo_df = pd.DataFrame(
        todo, columns=[unit_col, "kind", "code", "with_code", "without_code", "decision"]
    )
    return final_df, todo_df


def _join(values: Any) -> str:
    return ";".join(str(v) for v in values)
