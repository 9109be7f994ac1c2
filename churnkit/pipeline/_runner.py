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
from churnkit.core._outputs import sha256_file, write_json, write_manifest
from churnkit.core._tables import read_table
from churnkit.pipeline import stages
from churnkit.pipeline._config import ProjectConfig, load_config
from churnkit.pipeline.stages._folders import read_sample, read_scores

if TYPE_CHECKING:
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

    # -- the orders, loaded once for every stage that reads them --------------------------------
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

    def optional_path(self, value: Path | None) -> Path | None:
        return None if value is None else self.config.path(value)


# -- each stage: the config's settings handed to its one function ----------------------------
def _validate(run: _Run, out: Path) -> None:
    # run.log loads and validates
    stages.validate_stage(
        run.log, out, inputs=run.inputs("validate"), config=run.config.data.model_dump(mode="json")
    )


def _segments(run: _Run, out: Path) -> None:
    from churnkit.segments._rules import SegmentRules

    rules = run.config.segments.rules
    if isinstance(rules, Path):
        rules = SegmentRules.from_yaml(run.config.path(rules))
    elif isinstance(rules, dict):
        rules = SegmentRules.from_dict(rules)
    stages.segment_stage(
        run.log,
        out,
        rules=rules,
        freq=run.config.segments.freq,
        lang=run.config.report.lang,
        inputs=run.inputs("segments"),
    )


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
    m = run.config.model
    stages.backtest_stage(
        run.log,
        out,
        _cutoffs(run),
        horizon=run.config.horizon,
        models=tuple(m.models),
        n_boot=m.n_boot,
        seed=run.config.seed,
    )


def _fit(run: _Run, out: Path) -> None:
    stages.fit_stage(
        run.log,
        out,
        _cutoffs(run),
        horizon=run.config.horizon,
        seed=run.config.seed,
        params=run.config.model.params or None,
    )


def _score(run: _Run, out: Path) -> None:
    stages.score_stage(
        run.folder("fit") / "model",
        run.log,
        out,
        at=run.config.as_of,
        drivers=run.config.model.drivers,
        lang=run.config.report.lang,
    )


def _sample(run: _Run, out: Path) -> None:
    s = run.config.sample
    stages.sample_stage(
        read_scores(run.folder("score")),
        run.log.customers,
        out,
        design=s,
        seed=run.config.seed,
        log=run.log,
        do_not_contact=run.optional_path(s.do_not_contact),
        contact_history=run.optional_path(s.contact_history),
        inputs={"scores": run.folder("score") / "scores.parquet", **run.inputs("sample")},
    )


def _code(run: _Run, out: Path) -> None:
    iv = run.config.interviews
    answers = run.optional_path(iv.answers)
    stages.code_stage(
        out,
        answers=None if answers is None else read_table(answers, "answers"),
        coding_sheets=[run.config.path(p) for p in iv.coding_sheets],
        codebook=run.optional_path(iv.codebook),
        sample=read_sample(run.folder("sample")),
        inputs=run.inputs("code"),
    )


def _matrix(run: _Run, out: Path) -> None:
    sample = run.folder("sample")
    stages.matrix_stage(
        read_table(run.folder("code") / "final_codes.csv", "final codes"),
        read_sample(sample),
        read_scores(run.folder("score")),
        out,
        frame=read_table(sample / "strata.csv", "strata"),
        codebook=run.optional_path(run.config.interviews.codebook),
        threshold=run.config.sample.threshold,
        segments=run.config.sample.segments,
    )


def _report(run: _Run, out: Path, manifest: list[dict[str, Any]]) -> Path:
    r = run.config.report
    files = [
        {"stage": f"{key}: {path.name}", "inputs": run.file_hash(path)}
        for key, path in run.config.files().items()
    ]
    return stages.report_stage(
        run.out,
        out,
        lang=r.lang,
        title=r.title,
        horizon=run.config.horizon,
        threshold=run.config.sample.threshold,
        segments=run.config.sample.segments,
        actions=r.actions,
        currency=r.currency,
        brand=r.brand,
        as_of=run.config.as_of,
        codebook=run.optional_path(run.config.interviews.codebook),
        # the fielding figures need the sample the tracker belongs to
        tracker=run.optional_path(run.config.interviews.tracker),
        stages=run.planned,
        manifest=files + manifest,
    )


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
    "sample": lambda c: {"sample": c.sample.keyed(), "seed": c.seed},
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
        status = "cached" if run.cached(stage, key) else "computed"
        if status == "computed":
            _compute(run, stage, key, manifest)
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


def _compute(run: _Run, stage: str, key: str, manifest: list[dict[str, Any]]) -> None:
    """Run one stage into its folder and, once it succeeded, write its key file."""
    try:
        if stage == "report":
            manifest.append({"stage": stage, "status": "computed", "inputs": key})
            _report(run, run.folder(stage), manifest)
        else:
            _STAGE_FN[stage](run, run.folder(stage))
    except Exception as exc:
        raise PipelineError(
            stage,
            f"stage {stage!r} failed: {exc} (outputs of earlier stages and the previous "
            f"{stage!r} output in {run.out} are unchanged; fix the cause and run again — "
            "finished stages are not recomputed)",
        ) from exc
    (run.folder(stage) / KEY_FILE).write_text(key + "\n", encoding="utf-8")
