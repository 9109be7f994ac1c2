"""The project config: defaults, relative paths, and errors that name the key and the fix."""

from __future__ import annotations

import datetime as dt

import pytest

from churnkit.core._errors import ConfigError
from churnkit.pipeline._config import ProjectConfig, load_config


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "orders.csv").write_text("customer_id,order_date,revenue\n1,2024-01-01,5\n")
    return tmp_path


def _load(folder, text: str) -> ProjectConfig:
    path = folder / "project.yml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_minimal_config_gets_defaults_and_resolves_paths(folder):
    config = _load(folder, "data:\n  orders: orders.csv\nas_of: 2024-12-31\n")
    assert config.as_of == dt.date(2024, 12, 31)
    assert config.horizon == 90
    assert config.report.lang == "en"
    assert config.sample.strata == ["population", "risk_band"]
    assert config.files() == {"data.orders": folder / "orders.csv"}


def test_full_config_reads_every_section(folder):
    (folder / "rules.yaml").write_text("segments: []\n")
    (folder / "answers.csv").write_text("answer_id,text\n")
    config = _load(
        folder,
        """
data:
  orders: orders.csv
  columns: {customer_id: Код клиента}
  sep: ";"
horizon: 60
segments: {rules: rules.yaml, freq: Q}
model: {cutoffs: [2024-03-31, 2024-06-30, 2024-09-30], n_boot: 10, params: {num_boost_round: 50}}
sample: {quotas: {loyal|high: 20}, threshold: 0.6}
interviews: {answers: answers.csv}
report: {lang: ru, title: Отток, brand: "#7a1f3d", actions: {loyal: {channel: Пуш}}}
""",
    )
    assert config.data.columns == {"customer_id": "Код клиента"}
    assert config.model.cutoffs[0] == dt.date(2024, 3, 31)
    assert config.sample.quotas == {"loyal|high": 20}
    assert set(config.files()) == {"data.orders", "segments.rules", "interviews.answers"}
    assert config.report.actions["loyal"]["channel"] == "Пуш"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data: {orders: orders.csv}\nhorizn: 90\n", r"horizn: unknown key; remove it"),
        ("data: {orders: orders.csv}\nsample: {quotaz: 3}\n", r"sample.quotaz: unknown key"),
        ("data: {orders: orders.csv}\nas_of: 2024-13-01\n", r"as_of: not a date: '2024-13-01'; write it as YYYY-MM-DD"),
        ("data: {orders: orders.csv}\nmodel: {cutoffs: [2024-01-31, soon]}\n", r"model.cutoffs.1: not a date: 'soon'"),
        ("data: {orders: x.csv}\n", r"data.orders: file not found: .*x.csv\. Check the path"),
        ("data: {orders: orders.csv, customers: c.csv}\n", r"data.customers: file not found"),
        ("data: {orders: orders.csv}\ninterviews: {coding_sheets: [a.xlsx]}\n", r"interviews.coding_sheets.0: file not found"),
        ("horizon: 90\n", r"data: required; add it"),
        ("data: {orders: orders.csv}\nreport: {lang: de}\n", r"report.lang: 'de' is not allowed"),
        ("data: {orders: orders.csv}\nhorizon: 3\n", r"horizon: Input should be greater than or equal to 7"),
        ("data: {orders: orders.csv}\nreport: {brand: red}\n", r"report.brand: String should match"),
        ("- just\n- a list\n", r"expected a mapping of settings"),
        ("data: {orders: [unclosed\n", r"not valid YAML"),
    ],
)  # fmt: skip
def test_errors_name_the_key_and_the_fix(folder, text, message):
    with pytest.raises(ConfigError, match=message):
        _load(folder, text)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yml")


def test_validation_error_is_chained(folder):
    with pytest.raises(ConfigError) as info:
        _load(folder, "data: {orders: orders.csv}\nseed: -1\n")
    assert info.value.__cause__ is not None
    assert "seed:" in str(info.value)
