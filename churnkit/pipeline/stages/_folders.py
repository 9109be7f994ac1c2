"""Reading what one stage wrote, for the next: scores, the interview sample, its definition.

A later stage (or ``churnkit report``) reads an earlier stage's folder through these, so the
command line and ``churnkit run`` see the same frames.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import ChurnkitError
from churnkit.core._tables import read_table

if TYPE_CHECKING:
    import pandas as pd

PathLike = str | os.PathLike[str]
# the segment figures at the report's sizes, drawn by the segments stage
REPORT_FIGURES = "report_figures"


def read_json(path: Path) -> Any:
    """A JSON file a stage wrote."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_scores(path: PathLike) -> pd.DataFrame:
    """Scores from a score folder (``scores.parquet`` or ``scores.csv``) or a CSV/Parquet file.

    ``customer_id`` is text and ``scored_at`` a date; the customers the model left out
    (``score_summary.json`` beside the scores) are in ``attrs["excluded"]``.
    """
    path = Path(path)
    if path.is_dir():
        # a score folder; any other folder is read as a Parquet dataset
        found = [p for p in (path / "scores.parquet", path / "scores.csv") if p.is_file()]
        path = found[0] if found else path
    scores = read_table(path, "scores", dates=("scored_at",))
    summary = path.parent / "score_summary.json"
    if summary.is_file():
        scores.attrs["excluded"] = read_json(summary).get("customers_excluded", {})
    return scores


def scores_in_segments(scores: pd.DataFrame, segments: Sequence[str] | None) -> pd.DataFrame:
    """The scores of customers in ``segments`` (all when None); how many are left out, and
    from which segments, is in ``attrs["other_segments"]`` and ``attrs["left_out_segments"]``."""
    if segments is None:
        return scores
    if "segment" not in scores.columns:
        raise ChurnkitError(
            f"the scores have no segment column to keep the segments {list(segments)}; score "
            "with churnkit score (it adds the segment) or leave the segments out."
        )
    keep = scores["segment"].astype(str).isin(segments)
    out = scores[keep.to_numpy()]
    left_out = sorted(set(scores.loc[~keep.to_numpy(), "segment"].astype(str)))
    out.attrs = {
        **scores.attrs,
        "other_segments": int((~keep).sum()),
        "left_out_segments": left_out,
    }
    return out


def read_sample(path: PathLike) -> pd.DataFrame:
    """The interview sample: a sample folder's ``analysis.csv`` joined to its key (customer
    ids, when ``sample_key.csv`` is there), or a sample file as it is."""
    path = Path(path)
    if not path.is_dir():
        return read_table(path, "sample")
    analysis = path / "analysis.csv"
    if not analysis.is_file():
        raise ChurnkitError(
            f"{path} has no analysis.csv; pass the folder `churnkit sample` wrote or the "
            "sample file itself."
        )
    sample = read_table(analysis, "sample")
    if (path / "sample_key.csv").is_file():
        key = read_table(path / "sample_key.csv", "sample key")
        sample = sample.merge(key, on="sample_id", how="left", validate="one_to_one")
    return sample


def sample_strata(path: PathLike) -> Path | None:
    """A sample folder's ``strata.csv`` (the frame's stratum sizes), if there is one."""
    strata = Path(path) / "strata.csv"
    return strata if strata.is_file() else None


def sample_definition(path: PathLike) -> dict[str, Any]:
    """Who a sample folder counts as a predicted churner: its ``threshold`` and ``segments``
    (from its manifest); empty for a sample file or a folder without a manifest."""
    manifest = Path(path) / "manifest.json"
    if not manifest.is_file():
        return {}
    config = read_json(manifest).get("config", {})
    return {k: config[k] for k in ("threshold", "segments") if k in config}


def churner_definition(
    sample: PathLike, threshold: float | None = None, segments: Sequence[str] | None = None
) -> tuple[float | None, list[str] | None]:
    """The threshold and segments that make a predicted churner: as given, else the sample
    folder's own (so the matrix and the report count churners the way the sample did)."""
    defined = sample_definition(sample)
    return (
        threshold if threshold is not None else defined.get("threshold"),
        list(segments) if segments is not None else defined.get("segments"),
    )
