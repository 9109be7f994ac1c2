"""``churnkit run``: every stage from the orders to the leadership PDF, with a cache.

Stages run in order: validate → segments → backtest → fit → score → sample → (code →
matrix, when interview answers or coding sheets are given) → report. Each writes its own
folder under ``out`` (swapped in atomically) and, once it has succeeded, a key file
``.churnkit_key``: the hash of the stage's config, its input files' hashes and the keys of
the stages it reads. A stage whose key is unchanged is not recomputed; its outputs are read
back from its folder when a later stage needs them. A failing stage raises
:class:`PipelineError` naming it and leaves every earlier output, and its own previous
output, in place.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit._version import __version__
from churnkit.core._errors import ChurnkitError
from churnkit.core._outputs import sha256_file, write_csv, write_json, write_manifest
from churnkit.pipeline._config import ProjectConfig, load_config

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog

PathLike = str | os.PathLike[str]
STAGES: tuple[str, ...] = (
    "validate",
    "segments",
    "backtest",
    "fit",
    "score",
    "sample",
    "code",
    "matrix",
    "report",
)
KEY_FILE = ".churnkit_key"
REPORT_FIGURES = "report_figures"
# stage -> the stages whose outputs it reads (their keys are part of its key)
_UPSTREAM: dict[str, tuple[str, ...]] = {
    "validate": (),
    "segments": ("validate",),
    "backtest": ("validate",),
    "fit": ("validate",),
    "score": ("validate", "fit"),
    "sample": ("validate", "score"),
    "code": ("sample",),
    "matrix": ("code", "sample", "score"),
    "report": ("validate", "segments", "backtest", "fit", "score", "sample", "code", "matrix"),
}


class PipelineError(ChurnkitError):
    """A stage of ``churnkit run`` failed; ``stage`` names it."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass
class ProjectResult:
    """What :func:`run_project` did: the report, and per stage its status and seconds."""

    folder: Path
    report: Path | None
    status: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def computed(self) -> list[str]:
        """The stages that were computed (not taken from the cache)."""
        return [s for s, v in self.status.items() if v == "computed"]


def planned_stages(config: ProjectConfig) -> list[str]:
    """The stages this config runs, in order."""
    skip = set()
    if not config.model.enabled:
        skip |= {"backtest", "fit", "score", "sample"}
    if not config.model.backtest:
        skip.add("backtest")
    if not config.sample.enabled:
        skip.add("sample")
    if "sample" in skip or not (config.interviews.answers or config.interviews.coding_sheets):
        skip |= {"code", "matrix"}
    return [s for s in STAGES if s not in skip]


class _Run:
    """One run's state: config, output folder, stage keys and lazily loaded results."""

    def __init__(self, config: ProjectConfig, out: Path) -> None:
        self.config = config
        self.out = out
        self.keys: dict[str, str] = {}
        self.memory: dict[str, Any] = {}
        self.hashes: dict[Path, str] = {}
        self.planned = planned_stages(config)

    # -- keys ----------------------------------------------------------------------------------
    def file_hash(self, path: Path) -> str:
        if path not in self.hashes:
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file())
                parts = [f"{p.relative_to(path)}:{sha256_file(p)}" for p in files]
                self.hashes[path] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
            else:
                self.hashes[path] = sha256_file(path)
        return self.hashes[path]

    def key(self, stage: str) -> str:
        payload = {
            "stage": stage,
            "version": __version__,
            "config": _STAGE_CONFIG[stage](self.config),
            "inputs": {k: self.file_hash(p) for k, p in self.inputs(stage).items()},
            "upstream": {s: self.keys.get(s) for s in _UPSTREAM[stage]},
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def inputs(self, stage: str) -> dict[str, Path]:
        files = self.config.files()
        prefix = {
            "validate": ("data.",),
            "segments": ("segments.",),
            "sample": ("sample.",),
            "code": ("interviews.",),
        }.get(stage, ())
        return {k: p for k, p in files.items() if k.startswith(prefix)} if prefix else {}

    def folder(self, stage: str) -> Path:
        return self.out / stage

    def cached(self, stage: str, key: str) -> bool:
        path = self.folder(stage) / KEY_FILE
        return path.is_file() and path.read_text(encoding="utf-8").strip() == key

    # -- results, computed this run or read back ----------------------------------------------
    @functools.cached_property
    def log(self) -> TransactionLog:
        from churnkit.io._orders import load_orders

        d = self.config.data
        return load_orders(
            self.config.path(d.orders),
            columns=d.columns or None,
            customers=None if d.customers is None else self.config.path(d.customers),
            customer_columns=d.customer_columns or None,
            as_of=self.config.as_of,
            sep=d.sep,
            encoding=d.encoding,
            decimal=d.decimal,
            date_format=d.date_format,
        )

    def scores(self) -> pd.DataFrame:
        import pandas as pd

        if "scores" not in self.memory:
            folder = self.folder("score")
            scores = pd.read_parquet(folder / "scores.parquet")
            summary = json.loads((folder / "score_summary.json").read_text(encoding="utf-8"))
            scores.attrs["excluded"] = summary.get("customers_excluded", {})
            self.memory["scores"] = scores
        return self.memory["scores"]

    def reachable_scores(self) -> pd.DataFrame:
        """Scores of the customers in the config's ``sample.segments`` (predicted churners
        are counted among them; the others are reported apart)."""
        scores = self.scores()
        keep = scores["segment"].astype(str).isin(self.config.sample.segments)
        out = scores[keep.to_numpy()]
        left_out = sorted(set(scores.loc[~keep.to_numpy(), "segment"].astype(str)))
        out.attrs = {
            **scores.attrs,
            "other_segments": int((~keep).sum()),
            "left_out_segments": left_out,
        }
        return out

    def sample_table(self) -> pd.DataFrame:
        """The sample as the matrix reads it: analysis file joined to the key (customer ids)."""
        folder = self.folder("sample")
        analysis = _read_table(folder / "analysis.csv", "sample")
        key = _read_table(folder / "sample_key.csv", "sample key")
        return analysis.merge(key, on="sample_id", how="left", validate="one_to_one")


def _read_table(path: Path, what: str) -> pd.DataFrame:
    """A CSV (separator and BOM detected) or XLSX table; ids and codes are kept as text."""
    import pandas as pd

    text = {c: str for c in ("customer_id", "sample_id", "answer_id", "stratum", "code", "text")}
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=text)
        return pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig", dtype=text)
    except (OSError, ValueError) as e:
        raise ChurnkitError(f"{path}: cannot read the {what} table ({e}).") from e


# -- the stages -------------------------------------------------------------------------------
def _validate(run: _Run, out: Path) -> None:
    from churnkit.pipeline._data_stages import validate_stage

    # run.log loads and validates
    validate_stage(
        run.log, out, inputs=run.inputs("validate"), config=run.config.data.model_dump(mode="json")
    )


def _segments(run: _Run, out: Path) -> None:
    from churnkit.pipeline._data_stages import segment_stage
    from churnkit.segments._rules import SegmentRules

    rules = run.config.segments.rules
    if isinstance(rules, Path):
        rules = SegmentRules.from_yaml(run.config.path(rules))
    elif isinstance(rules, dict):
        rules = SegmentRules.from_dict(rules)
    from churnkit.report._sections import draw_segment_figures

    lang = run.config.report.lang
    result = segment_stage(
        run.log,
        out,
        rules=rules,
        freq=run.config.segments.freq,
        lang=lang,
        inputs=run.inputs("segments"),
    )
    # the report's sizes; drawn now, so a later report needs no dynamics
    draw_segment_figures(result.dynamics, out / REPORT_FIGURES, lang)


def _cutoffs(run: _Run) -> list[Any]:
    """The configured cutoffs, or the last ``n_cutoffs`` quarter ends whose labels are complete."""
    import pandas as pd

    m = run.config.model
    if m.cutoffs:
        return [pd.Timestamp(c) for c in m.cutoffs]
    end = pd.Timestamp(run.log.as_of or run.log.end) - pd.Timedelta(days=run.config.horizon)
    quarters = pd.date_range(run.log.start, end, freq="QE")
    if len(quarters) < 3:
        raise ChurnkitError(
            f"model.cutoffs: the data ({run.log.start.date()} to {(end + pd.Timedelta(days=run.config.horizon)).date()}) "
            f"holds {len(quarters)} complete quarters before the last {run.config.horizon}-day "
            "window; at least 3 are needed. Give model.cutoffs explicitly, shorten horizon, or "
            "set model.enabled: false."
        )
    return list(quarters[-m.n_cutoffs :])


def _backtest(run: _Run, out: Path) -> None:
    from churnkit.pipeline._model_stages import backtest_stage

    m = run.config.model
    backtest_stage(
        run.log,
        out,
        _cutoffs(run),
        horizon=run.config.horizon,
        models=tuple(m.models),
        n_boot=m.n_boot,
        seed=run.config.seed,
    )


def _fit(run: _Run, out: Path) -> None:
    from churnkit.pipeline._model_stages import fit_stage

    fit_stage(
        run.log,
        out,
        _cutoffs(run),
        horizon=run.config.horizon,
        seed=run.config.seed,
        params=run.config.model.params or None,
    )


def _score(run: _Run, out: Path) -> None:
    from churnkit.pipeline._model_stages import score_stage

    scores = score_stage(
        run.folder("fit") / "model",
        run.log,
        out,
        at=run.config.as_of,
        drivers=run.config.model.drivers,
        lang=run.config.report.lang,
    )
    run.memory["scores"] = scores


def _sample(run: _Run, out: Path) -> None:
    from churnkit.sample._draw import draw_interview_sample
    from churnkit.sample._export import export_interview_sample

    s = run.config.sample
    optional = {
        "do_not_contact": s.do_not_contact and run.config.path(s.do_not_contact),
        "contact_history": s.contact_history and run.config.path(s.contact_history),
    }
    draw = draw_interview_sample(
        run.scores(),
        run.log.customers,
        s.quotas,
        strata=s.strata,
        reserve_ratio=s.reserve_ratio,
        populations=s.populations,
        segments=s.segments,
        threshold=s.threshold,
        contact_window_days=s.contact_window_days,
        log=run.log,
        seed=run.config.seed,
        **{k: v for k, v in optional.items() if v},
    )
    export_interview_sample(
        draw, out, inputs={"scores": run.folder("score") / "scores.parquet", **run.inputs("sample")}
    )


def _code(run: _Run, out: Path) -> None:
    from churnkit.coding._codebook import load_codebook
    from churnkit.coding._coder import code_answers
    from churnkit.coding._reliability import reconcile, reliability
    from churnkit.coding._saturation import saturation_curve
    from churnkit.coding._sheet import read_coding_sheets
    from churnkit.core._outputs import atomic_folder

    iv = run.config.interviews
    book = load_codebook(None if iv.codebook is None else run.config.path(iv.codebook))
    answers = None if iv.answers is None else _read_table(run.config.path(iv.answers), "answers")
    with atomic_folder(out) as tmp:
        if iv.coding_sheets:
            coded = read_coding_sheets([run.config.path(p) for p in iv.coding_sheets], book)
            write_csv(reliability(coded), tmp / "reliability.csv")
            final, disagreements = reconcile(coded)
            write_csv(disagreements, tmp / "disagreements.csv")
        else:
            lang_col = "lang" if "lang" in answers.columns else None  # type: ignore[union-attr]
            final = code_answers(answers, book, lang_col=lang_col)
        final = final[["answer_id", "code", "is_primary"]]
        order = None if answers is None else answers["answer_id"].tolist()
        write_csv(saturation_curve(final, order=order), tmp / "saturation.csv")
        write_csv(_link(final, answers, run.sample_table()), tmp / "final_codes.csv")
        write_manifest(
            tmp, stage="code", inputs=run.inputs("code"), config=iv.model_dump(mode="json")
        )


def _link(final: pd.DataFrame, answers: pd.DataFrame | None, sample: pd.DataFrame) -> pd.DataFrame:
    """Give each final code the ``sample_id`` of its interview (via the answers' ids)."""
    if answers is None or "sample_id" in final.columns:
        return final
    if "sample_id" in answers.columns:
        ids = answers[["answer_id", "sample_id"]]
    elif "customer_id" in answers.columns:
        ids = answers[["answer_id", "customer_id"]].merge(
            sample[["customer_id", "sample_id"]], on="customer_id", how="left"
        )
        missing = ids.loc[ids["sample_id"].isna(), "customer_id"].tolist()
        if missing:
            raise ChurnkitError(
                f"interviews.answers: {len(missing)} answers come from customers who are not in "
                f"the interview sample (e.g. {missing[:3]}); answer only sampled customers or "
                "add a sample_id column."
            )
    else:
        raise ChurnkitError(
            "interviews.answers: needs a sample_id or customer_id column to link each answer "
            "to the interview sample."
        )
    return final.merge(ids[["answer_id", "sample_id"]], on="answer_id", how="left")


def _matrix_of(run: _Run) -> Any:
    from churnkit.coding._codebook import load_codebook
    from churnkit.matrix._matrix import RetentionMatrix

    iv = run.config.interviews
    codes = _read_table(run.folder("code") / "final_codes.csv", "final codes")
    return RetentionMatrix.from_codes(
        codes[["sample_id", "code", "is_primary"]],
        run.sample_table(),
        run.reachable_scores(),
        frame=_read_table(run.folder("sample") / "strata.csv", "strata"),
        codebook=load_codebook(None if iv.codebook is None else run.config.path(iv.codebook)),
        threshold=run.config.sample.threshold,
        # interviewees who still buy are evidence about the model, not reasons for leaving
        churned_only=True,
    )


def _matrix(run: _Run, out: Path) -> None:
    from churnkit.core._outputs import atomic_folder

    matrix = _matrix_of(run)
    run.memory["matrix"] = matrix
    with atomic_folder(out) as tmp:
        matrix.to_excel(tmp / "matrix.xlsx")
        write_csv(matrix.cells, tmp / "cells.csv")
        write_csv(matrix.summary(), tmp / "summary.csv")
        write_csv(matrix.low_hanging_fruit(), tmp / "low_hanging_fruit.csv")
        write_json({"headline": matrix.headline(), "notes": matrix.notes}, tmp / "headline.json")
        write_manifest(
            tmp, stage="matrix", inputs={}, config={"threshold": run.config.sample.threshold}
        )


def _report(run: _Run, out: Path, manifest: list[dict[str, Any]]) -> Path:
    from churnkit.report._build import write_report

    r = run.config.report
    return write_report(
        _report_inputs(run, manifest),
        out,
        lang=r.lang,
        title=r.title,
        horizon=run.config.horizon,
        threshold=run.config.sample.threshold,
        actions=r.actions,
        currency=r.currency,
        brand=r.brand,
    )


def _report_inputs(run: _Run, manifest: list[dict[str, Any]]) -> dict[str, Any]:
    """Every stage's results for the report, read from the stage folders that exist."""

    def folder(stage: str) -> Path | None:
        # a folder left from an earlier config that no longer runs the stage is not reported
        path = run.folder(stage)
        return path if stage in run.planned and (path / KEY_FILE).is_file() else None

    files = [
        {"stage": f"{key}: {path.name}", "inputs": run.file_hash(path)}
        for key, path in run.config.files().items()
    ]
    results: dict[str, Any] = {"manifest": files + manifest, "as_of": run.config.as_of}
    if v := folder("validate"):
        data = json.loads((v / "validation_report.json").read_text(encoding="utf-8"))
        results["log_summary"] = data["log"]
        results["validation"] = data["report"]
        if (v / "rejected_reasons.csv").is_file():
            results["rejected_reasons"] = _read_table(v / "rejected_reasons.csv", "reasons")
    if s := folder("segments"):
        manifest_s = json.loads((s / "manifest.json").read_text(encoding="utf-8"))
        results["segments"] = {
            "profile": _read_table(s / "segment_profile.csv", "segment profile"),
            "at": manifest_s["config"]["at"],
            "figures": {p.stem: p for p in sorted((s / REPORT_FIGURES).glob("*.svg"))},
        }
    if b := folder("backtest"):
        import pandas as pd

        results["backtest"] = pd.read_csv(b / "backtest.csv", parse_dates=["cutoff"])
    if f := folder("fit"):
        results["model_validation"] = _read_table(f / "validation.csv", "model validation")
        results["model_figures"] = {p.stem: p for p in sorted((f / "figures").glob("shap_*.svg"))}
    if folder("score"):
        results["scores"] = run.reachable_scores()
    if s := folder("sample"):
        manifest_s = json.loads((s / "manifest.json").read_text(encoding="utf-8"))
        results["sample"] = {
            "strata": _read_table(s / "strata.csv", "strata"),
            "frame_report": _read_table(s / "frame_report.csv", "frame report"),
            "params": manifest_s["config"],
            "seed": manifest_s["seed"],
        }
    if c := folder("code"):
        if (c / "reliability.csv").is_file():
            results["reliability"] = _read_table(c / "reliability.csv", "reliability")
        results["saturation"] = _read_table(c / "saturation.csv", "saturation")
    if folder("matrix"):
        results["matrix"] = run.memory.get("matrix") or _matrix_of(run)
    if run.config.interviews.tracker is not None and folder("sample"):
        from churnkit.sample._status import sample_status

        tracker = run.config.path(run.config.interviews.tracker)
        results["fielding"] = sample_status(run.folder("sample"), tracker).totals
    return results


_STAGE_FN: dict[str, Callable[[_Run, Path], Any]] = {
    "validate": _validate,
    "segments": _segments,
    "backtest": _backtest,
    "fit": _fit,
    "score": _score,
    "sample": _sample,
    "code": _code,
    "matrix": _matrix,
}
# stage -> the part of the config that decides its output
_STAGE_CONFIG: dict[str, Callable[[ProjectConfig], Any]] = {
    "validate": lambda c: {"data": c.data.model_dump(mode="json"), "as_of": str(c.as_of)},
    "segments": lambda c: {"segments": c.segments.model_dump(mode="json"), "lang": c.report.lang},
    "backtest": lambda c: {
        "model": c.model.model_dump(mode="json"),
        "h": c.horizon,
        "seed": c.seed,
    },
    "fit": lambda c: {"model": c.model.model_dump(mode="json"), "h": c.horizon, "seed": c.seed},
    "score": lambda c: {
        "as_of": str(c.as_of),
        "drivers": c.model.drivers,
        "lang": c.report.lang,
    },
    "sample": lambda c: {"sample": c.sample.model_dump(mode="json"), "seed": c.seed},
    "code": lambda c: c.interviews.model_dump(mode="json"),
    "matrix": lambda c: {
        "threshold": c.sample.threshold,
        "segments": c.sample.segments,
        "churned_only": True,
    },
    "report": lambda c: {
        "report": c.report.model_dump(mode="json"),
        "h": c.horizon,
        "threshold": c.sample.threshold,
        "segments": c.sample.segments,
        "tracker": str(c.interviews.tracker),
    },
}


def run_project(
    config: ProjectConfig | PathLike,
    out: PathLike,
    on_step: Callable[[str], None] | None = None,
) -> ProjectResult:
    """Run every stage of a project config into ``out``, reusing unchanged stages' outputs.

    Parameters
    ----------
    config : ProjectConfig or path
        The project config, or the path of its YAML file (:func:`churnkit.load_config`).
    out : path
        Output folder: one sub-folder per stage, ``report/churn_report.pdf``, ``run.json``
        (status and seconds per stage) and ``manifest.json``.
    on_step : callable, optional
        Called with each stage's name before it starts (or is taken from the cache).

    Returns
    -------
    ProjectResult

    Raises
    ------
    ConfigError
        The config is invalid (before anything runs).
    PipelineError
        A stage failed; the message names it and the cause is chained. Outputs of earlier
        stages and the failed stage's previous outputs are left as they were.

    Examples
    --------
    >>> result = run_project("project.yml", "out")  # doctest: +SKIP
    >>> result.report, result.status["fit"]  # doctest: +SKIP
    (PosixPath('out/report/churn_report.pdf'), 'cached')
    """
    if not isinstance(config, ProjectConfig):
        config = load_config(config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(config, out)
    notify = on_step or (lambda _name: None)
    result = ProjectResult(folder=out, report=None)
    manifest: list[dict[str, Any]] = []
    for stage in run.planned:
        notify(stage)
        key = run.key(stage)
        run.keys[stage] = key
        t0 = time.perf_counter()
        if run.cached(stage, key):
            status = "cached"
        else:
            status = "computed"
            try:
                if stage == "report":
                    manifest.append({"stage": stage, "status": status, "inputs": key})
                    _report(run, run.folder(stage), manifest)
                else:
                    _STAGE_FN[stage](run, run.folder(stage))
            except Exception as exc:
                raise PipelineError(
                    stage,
                    f"stage {stage!r} failed: {exc} (outputs of earlier stages and the previous "
                    f"{stage!r} output in {out} are unchanged; fix the cause and run again — "
                    "finished stages are not recomputed)",
                ) from exc
            (run.folder(stage) / KEY_FILE).write_text(key + "\n", encoding="utf-8")
        result.status[stage] = status
        result.timings[stage] = time.perf_counter() - t0
        if stage != "report" or status == "cached":
            manifest.append(
                {"stage": stage, "status": status, "seconds": result.timings[stage], "inputs": key}
            )
    report = run.folder("report") / "churn_report.pdf"
    result.report = report if report.is_file() else None
    write_json(
        {"status": result.status, "seconds": {k: round(v, 3) for k, v in result.timings.items()}},
        out / "run.json",
    )
    write_manifest(
        out,
        stage="run",
        inputs=config.files(),
        config=config.stage_config(),
        seed=config.seed,
    )
    return result
