"""The code stage: interview answers (or filled coding sheets) to final codes and saturation.

Answers are coded automatically (``codes.csv``: every suggestion with its evidence); filled
coding sheets are compared and reconciled instead (``coder_codes.csv``, ``reliability.csv``,
``disagreements.csv``). Either way the stage writes ``final_codes.csv`` (one row per answer
and code, one primary each, linked to the interview sample by ``sample_id`` when it can be)
and ``saturation.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import ChurnkitError
from churnkit.core._outputs import atomic_folder, write_csv, write_manifest

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from churnkit.coding._codebook import Codebook
    from churnkit.pipeline.stages._folders import PathLike

__all__ = ["CodeResults", "code_stage", "link_to_sample"]


@dataclass
class CodeResults:
    """What the code stage wrote: final codes, saturation and, from coding sheets, agreement."""

    final: pd.DataFrame
    saturation: pd.DataFrame | None = None
    reliability: pd.DataFrame | None = None
    disagreements: pd.DataFrame | None = None


def code_stage(
    out: PathLike,
    *,
    answers: pd.DataFrame | None = None,
    coding_sheets: Sequence[PathLike] = (),
    codebook: Codebook | PathLike | None = None,
    sample: pd.DataFrame | None = None,
    id_col: str = "answer_id",
    text_col: str = "text",
    lang_col: str | None = "lang",
    level: str = "code",
    inputs: Mapping[str, Any] | None = None,
) -> CodeResults:
    """Code the answers (or reconcile the coding sheets) and write the codes into ``out``.

    Parameters
    ----------
    out : path
        The output folder, replaced atomically.
    answers : DataFrame, optional
        ``id_col``, ``text_col`` and, when present, ``lang_col`` (ru/en per answer; without
        it both languages are tried), and ``sample_id`` or ``customer_id`` to link each answer
        to the sample. Their order is the interview order of the saturation curve.
    coding_sheets : sequence of paths
        Filled coding sheets; when given they, not the automatic coder, decide the codes.
    codebook : Codebook or path, optional
        The default codebook if omitted.
    sample : DataFrame, optional
        The interview sample (with ``customer_id``), to link answers given by customer id.
    id_col, text_col, lang_col : str
        The answers' columns: answer id, text, and language (used when present).
    level : {"code", "theme"}
        What coders must agree on to count as agreement.
    inputs : mapping, optional
        Name -> path of the inputs the manifest records.

    Returns
    -------
    CodeResults
        The final codes as written to ``final_codes.csv``, the saturation curve and, from
        coding sheets, the agreement table and the disagreements.
    """
    from churnkit.coding._codebook import Codebook, load_codebook
    from churnkit.coding._saturation import saturation_curve

    if answers is None and not coding_sheets:
        raise ChurnkitError("code: give the interview answers or filled coding sheets.")
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    with atomic_folder(out) as tmp:
        if coding_sheets:
            results = _reconciled(coding_sheets, book, level, tmp)
        else:
            results = CodeResults(_coded(answers, book, id_col, text_col, lang_col, tmp))  # type: ignore[arg-type]
        order = None if answers is None else answers[id_col].tolist()
        results.saturation = saturation_curve(results.final, order=order, id_col=id_col)
        write_csv(results.saturation, tmp / "saturation.csv")
        results.final = link_to_sample(results.final, answers, sample, id_col)
        write_csv(results.final, tmp / "final_codes.csv")
        write_manifest(
            tmp,
            stage="code",
            inputs=dict(inputs or {}),
            config={"id_col": id_col, "text_col": text_col, "lang_col": lang_col, "level": level},
        )
    return results


def _coded(
    answers: pd.DataFrame,
    book: Codebook,
    id_col: str,
    text_col: str,
    lang_col: str | None,
    folder: Path,
) -> pd.DataFrame:
    """Suggested codes of every answer (``codes.csv``); the final codes are their core."""
    from churnkit.coding._coder import code_answers

    lang = lang_col if lang_col is not None and lang_col in answers.columns else None
    codes = code_answers(answers, book, id_col=id_col, text_col=text_col, lang_col=lang)
    write_csv(codes, folder / "codes.csv")
    return codes[[id_col, "code", "is_primary"]]


def _reconciled(
    sheets: Sequence[PathLike], book: Codebook, level: str, folder: Path
) -> CodeResults:
    """The coders' codes, their agreement and the codes they agree on; disagreements listed."""
    from churnkit.coding._reliability import reconcile, reliability
    from churnkit.coding._sheet import read_coding_sheets

    coded = read_coding_sheets(list(sheets), book)
    if coded.empty:
        raise ChurnkitError(
            f"no codes in {', '.join(map(str, sheets))}: the coders' columns are empty"
        )
    agreement = reliability(coded, level=level)
    final, disagreements = reconcile(coded, level=level)
    write_csv(coded, folder / "coder_codes.csv")
    write_csv(agreement, folder / "reliability.csv")
    write_csv(disagreements, folder / "disagreements.csv")
    return CodeResults(final, reliability=agreement, disagreements=disagreements)


def link_to_sample(
    final: pd.DataFrame,
    answers: pd.DataFrame | None,
    sample: pd.DataFrame | None,
    id_col: str = "answer_id",
) -> pd.DataFrame:
    """Give each final code the ``sample_id`` of its interview, via the answers' ids.

    Answers with a ``sample_id`` give it directly; answers with a ``customer_id`` take it from
    ``sample``. Without either (and without a sample) the codes stay keyed by answer.
    """
    if answers is None or "sample_id" in final.columns:
        return final
    if "sample_id" in answers.columns:
        ids = answers[[id_col, "sample_id"]]
    elif "customer_id" in answers.columns and sample is not None:
        ids = answers[[id_col, "customer_id"]].merge(
            sample[["customer_id", "sample_id"]], on="customer_id", how="left"
        )
        missing = ids.loc[ids["sample_id"].isna(), "customer_id"].tolist()
        if missing:
            raise ChurnkitError(
                f"answers: {len(missing)} answers come from customers who are not in the "
                f"interview sample (e.g. {missing[:3]}); answer only sampled customers or add a "
                "sample_id column."
            )
    elif sample is not None:
        raise ChurnkitError(
            "answers: needs a sample_id or customer_id column to link each answer to the "
            "interview sample."
        )
    else:
        return final
    return final.merge(ids[[id_col, "sample_id"]], on=id_col, how="left")
