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
from churnkit.matrix._survey_stats import Design, respondent_weights

TOTAL = "total"
KEYS = ("sample_id", "answer_id", "customer_id")
_POPULATION_ORDER = ("loyal", "first_time")
_SAMPLE_COLUMNS = ("sample_id", "stratum", "population", "weight")
_SCORE_COLUMNS = ("customer_id", "population", "p_churn", "value_at_risk")


@dataclass
class SegmentDesign:
    """Respondents of one segment and what re-weights them: what every figure of it needs."""

    rows: np.ndarray  # positions of the segment's respondents in the respondent table
    design: Design  # their strata, weights N_s / r_s and populations (ratio groups)
    value: np.ndarray  # each respondent's value at risk
    value_at_risk: np.ndarray  # V_g: value at risk of the predicted churners per population


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


def respondent_values(
    respondents: pd.DataFrame, scores: pd.DataFrame, churners: pd.DataFrame
) -> tuple[np.ndarray, str]:
    """Each respondent's value at risk, and where it came from.

    The sample's ``value_at_risk`` (carried by :func:`churnkit.draw_interview_sample`); else
    the scores' by ``customer_id`` (a sample folder's ``analysis.csv`` joined to its key);
    else, or where a respondent has none (or none of a population's respondents has a value
    above 0), the mean value of their population's predicted churners (money per reason is
    then the population's value at risk × its share).
    """
    mean = (churners["value"] / churners["n"]).astype(float)
    fallback = respondents["population"].map(mean).to_numpy(dtype=float)
    if "value_at_risk" in respondents.columns:
        source, found = "sample", respondents["value_at_risk"]
    elif "customer_id" in respondents.columns:
        by_id = scores.drop_duplicates("customer_id").set_index("customer_id")["value_at_risk"]
        source, found = "scores", respondents["customer_id"].map(by_id)
    else:
        return fallback, "population mean"
    value = pd.to_numeric(found, errors="coerce").to_numpy(dtype=float)
    usable = np.isfinite(value) & (value >= 0)
    if not usable.any():
        return fallback, "population mean"
    value = np.where(usable, value, fallback)
    worthless = pd.Series(value).groupby(respondents["population"].to_numpy()).transform("sum")
    usable &= worthless.to_numpy() > 0
    if not usable.all():
        source += f" ({int((~usable).sum())} respondents: population mean)"
    return np.where(usable, value, fallback), source


def designs_of(
    respondents: pd.DataFrame, sizes: pd.DataFrame, churners: pd.DataFrame, value: np.ndarray
) -> dict[str, SegmentDesign]:
    """One design per segment: each population (loyal and first-time first), then total."""
    value_of = churners["value"]
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
    missing = [p for p in populations if p not in value_of.index]
    if missing:
        raise DataValidationError(
            f"scores have no predicted churners of population(s) {missing}; the money at risk "
            f"of their reasons is unknown. Scores cover {value_of.index.tolist()}"
        )
    designs = {}
    for segment in [*populations, TOTAL]:
        pops = populations if segment == TOTAL else [segment]
        strata = sizes[sizes["population"].isin(pops)]
        index = {s: i for i, s in enumerate(strata["stratum"])}
        rows = np.flatnonzero(respondents["stratum"].isin(index).to_numpy())
        stratum = respondents["stratum"].iloc[rows].map(index).to_numpy()
        size = strata["N"].to_numpy(dtype=float)
        group = respondents["population"].iloc[rows].map(pops.index).to_numpy()
        design = Design(stratum, size, respondent_weights(stratum, size), group)
        totals = value_of[pops].to_numpy(dtype=float)
        designs[segment] = SegmentDesign(rows, design, value[rows], totals)
    return designs
