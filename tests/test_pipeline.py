"""``churnkit run``: the stage cache, failures that keep earlier outputs, and the CLI."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from churnkit.datasets import make_shop
from churnkit.pipeline._config import REACHABLE_SEGMENTS, load_config
from churnkit.pipeline._runner import KEY_FILE, PipelineError, planned_stages, run_project


@pytest.fixture(scope="module")
def project(tmp_path_factory, export_shop):
    """A small shop exported like a Russian 1C file, and a config without the model stages."""
    folder = tmp_path_factory.mktemp("project")
    shop, data = export_shop(folder, n_customers=800, seed=4)
    config = {
        "data": data,
        "as_of": str(shop.end.date()),
        "model": {"enabled": False},
        "report": {"lang": "ru", "title": "Отток: тест"},
    }
    return folder, config


def _write(folder, config, name="project.yml"):
    path = folder / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_planned_stages_follow_the_config(project):
    folder, config = project
    assert planned_stages(load_config(_write(folder, config))) == ["validate", "segments", "report"]
    full = {**config, "model": {}}
    assert planned_stages(load_config(_write(folder, full, "full.yml"))) == [
        "validate", "segments", "backtest", "fit", "score", "sample", "report"
    ]  # fmt: skip


def test_cache_reuses_unchanged_stages(project, tmp_path):
    folder, config = project
    src = tmp_path / "src"
    shutil.copytree(folder, src)
    path = _write(src, config)
    out = tmp_path / "out"

    first = run_project(path, out)
    assert first.status == dict.fromkeys(["validate", "segments", "report"], "computed")
    pdf = out / "report" / "churn_report.pdf"
    stamp = pdf.stat().st_mtime_ns

    second = run_project(path, out)
    assert second.computed == []
    assert pdf.stat().st_mtime_ns == stamp

    # a new title changes the report only
    _write(src, {**config, "report": {"lang": "ru", "title": "Другой заголовок"}})
    assert run_project(path, out).computed == ["report"]

    # a changed orders file (its last line once more) recomputes from the first stage on
    orders = src / "orders.csv"
    data = orders.read_bytes()
    orders.write_bytes(data + data.splitlines(keepends=True)[-1])
    assert run_project(path, out).computed == ["validate", "segments", "report"]


def test_failed_stage_keeps_earlier_outputs_and_the_report(project, tmp_path):
    folder, config = project
    out = tmp_path / "out"
    run_project(_write(folder, config, "ok.yml"), out)
    pdf = (out / "report" / "churn_report.pdf").read_bytes()
    validation = (out / "validate" / "validation_report.json").read_bytes()
    segments = (out / "segments" / "segments.csv").read_bytes()

    (folder / "bad_rules.yaml").write_text(
        "segments:\n- name: everyone\n  when: [{purchases: [5, 2]}]\n"
    )
    broken = {**config, "segments": {"rules": "bad_rules.yaml"}}
    with pytest.raises(PipelineError, match=r"stage 'segments' failed: .*unchanged") as info:
        run_project(_write(folder, broken, "broken.yml"), out)
    assert info.value.stage == "segments"
    assert info.value.__cause__ is not None
    assert (out / "report" / "churn_report.pdf").read_bytes() == pdf
    assert (out / "validate" / "validation_report.json").read_bytes() == validation
    assert (out / "segments" / "segments.csv").read_bytes() == segments
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_outputs_and_manifest(project, tmp_path):
    folder, config = project
    out = tmp_path / "out"
    result = run_project(_write(folder, config, "m.yml"), out)
    assert result.report == out / "report" / "churn_report.pdf"
    for stage in result.status:
        assert (out / stage / KEY_FILE).is_file()
    manifest = yaml.safe_load((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["stage"] == "run"
    assert set(manifest["inputs"]) == {"data.orders", "data.customers"}
    assert manifest["config"]["report"]["title"] == "Отток: тест"
    assert (out / "segments" / "report_figures" / "retention_rates.svg").is_file()


def test_cli_run(project, tmp_path):
    import churnkit.cli as cli
    from churnkit.cli._run import register

    if not any(c.name == "run" for c in cli.app.registered_commands):
        register(cli.app)
    folder, config = project
    path = _write(folder, config, "cli.yml")
    runner = CliRunner()
    ok = runner.invoke(cli.app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert ok.exit_code == 0, ok.output
    assert "churn_report.pdf" in ok.output

    bad = _write(folder, {**config, "horizn": 30}, "bad.yml")
    failed = runner.invoke(cli.app, ["run", str(bad), "--out", str(tmp_path / "out")])
    assert failed.exit_code == 2
    assert "horizn: unknown key" in failed.output


@pytest.mark.slow
def test_whole_project_with_models_and_interviews(project, tmp_path):
    """Every stage on 800 customers, then generated answers of the sampled customers."""
    from pypdf import PdfReader

    from churnkit.datasets import make_interviews

    folder, config = project
    full = {
        **config,
        # no survival model: lifelines' Weibull fit warns on a shop this small
        "model": {
            "n_boot": 10,
            "models": ["gbm", "bgnbd", "rfm_logit", "recency"],
            "params": {"num_boost_round": 200, "survival": False},
        },
        "sample": {"quotas": 60},
    }
    out = tmp_path / "out"
    first = run_project(_write(folder, full, "full.yml"), out)
    assert first.computed == [
        "validate",
        "segments",
        "backtest",
        "fit",
        "score",
        "sample",
        "report",
    ]

    analysis = pd.read_csv(out / "sample" / "analysis.csv", dtype={"sample_id": str})
    key = pd.read_csv(out / "sample" / "sample_key.csv", dtype=str)
    main = analysis[~analysis["is_reserve"]].merge(key, on="sample_id")
    truth = make_shop(n_customers=800, seed=4).truth
    answers = make_interviews(main["customer_id"], truth, seed=0)
    answers[["answer_id", "customer_id", "lang", "text"]].to_csv(
        folder / "answers.csv", index=False
    )
    full["interviews"] = {"answers": "answers.csv"}
    second = run_project(_write(folder, full, "full.yml"), out)
    assert second.computed == ["code", "matrix", "report"]

    text = " ".join(p.extract_text() for p in PdfReader(second.report).pages)
    summary = pd.read_csv(out / "matrix" / "summary.csv")
    fixable = summary.query("segment == 'total' and group == 'fixable'")["primary_share"].item()
    assert f"{round(100 * fixable)}\u00a0%" in text or f"{round(100 * fixable)} %" in text
    scores = pd.read_parquet(out / "score" / "scores.parquet")
    # predicted churners are counted among customers a retention action can still reach
    reachable = scores["segment"].astype(str).isin(REACHABLE_SEGMENTS)
    churners = int(((scores["p_churn"] >= 0.5) & reachable).sum())
    assert (
        f"{churners:,}".replace(",", "\u00a0") in text or f"{churners:,}".replace(",", " ") in text
    )
