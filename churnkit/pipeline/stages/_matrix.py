"""The matrix stage: final codes, the interview sample and the scores into the retention matrix.

Who counts: the predicted churners (``p_churn >= threshold``) of ``segments`` among the scores,
and, with ``churned_only`` (the default), shares among the interviewees who have left. An
interviewee whose primary code is ``not_churned`` still buys: that is evidence about the
model, not a reason to leave, so the shares are estimated for the domain of those who left
(their count per stratum, and the value at risk of those who still buy, are in the notes); the
money of a reason is the same either way. The command line and ``churnkit run`` both default
to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from churnkit.core._outputs import atomic_folder, write_csv, write_json, write_manifest, write_svg
from churnkit.pipeline.stages._folders import scores_in_segments

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.coding._codebook import Codebook
    from churnkit.matrix._matrix import RetentionMatrix
    from churnkit.pipeline.stages._folders import PathLike

__all__ = ["build_matrix", "matrix_stage"]


def build_matrix(
    codes: pd.DataFrame,
    sample: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    frame: pd.DataFrame | None = None,
    codebook: Codebook | PathLike | None = None,
    level: str = "theme",
    threshold: float | None = None,
    segments: Sequence[str] | None = None,
    churned_only: bool = True,
) -> RetentionMatrix:
    """The retention matrix of the stage's settings (see the module notes on who counts)."""
    from churnkit.coding._codebook import Codebook, load_codebook
    from churnkit.matrix._matrix import RetentionMatrix

    return RetentionMatrix.from_codes(
        codes,
        sample,
        scores_in_segments(scores, segments),
        frame=frame,
        codebook=codebook if isinstance(codebook, Codebook) else load_codebook(codebook),
        level=level,
        threshold=threshold,
        churned_only=churned_only,
    )


def matrix_stage(
    codes: pd.DataFrame,
    sample: pd.DataFrame,
    scores: pd.DataFrame,
    out: PathLike,
    *,
    frame: pd.DataFrame | None = None,
    codebook: Codebook | PathLike | None = None,
    level: str = "theme",
    threshold: float | None = None,
    segments: Sequence[str] | None = None,
    churned_only: bool = True,
    inputs: Mapping[str, Any] | None = None,
) -> RetentionMatrix:
    """Build the retention matrix and write it into ``out``.

    Writes ``matrix.xlsx``, ``cells.csv``, ``summary.csv`` (the obvious-vs-fixable split),
    ``low_hanging_fruit.csv``, ``matrix.svg`` (the heatmap), ``headline.json`` (the 80/20
    sentence and the notes: what was left out or assumed) and ``manifest.json``, whose config
    holds every setting, so the report rebuilds the same matrix.

    Parameters
    ----------
    codes, sample, scores, frame
        As for :meth:`churnkit.RetentionMatrix.from_codes`; ``frame`` defaults to what the
        sample implies.
    out : path
        The output folder, replaced atomically.
    codebook : Codebook or path, optional
        The default codebook if omitted.
    level : {"theme", "code"}
        Rows: themes or codes.
    threshold : float, optional
        Predicted churner: ``p_churn >= threshold`` (every scored customer when None).
    segments : sequence of str, optional
        Count the predicted churners of these lifecycle segments only (all when None).
    churned_only : bool
        Shares among the interviewees who have left (see the module notes).
    inputs : mapping, optional
        Name -> path of the inputs the manifest records.
    """
    settings = {
        "level": level,
        "threshold": threshold,
        "segments": None if segments is None else list(segments),
        "churned_only": churned_only,
    }
    matrix = build_matrix(codes, sample, scores, frame=frame, codebook=codebook, **settings)
    with atomic_folder(out) as tmp:
        matrix.to_excel(tmp / "matrix.xlsx")
        write_csv(matrix.cells, tmp / "cells.csv")
        write_csv(matrix.summary(), tmp / "summary.csv")
        write_csv(matrix.low_hanging_fruit(), tmp / "low_hanging_fruit.csv")
        _write_heatmap(matrix, tmp / "matrix.svg")
        write_json({"headline": matrix.headline(), "notes": matrix.notes}, tmp / "headline.json")
        write_manifest(tmp, stage="matrix", inputs=dict(inputs or {}), config=settings)
    return matrix


def _write_heatmap(matrix: RetentionMatrix, path: Any) -> None:
    """The share of primary reasons by code and segment, as SVG (a bare Figure: no pyplot)."""
    from matplotlib.figure import Figure

    n_rows = matrix.cells["code"].nunique()
    figure = Figure(figsize=(2 + 1.4 * len(matrix.segments), 1 + 0.4 * n_rows))
    matrix.plot(ax=figure.subplots())
    write_svg(figure, path, bbox_inches="tight")
