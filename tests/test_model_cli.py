"""`churnkit backtest | fit | score`: outputs, manifests, and the error paragraph."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churnkit.cli._app import _main
from churnkit.cli._models import _cutoffs, register
from churnkit.core._errors import ChurnkitError
from churnkit.datasets import make_shop
from churnkit.models._churn_model import SCORE_COLUMNS

runner = CliRunner()
CUTOFFS = "2023-06-30:2024-06-30:QE"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    # the commands on their own app, with the main app's --debug callback
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
    app.callback()(_main)
    register(app)
    return app


@pytest.fixture(scope="module")
def orders(tmp_path_factory):
    path = tmp_path_factory.mktemp("shop") / "orders.parquet"
    make_shop(n_customers=1500, seed=4).orders.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("command", ["backtest", "fit", "score"])
def test_help(app, command) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_cutoffs_option() -> None:
    assert _cutoffs("2024-03-31:2024-09-30:QE") == ["2024-03-31", "2024-06-30", "2024-09-30"]
    assert _cutoffs("2024-01-31, 2024-02-29") == ["2024-01-31", "2024-02-29"]
    with pytest.raises(ChurnkitError, match="START:END:FREQ"):
        _cutoffs("2024-01-01:2024-06-30:fortnightly")


def test_bad_input_exits_2_with_one_paragraph(app, orders, tmp_path) -> None:
    result = runner.invoke(
        app, ["fit", str(orders), "--cutoffs", "2024-06-30", "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert "error:" in result.output and "Add a cutoff on or before" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_fit_score_backtest(app, orders, tmp_path) -> None:
    model_dir = tmp_path / "fit"
    result = runner.invoke(app, ["fit", str(orders), "--cutoffs", CUTOFFS, "--out", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert (model_dir / "model" / "model.json").is_file()
    assert (model_dir / "figures" / "shap_loyal.svg").is_file()
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["stage"] == "fit" and manifest["config"]["horizon"] == 90

    scores_dir = tmp_path / "scores"
    args = ["score", str(orders), "--model", str(model_dir / "model"), "--at", "2024-09-30"]
    result = runner.invoke(app, [*args, "--format", "csv", "--out", str(scores_dir)])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(scores_dir / "scores.csv")
    assert list(scores.columns) == list(SCORE_COLUMNS)
    summary = json.loads((scores_dir / "score_summary.json").read_text())
    assert summary["customers_scored"] == len(scores)
    # same inputs, same bytes
    again = tmp_path / "scores2"
    runner.invoke(app, [*args, "--format", "csv", "--out", str(again)])
    assert (again / "scores.csv").read_bytes() == (scores_dir / "scores.csv").read_bytes()

    bt = tmp_path / "bt"
    result = runner.invoke(
        app,
        ["backtest", str(orders), "--cutoffs", "2023-06-30:2024-09-30:QE", "--models",
         "recency,bgnbd", "--n-boot", "10", "--out", str(bt)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(bt / "backtest.csv")
    assert set(table["model"]) == {"recency", "bgnbd"}
    assert (bt / "backtest_summary.csv").is_file()
