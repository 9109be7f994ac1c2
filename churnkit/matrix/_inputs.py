"""The retention matrix's inputs: checked, linked, and turned into one sampling design per segment.

See :mod:`churnkit.matrix._matrix` for what each input must hold and how they link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnkit.coding._codebook import Codebook
from churnkit.coding._reliability import as_bool
from churnkit.core._errors import DataValidationError, MissingColumnError

TOTAL = "total"
KEYS = ("sample_id", "answer_id", "customer_id")
_POPULATION_ORDER = ("loyal", "first_time")
_SAMPLE_COLUMNS = ("sample_id", "stratum", "population", "weight")
_SCORE_COLUMNS = ("customer_id", "population", "p_churn", "value_at_risk")


@dataclass
class Design:
    """Respondents of one segment and their strata: what every share of that segment needs."""

    rows: np.ndarray  # positions of the segment's respondents in the respondent table
    stratum: np.ndarray  # each respondent's stratum index, 0..S-1
    weight: np.ndarray  # W_s, sums to 1
    size: np.ndarray  # N_s
    money_weight: np.ndarray  # W_s × value at risk share, sums to 1
    value_at_risk: float


def require(frame: Any, name: str, columns: Sequence[str]) -> None:
    """Raise unless ``frame`` is a DataFrame with ``columns``; the message names the input."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{name} lacks the column(s) {missing}; it needs {list(columns)} "
            f"(has {list(frame.columns)})"
        )


def churner_sample(sample: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The sample's predicted churners (contrast rows counted and left out), with numeric weights."""
    require(sample, "sample", _SAMPLE_COLUMNS)
    notes: dict[str, Any] = {}
    if "group" in sample.columns:
        contrast = sample["group"] != "churner"
        notes["left_out_contrast_rows"] = int(contrast.sum())
        sample = sample[~contrast]
    dup = sample["sample_id"][sample["sample_id"].duplicated()]
    if len(dup):
        raise DataValidationError(f"sample: sample_id repeats: {dup.unique()[:10].tolist()}")
    pops = sample.groupby("stratum")["population"].nunique()
    if (pops > 1).any():
        raise DataValidationError(
            f"sample: strata {pops[pops > 1].index.tolist()[:10]} span several populations; "
            "a stratum must lie inside one population (stratify by population first)"
        )
    weight = pd.to_numeric(sample["weight"], errors="coerce")
    bad = ~(weight > 0)
    if bad.any():
        raise DataValidationError(
            f"sample: weight must be a positive number (N_stratum / n_stratum); sample_id "
            f"{sample.loc[bad, 'sample_id'].tolist()[:10]} have {sample.loc[bad, 'weight'].tolist()[:10]}"
        )
    return sample.assign(weight=weight), notes


def link_key(codes: pd.DataFrame, sample: pd.DataFrame) -> str:
    """The first of :data:`KEYS` that both tables have; it must identify one sample row."""
    require(codes, "final_codes", ("code", "is_primary"))
    for key in KEYS:
        if key in codes.columns and key in sample.columns:
            dup = sample[key][sample[key].duplicated()]
            if len(dup):
                raise DataValidationError(
                    f"sample: {key} links codes to the sample but repeats: "
                    f"{dup.unique()[:10].tolist()}; give every sampled case its own {key}"
                )
            return key
    raise MissingColumnError(
        f"final_codes and sample share no interview key; give both a 'sample_id' (or "
        f"'answer_id', or 'customer_id') column. final_codes has {list(codes.columns)}, sample "
        f"has {list(sample.columns)}"
    )


def check_codes(
    codes: pd.DataFrame, sample: pd.DataFrame, key: str, book: Codebook, level: str
) -> pd.DataFrame:
    """Codes known to the codebook, of sampled interviews, one primary each; one row per
    (interview, matrix row) with the matrix row (theme or code) in ``row``."""
    codes = codes[[key, "code", "is_primary"]].copy()
    unknown = sorted(set(codes["code"].dropna()) - set(book.ids), key=str)
    if unknown or codes["code"].isna().any():
        raise DataValidationError(
            f"final_codes: codes {unknown[:10] or '[empty]'} are not in codebook {book.name!r}; "
            "fix them or pass the codebook they come from"
        )
    stray = sorted(set(codes[key]) - set(sample[key]), key=str)
    if stray:
        raise DataValidationError(
            f"final_codes: {key} {stray[:10]} are not interviews of the sample (or belong to "
            "its contrast group); check that codes and sample come from the same study"
        )
    codes["is_primary"] = as_bool(codes["is_primary"], "final_codes", "is_primary")
    n_primary = codes.groupby(key)["is_primary"].sum()
    bad = n_primary[n_primary != 1]
    if len(bad):
        raise DataValidationError(
            f"final_codes: every interview needs exactly one primary code; {key} "
            f"{bad.index.tolist()[:10]} have {bad.astype(int).tolist()[:10]}. Decide the primary "
            "reason in the reconcile step"
        )
    codes["row"] = codes["code"].map(book.theme_of) if level == "theme" else codes["code"]
    # a theme mentioned twice (price.went_up + price.competitor_cheaper) is one mention; the
    # primary row wins so that its flag survives
    codes = codes.sort_values("is_primary", ascending=False, kind="stable")
    return codes.drop_duplicates([key, "row"]).reset_index(drop=True)


def frame_sizes(
    frame: pd.DataFrame | None, sample: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Stratum, population and N of every stratum in the sample; and the frame's strata that
    the sample does not cover (with their N), which the matrix cannot speak for."""
    source = frame if frame is not None else sample.attrs.get("frame")
    strata = sample.groupby("stratum", sort=True)["population"].first()
    if source is None:
        main = sample
        if "is_reserve" in sample.columns:
            main = sample[~as_bool(sample["is_reserve"], "sample", "is_reserve")]
        grouped = main.groupby("stratum")
        sizes = grouped["weight"].first() * grouped.size()
    else:
        require(source, "frame", ("stratum",))
        size_col = "N" if "N" in source.columns else "eligible" if "eligible" in source else None
        if size_col is None:
            raise MissingColumnError(
                f"frame needs a column 'N' (or 'eligible') with the stratum sizes; it has "
                f"{list(source.columns)}"
            )
        if "group" in source.columns:
            source = source[source["group"] == "churner"]
        sizes = source.drop_duplicates("stratum").set_index("stratum")[size_col]
        sizes = pd.to_numeric(sizes, errors="coerce")
    uncovered = sizes[~sizes.index.isin(strata.index) & (sizes > 0)]
    sizes = sizes.reindex(strata.index)
    bad = ~(sizes > 0)
    if bad.any():
        raise DataValidationError(
            f"frame: strata {sizes.index[bad].tolist()[:10]} of the sample have no positive size "
            "N; the frame must list every sampled stratum with its eligible count"
        )
    table = pd.DataFrame(
        {"stratum": strata.index, "population": strata.to_numpy(), "N": sizes.to_numpy(dtype=float)}
    )
    return table, {str(k): float(v) for k, v in uncovered.items()}


def value_at_risk_of(scores: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
    """Σ value_at_risk (``value``) and the number (``n``) of predicted churners per population."""
    require(scores, "scores", _SCORE_COLUMNS)
    value = pd.to_numeric(scores["value_at_risk"], errors="coerce")
    bad = value.isna() | (value < 0)
    if bad.any():
        raise DataValidationError(
            f"scores: value_at_risk must be a non-negative number; customer_id "
            f"{scores.loc[bad, 'customer_id'].tolist()[:10]} have {scores.loc[bad, 'value_at_risk'].tolist()[:10]}"
        )
    if threshold is not None:
        keep = pd.to_numeric(scores["p_churn"], errors="coerce") >= threshold
        value = value[keep]
        scores = scores[keep]
    return value.groupby(scores["population"]).agg(value="sum", n="size")


def designs_of(
    respondents: pd.DataFrame, sizes: pd.DataFrame, churners: pd.DataFrame
) -> dict[str, Design]:
    """One design per segment: each population (loyal and first-time first), then total."""
    value = churners["value"]
    empty = sizes.loc[~sizes["stratum"].isin(set(respondents["stratum"])), "stratum"].tolist()
    if empty:
        raise DataValidationError(
            f"strata {empty[:10]} have no coded interview, so the people they stand for cannot "
            "be re-weighted; code at least one interview there, or merge the stratum with a "
            "similar one in the sample and the frame"
        )
    populations = list(dict.fromkeys(sizes["population"]))
    populations.sort(
        key=lambda p: (_POPULATION_ORDER.index(p) if p in _POPULATION_ORDER else 9, str(p))
    )
    missing = [p for p in populations if p not in value.index]
    if missing:
        raise DataValidationError(
            f"scores have no predicted churners of population(s) {missing}; the money at risk "
            f"of their reasons is unknown. Scores cover {value.index.tolist()}"
        )
    designs = {}
    for segment in [*populations, TOTAL]:
        strata = sizes if segment == TOTAL else sizes[sizes["population"] == segment]
        index = {s: i for i, s in enumerate(strata["stratum"])}
        rows = np.flatnonzero(respondents["stratum"].isin(index).to_numpy())
        n = strata["N"].to_numpy()
        pop_n = strata.groupby("population")["N"].transform("sum").to_numpy()
        pop_value = strata["population"].map(value).to_numpy(dtype=float)
        total_value = float(value[list(dict.fromkeys(strata["population"]))].sum())
        money = n / pop_n * pop_value / total_value if total_value > 0 else n / n.sum()
        designs[segment] = Design(
            rows=rows,
            stratum=respondents["stratum"].iloc[rows].map(index).to_numpy(),
            weight=n / n.sum(),
            size=n,
            money_weight=money,
            value_at_risk=total_value,
        )
    return designs
