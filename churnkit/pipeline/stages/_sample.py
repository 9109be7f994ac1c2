"""The sample stage: draw the interview sample from the scores and export it for fielding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog
    from churnkit.pipeline.stages._folders import PathLike
    from churnkit.sample._design import SampleDesign
    from churnkit.sample._draw import InterviewSample

__all__ = ["sample_stage"]


def sample_stage(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    out: PathLike,
    *,
    design: SampleDesign,
    seed: int = 0,
    log: TransactionLog | None = None,
    do_not_contact: pd.DataFrame | PathLike | None = None,
    contact_history: pd.DataFrame | PathLike | None = None,
    as_of: Any = None,
    id_key: str | None = None,
    languages: Sequence[str] = ("ru", "en"),
    inputs: Mapping[str, Any] | None = None,
) -> InterviewSample:
    """Draw a sample with :func:`churnkit.draw_interview_sample` and export it into ``out``.

    ``out`` gets the analysis file, contacts, key, strata, frame report, interview guides in
    ``languages`` and a manifest (:func:`churnkit.export_interview_sample`); ``inputs`` names
    the files the manifest records.

    Examples
    --------
    >>> sample_stage(scores, log.customers, "out/sample", design=SampleDesign(quotas=300))  # doctest: +SKIP
    """
    from churnkit.sample._draw import draw_interview_sample
    from churnkit.sample._export import export_interview_sample

    draw = draw_interview_sample(
        scores,
        customers,
        design=design,
        do_not_contact=do_not_contact,
        contact_history=contact_history,
        as_of=as_of,
        log=log,
        seed=seed,
        id_key=id_key,
    )
    export_interview_sample(draw, out, inputs=inputs, languages=languages)
    return draw
