"""The command line: help, outputs, the error paragraph, and reproducible demo CSVs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from churnkit.cli import app

runner = CliRunner()

GOOD_CSV = (
    "Код клиента;Дата заказа;Сумма\n"
    "C1;01.02.2024;100,50\n"
    "C1;01.03.2024;200,00\n"
    "C2;15.03.2024;50,00\n"
    "C2;15.03.2024;50,00\n"  # an exact duplicate: rejected and reported
    "C3;20.04.2024;-30,00\n"  # a return: kept
)
MAPS = ["-m", "customer_id=Код клиента", "-m", "order_date=Дата заказа", "-m", "revenue=Сумма"]


@pytest.fixture
def orders_csv(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(GOOD_CSV.encode("cp1251"))
    return path


@pytest.mark.parametrize("command", [[], ["validate"], ["segment"], ["demo"]])
def test_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_validate_writes_report_and_manifest(orders_csv, tmp_path):
    out = tmp_path / "validation"
    result = runner.invoke(app, ["validate", str(orders_csv), *MAPS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "validation_report.json").read_text())
    assert report["report"]["rows_read"] == 5
    assert report["report"]["rows_used"] == 4
    assert (out / "rejected_rows.csv").read_text().count("\n") == 2  # header + the duplicate
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "validate"
    assert manifest["inputs"]["orders"]["files"][0]["name"] == "orders.csv"


def test_missing_column_is_one_paragraph_with_exit_code_2(orders_csv, tmp_path):
    result = runner.invoke(app, ["validate", str(orders_csv), "--out", str(tmp_path / "v")])
    assert result.exit_code == 2
    assert "order_date" in result.output and "Дата заказа" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "v").exists()


def test_debug_shows_the_exception(orders_csv, tmp_path):
    from churnkit import MissingColumnError

    result = runner.invoke(
        app, ["--debug", "validate", str(orders_csv), "--out", str(tmp_path / "v")]
    )
    assert isinstance(result.exception, MissingColumnError)


def test_bad_mapping_option(orders_csv, tmp_path):
    result = runner.invoke(
        app, ["validate", str(orders_csv), "-m", "order_date", "--out", str(tmp_path / "v")]
    )
    assert result.exit_code == 2
    assert "canonical=YourColumn" in result.output


def test_missing_file(tmp_path):
    result = runner.invoke(
        app, ["validate", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "v")]
    )
    assert result.exit_code == 2
    assert "nope.csv" in result.output


def test_segment_writes_tables_and_figures(orders_csv, tmp_path):
    out = tmp_path / "segments"
    result = runner.invoke(
        app, ["segment", str(orders_csv), *MAPS, "--at", "2024-04-30", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in (
        "segments.csv",
        "segment_profile.csv",
        "segment_dynamics.csv",
        "segment_migration.csv",
        "manifest.json",
    ):
        assert (out / name).exists(), name
    assert (out / "figures" / "retention_rates.png").stat().st_size > 1000


@pytest.mark.slow
def test_demo_is_reproducible(tmp_path):
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        result = runner.invoke(
            app, ["demo", "--customers", "1500", "--seed", "3", "--out", str(folder)]
        )
        assert result.exit_code == 0, result.output
    csvs = sorted(p.relative_to(folders[0]) for p in folders[0].rglob("*.csv"))
    assert len(csvs) >= 8
    for rel in csvs:
        assert (folders[0] / rel).read_bytes() == (folders[1] / rel).read_bytes(), rel
    assert (folders[0] / "report" / "churn_report.pdf").stat().st_size > 10_000
    assert "churn_report.pdf" in result.output  # the demo ends by naming the PDF
    report = json.loads((folders[0] / "validate" / "validation_report.json").read_text())["report"]
    assert report["rows_read"] == report["rows_used"] + sum(report["rejected_counts"].values())
    assert report["rejected_counts"]  # the demo plants data problems and the report finds them
