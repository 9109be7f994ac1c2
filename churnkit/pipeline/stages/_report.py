"""The report stage: every earlier stage's folder into the leadership PDF.

It reads the folders laid out as ``churnkit run`` writes them (``validate/``, ``segments/``,
``backtest/``, ``fit/``, ``score/``, ``sample/``, ``code/``, ``matrix/``); a stage whose
folder is missing gets a "not run" line in the report. The retention matrix is rebuilt from
its inputs with the settings its stage recorded, so the report shows the same matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import ChurnkitError
from churnkit.core._tables import read_table
from churnkit.pipeline.stages._folders import (
    REPORT_FIGURES,
    read_json,
    read_sample,
    read_scores,
    sample_strata,
    scores_in_segments,
)

if TYPE_CHECKING:
    from churnkit.coding._codebook import Codebook
    from churnkit.pipeline.stages._folders import PathLike

__all__ = ["STAGE_FOLDERS", "report_inputs", "report_stage"]

# the folders the report reads, in pipeline order
STAGE_FOLDERS = ("validate", "segments", "backtest", "fit", "score", "sample", "code", "matrix")


def report_stage(
    folder: PathLike,
    out: PathLike,
    *,
    lang: str = "en",
    title: str | None = None,
    horizon: int = 90,
    threshold: float = 0.5,
    segments: Sequence[str] | None = None,
    actions: Mapping[str, Any] | None = None,
    currency: str = "",
    brand: str | None = None,
    as_of: Any = None,
    codebook: Codebook | PathLike | None = None,
    tracker: PathLike | None = None,
    stages: Sequence[str] | None = None,
    manifest: list[dict[str, Any]] | None = None,
) -> Path:
    """Write the PDF (with its data, source and figures) from the stage folders in ``folder``.

    Parameters
    ----------
    folder : path
        Holds one sub-folder per stage, as ``churnkit run`` writes them.
    out : path
        The report folder: ``churn_report.pdf``, ``data.json``, ``churn_report.typ``,
        ``figures/``.
    lang, title, horizon, threshold, actions, currency, brand
        As for :func:`churnkit.write_report`.
    segments : sequence of str, optional
        Whose scores count (the sample's segments); all when None.
    as_of : date-like, optional
        The date the data describes (default: the validation report's).
    codebook : Codebook or path, optional
        The codebook of the codes (default: the built-in one).
    tracker : path, optional
        The filled fielding tracker, for the fielding figures.
    stages : sequence of str, optional
        Read only these stages' folders (default: every one there is).
    manifest : list of dict, optional
        The run's manifest rows (``stage, status, seconds, inputs``) for the appendix.

    Returns
    -------
    Path
        The PDF.
    """
    from churnkit.report._build import write_report

    results = report_inputs(
        folder,
        segments=segments,
        as_of=as_of,
        codebook=codebook,
        tracker=tracker,
        stages=stages,
        manifest=manifest,
    )
    return write_report(
        results,
        out,
        lang=lang,
        title=title,
        horizon=horizon,
        threshold=threshold,
        actions=actions,
        currency=currency,
        brand=brand,
    )


def report_inputs(
    folder: PathLike,
    *,
    segments: Sequence[str] | None = None,
    as_of: Any = None,
    codebook: Codebook | PathLike | None = None,
    tracker: PathLike | None = None,
    stages: Sequence[str] | None = None,
    manifest: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every stage's results for :func:`churnkit.write_report`, read from the stage folders."""
    folder = Path(folder)
    found = {
        stage: folder / stage
        for stage in STAGE_FOLDERS
        if (stages is None or stage in stages) and (folder / stage / "manifest.json").is_file()
    }
    results: dict[str, Any] = {"manifest": manifest, "as_of": as_of}
    readers = {
        "validate": _validation,
        "segments": _segments,
        "backtest": _backtest,
        "fit": _model,
        "sample": _sample,
        "code": _codes,
    }
    for stage, read in readers.items():
        if stage in found:
            results.update(read(found[stage]))
    if "score" in found:
        results["scores"] = scores_in_segments(read_scores(found["score"]), segments)
    if "matrix" in found:
        results["matrix"] = _matrix(found, codebook, segments)
    if tracker is not None and "sample" in found:
        from churnkit.sample._status import sample_status

        results["fielding"] = sample_status(found["sample"], tracker).totals
    return results


def _validation(path: Path) -> dict[str, Any]:
    data = read_json(path / "validation_report.json")
    out = {"log_summary": data["log"], "validation": data["report"]}
    if (path / "rejected_reasons.csv").is_file():
        out["rejected_reasons"] = read_table(path / "rejected_reasons.csv", "reasons")
    return out


def _segments(path: Path) -> dict[str, Any]:
    return {
        "segments": {
            "profile": read_table(path / "segment_profile.csv", "segment profile"),
            "at": read_json(path / "manifest.json")["config"]["at"],
            "figures": {p.stem: p for p in sorted((path / REPORT_FIGURES).glob("*.svg"))},
        }
    }


def _backtest(path: Path) -> dict[str, Any]:
    return {"backtest": read_table(path / "backtest.csv", "backtest", dates=("cutoff",))}


def _model(path: Path) -> dict[str, Any]:
    return {
        "model_validation": read_table(path / "validation.csv", "model validation"),
        "model_figures": {p.stem: p for p in sorted((path / "figures").glob("shap_*.svg"))},
    }


def _sample(path: Path) -> dict[str, Any]:
    manifest = read_json(path / "manifest.json")
    return {
        "sample": {
            "strata": read_table(path / "strata.csv", "strata"),
            "frame_report": read_table(path / "frame_report.csv", "frame report"),
            "params": manifest["config"],
            "seed": manifest["seed"],
        }
    }


def _codes(path: Path) -> dict[str, Any]:
    out = {"saturation": read_table(path / "saturation.csv", "saturation")}
    if (path / "reliability.csv").is_file():
        out["reliability"] = read_table(path / "reliability.csv", "reliability")
    return out


def _matrix(
    found: Mapping[str, Path],
    codebook: Codebook | PathLike | None,
    segments: Sequence[str] | None,
) -> Any:
    """The matrix its stage built: its inputs from the code, sample and score folders, its
    settings from its manifest (a manifest without segments: the report's)."""
    from churnkit.pipeline.stages._matrix import build_matrix

    missing = [s for s in ("code", "sample", "score") if s not in found]
    if missing:
        raise ChurnkitError(
            f"{found['matrix']}: the matrix is rebuilt from the {', '.join(missing)} folder(s) "
            "beside it, which are missing; keep the stage folders together."
        )
    settings = {"segments": segments, **read_json(found["matrix"] / "manifest.json")["config"]}
    strata = sample_strata(found["sample"])
    return build_matrix(
        read_table(found["code"] / "final_codes.csv", "final codes"),
        read_sample(found["sample"]),
        read_scores(found["score"]),
        frame=None if strata is None else read_table(strata, "strata"),
        codebook=codebook,
        **settings,
    )
