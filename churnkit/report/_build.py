"""Build the leadership PDF: stage results -> plain data (``data.json``) -> typst template -> PDF.

The data holds every number already formatted for the report's language and every sentence
in its words (``strings.yaml``); the template only lays it out, so wording and branding can
change without touching what was computed. The output folder keeps ``data.json``, the
template and the SVG figures beside the PDF, so ``typst compile churn_report.typ`` re-renders it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from churnkit._version import __version__
from churnkit.core._errors import ChurnkitError
from churnkit.core._outputs import atomic_folder, write_json
from churnkit.report._format import Words
from churnkit.report._sections import segments_section, summary_section
from churnkit.report._sections_models import models_section
from churnkit.report._sections_study import (
    actions_section,
    appendix_section,
    interviews_section,
    matrix_section,
    merge_actions,
)

PathLike = str | os.PathLike[str]
TEMPLATE = "churn_report.typ"
PDF_NAME = "churn_report.pdf"
__all__ = ["PDF_NAME", "TEMPLATE", "render_pdf", "report_data", "write_report"]

# what each input of ``results`` may be (see write_report)
_KEYS = {
    "as_of", "log", "log_summary", "validation", "rejected_reasons", "segments", "backtest",
    "model_validation", "model_figures", "scores", "sample", "fielding", "reliability",
    "saturation", "matrix", "manifest",
}  # fmt: skip


def _plain(results: Mapping[str, Any]) -> dict[str, Any]:
    """Turn churnkit objects among ``results`` into the plain tables and dicts sections read."""
    unknown = sorted(set(results) - _KEYS)
    if unknown:
        raise ChurnkitError(
            f"report inputs: unknown key(s) {unknown}; known keys are {sorted(_KEYS)}."
        )
    r = {k: v for k, v in results.items() if v is not None}
    log = r.pop("log", None)
    if log is not None:
        r.setdefault("log_summary", log.summary())
        if log.report is not None:
            r.setdefault("validation", log.report.to_dict())
            r.setdefault("rejected_reasons", log.report.reasons_table())
    seg = r.get("segments")
    if seg is not None and not isinstance(seg, Mapping):
        r["segments"] = {"profile": seg.profile, "dynamics": seg.dynamics, "at": seg.at}
    sample = r.get("sample")
    if sample is not None and not isinstance(sample, Mapping):
        r["sample"] = {
            "strata": sample.strata,
            "frame_report": sample.frame_report,
            "params": sample.params,
            "seed": sample.seed,
        }
    fielding = r.get("fielding")
    if fielding is not None and not isinstance(fielding, Mapping):
        r["fielding"] = fielding.totals
    return r


def report_data(
    results: Mapping[str, Any],
    folder: PathLike,
    *,
    lang: str = "en",
    title: str | None = None,
    horizon: int = 90,
    threshold: float = 0.5,
    actions: Mapping[str, Any] | None = None,
    currency: str = "",
) -> dict[str, Any]:
    """The report as plain data; the figures are written to ``folder/figures`` as SVG.

    Parameters
    ----------
    results : mapping
        Stage results; every key is optional and a section whose inputs are missing prints a
        "not run" line. See :func:`write_report`.
    folder : path
        Where the figures go (the data refers to them relative to it).
    lang : {"en", "ru"}
        Language of the words and of the number formats.
    title : str, optional
        Replaces the default title.
    horizon : int
        Churn horizon in days, for the sentences.
    threshold : float
        ``p_churn`` from which a customer counts as a predicted churner.
    actions : mapping, optional
        Per-segment overrides of the action table (see ``report/actions.yaml``).
    currency : str
        Appended to amounts of money, e.g. "₽" (none by default).

    Returns
    -------
    dict
        ``lang, title, subtitle, generated, page_label, sections``; JSON-serialisable.
    """
    folder = Path(folder)
    w = Words.of(lang, currency, {"title": title} if title else None)
    r = _plain(results)
    summary_log = r.get("log_summary") or {}
    as_of = r.get("as_of") or summary_log.get("as_of") or summary_log.get("last_order")
    scores = r.get("scores")
    matrix = r.get("matrix")
    seg = r.get("segments")
    titles = {"actions": w("actions"), "interviews": w("interviews")}

    sections = [
        summary_section(
            w,
            customers=summary_log.get("customers"),
            scores=scores,
            threshold=threshold,
            horizon=horizon,
            matrix=matrix,
            fielding=r.get("fielding"),
            has_sample="sample" in r,
            titles=titles,
        ),
        segments_section(
            w,
            folder,
            seg["profile"],
            seg["at"],
            dynamics=seg.get("dynamics"),
            figures={k: Path(v) for k, v in (seg.get("figures") or {}).items()},
        )
        if seg is not None
        else _missing("segments", w, "no_segments"),
        models_section(
            w,
            folder,
            backtest=r.get("backtest"),
            validation=r.get("model_validation"),
            scores=scores,
            model_figures={k: Path(v) for k, v in (r.get("model_figures") or {}).items()},
        ),
        interviews_section(
            w,
            folder,
            sample=r.get("sample"),
            fielding=r.get("fielding"),
            reliability=r.get("reliability"),
            saturation=r.get("saturation"),
        ),
        matrix_section(w, folder, matrix),
        actions_section(
            w,
            merge_actions(dict(actions or {})),
            None if seg is None else [str(s) for s in seg["profile"]["segment"]],
        ),
        appendix_section(
            w,
            validation=r.get("validation"),
            reasons=r.get("rejected_reasons"),
            manifest=r.get("manifest"),
        ),
    ]
    return {
        "lang": lang,
        "title": w("title"),
        "subtitle": w("subtitle", as_of=w.date(as_of) if as_of else "–", horizon=horizon),
        "generated": w("generated", version=__version__),
        "page_label": w("page"),
        "sections": sections,
    }


def _missing(id_: str, w: Words, what: str) -> dict[str, Any]:
    from churnkit.report._sections import not_run

    return not_run(id_, w(id_), w, what)


def render_pdf(folder: PathLike, brand: str | None = None) -> Path:
    """Compile ``folder/churn_report.typ`` (reading ``folder/data.json``) into the PDF.

    Only typst's bundled fonts are used (Libertinus Serif has Cyrillic), so the PDF looks
    the same on every machine; typst embeds the glyphs it uses.
    """
    import typst

    folder = Path(folder)
    inputs = {"data": "data.json", **({"brand": brand} if brand else {})}
    fonts = typst.Fonts(include_system_fonts=False)
    try:
        compiler = typst.Compiler(
            str(folder / TEMPLATE), root=str(folder), font_paths=fonts, sys_inputs=inputs
        )
        # a fixed timestamp keeps equal reports byte-identical
        pdf, _warnings = compiler.compile_with_warnings(format="pdf", timestamp=0)
    except typst.TypstError as exc:
        raise ChurnkitError(
            f"{folder / TEMPLATE}: typst could not render the report: {exc.message}. "
            f"{' '.join(exc.hints)} Check the template and data.json in {folder}."
        ) from exc
    path = folder / PDF_NAME
    path.write_bytes(pdf)  # type: ignore[arg-type]
    return path


def write_report(
    results: Mapping[str, Any],
    out: PathLike,
    *,
    lang: str = "en",
    title: str | None = None,
    horizon: int = 90,
    threshold: float = 0.5,
    actions: Mapping[str, Any] | None = None,
    currency: str = "",
    brand: str | None = None,
) -> Path:
    """Write the leadership PDF and its sources (data.json, template, figures) into ``out``.

    Parameters
    ----------
    results : mapping
        Whatever stages ran, each optional: ``log`` (a TransactionLog; or ``log_summary``,
        ``validation`` and ``rejected_reasons``), ``as_of``, ``segments`` (the segment stage's
        result, or ``{"profile", "dynamics", "at"}``), ``backtest`` (the tidy backtest table),
        ``model_validation`` (``ChurnModel.validation_``), ``model_figures`` (name -> SVG path,
        e.g. ``shap_loyal``), ``scores`` (``ChurnModel.score``), ``sample`` (an
        InterviewSample or ``{"strata", "frame_report", "params", "seed"}``), ``fielding``
        (a SampleStatus or its totals), ``reliability`` (:func:`churnkit.reliability`),
        ``saturation`` (:func:`churnkit.saturation_curve`), ``matrix`` (a RetentionMatrix),
        ``manifest`` (rows ``stage, status, seconds, inputs``).
    out : path
        Output folder, replaced atomically when the PDF is written.
    lang, title, horizon, threshold, actions, currency
        See :func:`report_data`.
    brand : str, optional
        Colour of titles and tables, e.g. "#7a1f3d".

    Returns
    -------
    Path
        The PDF.

    Examples
    --------
    >>> write_report({"log": log, "scores": scores}, "out/report", lang="ru")  # doctest: +SKIP
    PosixPath('out/report/churn_report.pdf')
    """
    out = Path(out)
    with atomic_folder(out) as tmp:
        data = report_data(
            results,
            tmp,
            lang=lang,
            title=title,
            horizon=horizon,
            threshold=threshold,
            actions=actions,
            currency=currency,
        )
        write_json(data, tmp / "data.json")
        template = resources.files("churnkit.report").joinpath(TEMPLATE)
        with resources.as_file(template) as src:
            shutil.copyfile(src, tmp / TEMPLATE)
        render_pdf(tmp, brand)
    return out / PDF_NAME
