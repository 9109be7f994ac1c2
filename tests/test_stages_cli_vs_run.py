"""Every stage through its command and through ``churnkit run``, on the same inputs: same bytes.

The command line and the project run call the same stage functions, so each stage folder must
hold the same files with the same bytes. Only ``manifest.json`` records how the stage was
called (the inputs as given, the time); its list of outputs and their hashes must agree too.
The report's run manifest (stage keys, cache status, seconds) exists only under ``run``, so
the report's data is compared without it (and the PDF, which prints it, is not compared).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnkit.cli import app
from churnkit.pipeline._config import REACHABLE_SEGMENTS, ProjectConfig
from churnkit.pipeline._demo import _field
from churnkit.pipeline._runner import KEY_FILE, run_project

runner = CliRunner()
SEED = 0


@pytest.fixture(scope="module")
def study(tmp_path_factory, export_shop):
    """A small shop run through every stage by ``run_project``, then fielded and coded."""
    folder = tmp_path_factory.mktemp("study")
    shop, data = export_shop(folder, n_customers=1500, seed=3)
    end = shop.end - pd.Timedelta(days=90)
    cutoffs = [str(d.date()) for d in pd.date_range(shop.start, end, freq="QE")[-3:]]
    spec = {
        "data": data,
        "as_of": str(shop.end.date()),
        "seed": SEED,
        "model": {"cutoffs": cutoffs, "models": ["gbm", "recency"], "n_boot": 5},
        "sample": {"quotas": 30},
        "report": {"lang": "en"},
    }
    out = folder / "run"
    run_project(ProjectConfig.from_dict(spec, base_dir=folder), out)
    _field(out / "sample", shop, SEED, folder / "answers.csv")
    spec["interviews"] = {"answers": "answers.csv"}
    run_project(ProjectConfig.from_dict(spec, base_dir=folder), out)
    load = [
        *[f"--map={k}={v}" for k, v in data["columns"].items()],
        f"--customers={folder / 'customers.csv'}",
        *[f"--customer-map={k}={v}" for k, v in data["customer_columns"].items()],
        f"--as-of={shop.end.date()}",
    ]
    return {"folder": folder, "run": out, "load": load, "cutoffs": ",".join(cutoffs)}


def _cli(*args: str | Path) -> None:
    result = runner.invoke(app, ["--debug", *map(str, args)])
    assert result.exit_code == 0, result.output


def _same_outputs(cli: Path, run: Path) -> None:
    files = sorted(
        p.relative_to(run)
        for p in run.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", KEY_FILE)
    )
    assert files == sorted(
        p.relative_to(cli) for p in cli.rglob("*") if p.is_file() and p.name != "manifest.json"
    )
    for name in files:
        assert (cli / name).read_bytes() == (run / name).read_bytes(), name
    outputs = [json.loads((f / "manifest.json").read_text())["outputs"] for f in (cli, run)]
    assert outputs[0] == outputs[1]


def test_validate(study, tmp_path):
    _cli("validate", study["folder"] / "orders.csv", *study["load"], "--out", tmp_path / "v")
    _same_outputs(tmp_path / "v", study["run"] / "validate")


def test_segments(study, tmp_path):
    _cli("segment", study["folder"] / "orders.csv", *study["load"], "--out", tmp_path / "s")
    _same_outputs(tmp_path / "s", study["run"] / "segments")


def test_backtest(study, tmp_path):
    orders, cutoffs = study["folder"] / "orders.csv", study["cutoffs"]
    args = ["--cutoffs", cutoffs, "--models", "gbm,recency", "--n-boot", "5", "--seed", SEED]
    _cli("backtest", orders, *study["load"], *args, "--out", tmp_path / "b")
    _same_outputs(tmp_path / "b", study["run"] / "backtest")


def test_fit(study, tmp_path):
    orders, cutoffs = study["folder"] / "orders.csv", study["cutoffs"]
    _cli(
        "fit", orders, *study["load"], "--cutoffs", cutoffs, "--seed", SEED, "--out", tmp_path / "f"
    )
    _same_outputs(tmp_path / "f", study["run"] / "fit")


def test_score(study, tmp_path):
    model = study["run"] / "fit" / "model"
    orders = study["folder"] / "orders.csv"
    _cli("score", orders, *study["load"], "--model", model, "--out", tmp_path / "s")
    _same_outputs(tmp_path / "s", study["run"] / "score")


def test_sample(study, tmp_path):
    orders, scores = study["folder"] / "orders.csv", study["run"] / "score"
    segments = ",".join(REACHABLE_SEGMENTS)
    args = ["--quota", "30", "--segments", segments, "--seed", SEED, "--orders", orders]
    _cli("sample", scores, *study["load"], *args, "--out", tmp_path / "s")
    _same_outputs(tmp_path / "s", study["run"] / "sample")


def test_code(study, tmp_path):
    answers, sample = study["folder"] / "answers.csv", study["run"] / "sample"
    _cli("code", answers, "--sample", sample, "--out", tmp_path / "c")
    _same_outputs(tmp_path / "c", study["run"] / "code")


def test_matrix(study, tmp_path):
    run = study["run"]
    codes, sample, scores = run / "code" / "final_codes.csv", run / "sample", run / "score"
    # the threshold and the segments are the sample's own (its manifest) unless given
    _cli("matrix", codes, sample, scores, "--out", tmp_path / "m")
    _same_outputs(tmp_path / "m", run / "matrix")


def test_report(study, tmp_path):
    run = study["run"]
    _cli("report", run, "--lang", "en", "--out", tmp_path / "r")
    cli, ran = tmp_path / "r", run / "report"
    for name in ("churn_report.typ", *(f"figures/{p.name}" for p in (ran / "figures").iterdir())):
        assert (cli / name).read_bytes() == (ran / name).read_bytes(), name
    data = [_without_run_manifest(json.loads((f / "data.json").read_text())) for f in (cli, ran)]
    assert data[0] == data[1]
    assert (cli / "churn_report.pdf").is_file()


def _without_run_manifest(data: dict) -> dict:
    """The report data but the appendix's last part: the run's stage keys and timings."""
    for section in data["sections"]:
        if section["id"] == "appendix":
            last = max(i for i, b in enumerate(section["blocks"]) if b["type"] == "heading")
            section["blocks"] = section["blocks"][:last]
    return data
