"""``churnkit code | coding-sheet | reliability | matrix | codebook check`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

import churnkit
from churnkit.cli._app import _main
from churnkit.cli._coding import register

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    # a private app with the same callback (--debug) so the test does not depend on the lead's
    # wiring of register() into churnkit.cli.app
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
    app.callback()(_main)
    register(app)
    return app


ANSWERS = pd.DataFrame(
    {
        "sample_id": ["S1", "S2", "S3", "S4"],
        "text": [
            "Цены нормальные, но курьер опоздал",
            "Mainly my bonus points expired; also found it cheaper elsewhere",
            "Приложение вылетает при оплате",
            "Нашла дешевле на Озоне",
        ],
    }
)


@pytest.mark.parametrize(
    "command",
    [["code"], ["coding-sheet"], ["reliability"], ["matrix"], ["codebook", "check"]],
)
def test_help(app, command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_code_writes_codes_saturation_and_manifest(app, tmp_path):
    answers = tmp_path / "answers.csv"
    ANSWERS.to_csv(answers, index=False, encoding="cp1251")  # a Russian Excel export
    out = tmp_path / "coding"
    result = runner.invoke(app, ["code", str(answers), "--id-col", "sample_id", "--out", str(out)])
    assert result.exit_code == 0, result.output
    codes = pd.read_csv(out / "codes.csv")
    primary = codes[codes["is_primary"]].set_index("sample_id")["theme"]
    assert primary.to_dict() == {
        "S1": "delivery",
        "S2": "loyalty",
        "S3": "technical",
        "S4": "price",
    }
    assert len(pd.read_csv(out / "saturation.csv")) == 4
    assert json.loads((out / "manifest.json").read_text())["stage"] == "code"
    assert "interview" in result.output  # the saturation sentence
    # same input, same bytes
    again = tmp_path / "again"
    runner.invoke(app, ["code", str(answers), "--id-col", "sample_id", "--out", str(again)])
    assert (again / "codes.csv").read_bytes() == (out / "codes.csv").read_bytes()


def test_sheet_reliability_and_matrix_round_trip(app, tmp_path):
    answers = tmp_path / "answers.xlsx"
    ANSWERS.to_excel(answers, index=False)
    sheet = tmp_path / "sheet.xlsx"
    result = runner.invoke(
        app,
        ["coding-sheet", str(answers), "--id-col", "sample_id", "-c", "A", "-c", "B",
         "--n-codes", "2", "--out", str(sheet)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    wb = load_workbook(sheet)
    ws = wb["coding"]
    fills = {"E2": "delivery", "G2": "delivery", "E3": "loyalty", "F3": "price", "G3": "loyalty"}
    fills |= {"E4": "technical", "G4": "technical", "E5": "price", "G5": "price"}
    for ref, value in fills.items():
        ws[ref] = value
    wb.save(sheet)
    rel = tmp_path / "rel"
    result = runner.invoke(app, ["reliability", str(sheet), "--out", str(rel)])
    assert result.exit_code == 0, result.output
    final = pd.read_csv(rel / "final_codes.csv")
    assert sorted(final["code"]) == ["delivery", "loyalty", "price", "technical"]
    todo = pd.read_csv(rel / "disagreements.csv")
    assert todo[["answer_id", "code"]].values.tolist() == [["S2", "price"]]
    assert "alpha" in pd.read_csv(rel / "reliability.csv").columns

    # the matrix from the agreed codes, a sample file and scores
    codes = final.rename(columns={"answer_id": "sample_id"})
    codes.to_csv(tmp_path / "final.csv", index=False)
    sample = pd.DataFrame(
        {
            "sample_id": ["S1", "S2", "S3", "S4", "S5"],
            "stratum": ["loyal", "loyal", "first_time", "first_time", "loyal"],
            "population": ["loyal", "loyal", "first_time", "first_time", "loyal"],
            "weight": [100.0, 100.0, 300.0, 300.0, 100.0],
            "is_reserve": [False, False, False, False, True],
        }
    )
    sample.to_csv(tmp_path / "sample.csv", index=False)
    scores = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "population": ["loyal", "first_time"],
            "p_churn": [0.8, 0.9],
            "value_at_risk": [1000.0, 2000.0],
        }
    )
    scores.to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "matrix"
    result = runner.invoke(
        app,
        ["matrix", str(tmp_path / "final.csv"), str(tmp_path / "sample.csv"),
         str(tmp_path / "scores.csv"), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "cells.csv",
        "headline.json",
        "low_hanging_fruit.csv",
        "manifest.json",
        "matrix.svg",
        "matrix.xlsx",
        "summary.csv",
    ]
    fruit = pd.read_csv(out / "low_hanging_fruit.csv")
    # loyalty: loyal 1/2 x 1000 = 500; technical: first-time 1/2 x 2000 = 1000
    assert fruit["code"].tolist() == ["technical", "loyalty"]
    assert fruit["money_at_risk"].tolist() == pytest.approx([1000.0, 500.0])
    assert "Obvious reasons" in result.output


def test_codebook_check(app, tmp_path):
    result = runner.invoke(app, ["codebook", "check"])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output
    default = Path(churnkit.__file__).parent / "coding" / "codebooks" / "default.yaml"
    data = yaml.safe_load(default.read_text(encoding="utf-8"))
    data["codes"][0]["group"] = "obvous"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["codebook", "check", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "obvous" in result.output


def test_errors_are_one_paragraph_with_exit_code_2(app, tmp_path):
    sheet = tmp_path / "sheet.xlsx"
    ANSWERS.rename(columns={"sample_id": "answer_id"}).to_excel(tmp_path / "a.xlsx", index=False)
    runner.invoke(app, ["coding-sheet", str(tmp_path / "a.xlsx"), "-c", "A", "--out", str(sheet)])
    wb = load_workbook(sheet)
    wb["coding"]["E3"] = "prise"
    wb.save(sheet)
    result = runner.invoke(app, ["reliability", str(sheet), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "row 3, cell E3: 'prise' is not a code" in " ".join(result.output.split())
    result = runner.invoke(app, ["code", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "missing.csv" in result.output
