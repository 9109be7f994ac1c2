"""The sample folder (analysis CSV/XLSX, contacts, key, guide, manifest), the fielding status
report, and the ``churnkit sample`` / ``sample-status`` commands."""

from __future__ import annotations

import json
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner

import churnkit
from churnkit import draw_interview_sample, export_interview_sample, sample_status
from churnkit.cli import app
from churnkit.cli._sample import parse_quotas, register
from churnkit.core._errors import DataValidationError
from churnkit.datasets import make_shop
from churnkit.sample._export import DICTIONARY, DISPOSITIONS, FIELDING_COLUMNS

if "sample" not in {c.name for c in app.registered_commands}:
    register(app)
runner = CliRunner()


def fake_scores(shop, at: str = "2024-12-31") -> pd.DataFrame:
    """Scores shaped like ChurnModel.score, with the shop's true p(no purchase) as p_churn."""
    p = shop.p_no_purchase(at, 90)
    days = shop.orders[~(shop.orders["revenue"] < 0)].groupby("customer_id")["order_date"].nunique()
    ids = p.index.astype(str)
    rng = np.random.default_rng(0)
    value = rng.gamma(2.0, 2000.0, len(p))
    themes = np.array(["bonuses expired 12 days ago", "no order for 94 days — usually every 31",
                       "last delivery took 9 days", "last order via android app"], dtype=object)  # fmt: skip
    return pd.DataFrame(
        {
            "customer_id": ids,
            "population": np.where(ids.map(days) > 1, "loyal", "first_time"),
            "segment": "at_risk",
            "p_churn": p.to_numpy(),
            "risk_band": np.select([p >= 0.75, p >= 0.5], ["high", "medium"], "low"),
            "expected_revenue_12m": value,
            "value_at_risk": value * p.to_numpy(),
            "driver_1": themes[rng.integers(0, 4, len(p))],
            "driver_2": themes[rng.integers(0, 4, len(p))],
            "driver_3": None,
            "model_version": "gbm-test",
            "scored_at": pd.Timestamp(at),
        }
    )


@pytest.fixture(scope="module")
def shop_data():
    shop = make_shop(n_customers=2000, seed=0)
    log = churnkit.load_orders(shop.orders, customers=shop.customers)
    return fake_scores(shop), log


@pytest.fixture(scope="module")
def drawn(shop_data):
    scores, log = shop_data
    return draw_interview_sample(scores, log.customers, quotas=40, contrast=3, log=log, seed=11)


@pytest.fixture(scope="module")
def folder(drawn, tmp_path_factory):
    return export_interview_sample(drawn, tmp_path_factory.mktemp("s") / "sample")


# -- the folder --------------------------------------------------------------------------------
def test_folder_holds_every_file(folder):
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "analysis.csv",
        "analysis.xlsx",
        "contacts.csv",
        "frame_report.csv",
        "interview_guide_en.md",
        "interview_guide_ru.md",
        "manifest.json",
        "sample_key.csv",
        "strata.csv",
    ]


def test_analysis_file_is_pseudonymous(folder, shop_data):
    _, log = shop_data
    analysis = pd.read_csv(folder / "analysis.csv", dtype=str)
    assert list(analysis.columns) == list(DICTIONARY)
    assert not {"customer_id", "first_name", "phone", "email", "timezone"} & set(analysis.columns)
    text = (folder / "analysis.csv").read_text(encoding="utf-8")
    key = pd.read_csv(folder / "sample_key.csv", dtype=str)
    people = log.customers.set_index("customer_id").loc[key["customer_id"]]
    for value in [*key["customer_id"], *people["phone"], *people["email"]]:
        assert value not in text
    assert analysis[list(FIELDING_COLUMNS)].isna().all().all()
    assert key["sample_id"].tolist() == analysis["sample_id"].tolist()


def test_contact_file_has_only_contact_details(folder):
    contacts = pd.read_csv(folder / "contacts.csv", dtype=str)
    assert list(contacts.columns) == ["sample_id", "first_name", "phone", "email", "timezone"]
    assert contacts["phone"].notna().all()


def test_strata_file_is_what_the_retention_matrix_reads(folder, drawn):
    strata = pd.read_csv(folder / "strata.csv")
    assert {"stratum", "group", "eligible", "quota", "weight", "reserves"} <= set(strata.columns)
    analysis = pd.read_csv(folder / "analysis.csv")
    main = analysis[~analysis["is_reserve"]]
    sums = main.groupby("stratum")["weight"].sum()
    np.testing.assert_allclose(
        sums.to_numpy(), strata.set_index("stratum").loc[sums.index, "eligible"]
    )


def test_xlsx_sheets_headers_and_data_dictionary(folder, drawn):
    wb = load_workbook(folder / "analysis.xlsx")
    assert wb.sheetnames == ["sample", "data_dictionary", "strata"]
    sheet = wb["sample"]
    headers = [c.value for c in sheet[1]]
    assert headers == list(DICTIONARY)
    assert sheet.max_row == len(drawn.sample) + 1
    assert sheet.freeze_panes == "A2"
    dictionary = list(wb["data_dictionary"].values)
    assert dictionary[0] == ("column", "description_en", "description_ru")
    described = {row[0]: row for row in dictionary[1:]}
    assert set(described) == set(headers)
    assert all(row[1] and row[2] for row in described.values())
    # the disposition column offers exactly the allowed dispositions
    [validation] = sheet.data_validations.dataValidation
    assert validation.formula1 == '"' + ",".join(DISPOSITIONS) + '"'
    col = get_column_letter(headers.index("disposition") + 1)
    assert str(validation.sqref) == f"{col}2:{col}{sheet.max_row}"
    first = dict(zip(headers, next(sheet.iter_rows(min_row=2, values_only=True)), strict=True))
    assert first["sample_id"] == drawn.sample["sample_id"].iloc[0]
    assert first["weight"] == pytest.approx(drawn.sample["weight"].iloc[0])
    assert [c.value for c in wb["strata"][1]] == list(drawn.strata.columns)


def test_same_draw_gives_byte_identical_files(drawn, shop_data, tmp_path):
    scores, log = shop_data
    a = export_interview_sample(drawn, tmp_path / "a")
    time.sleep(1.1)  # openpyxl stamps documents and zip entries with the clock, in seconds
    again = draw_interview_sample(scores, log.customers, quotas=40, contrast=3, log=log, seed=11)
    b = export_interview_sample(again, tmp_path / "b")
    for path in sorted(a.iterdir()):
        if path.name != "manifest.json":
            assert path.read_bytes() == (b / path.name).read_bytes(), path.name
    ma, mb = (json.loads((f / "manifest.json").read_text()) for f in (a, b))
    ma.pop("created_at"), mb.pop("created_at")
    assert ma == mb
    with zipfile.ZipFile(a / "analysis.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "2024-12-31T00:00:00Z" in z.read("docProps/core.xml").decode()


def test_manifest_records_seed_and_parameters_but_no_key(folder, drawn):
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["stage"] == "sample" and manifest["seed"] == 11
    assert manifest["config"]["quotas"] == 40 and manifest["config"]["contrast"] == 3
    assert manifest["config"]["id_key"] == "derived from seed"
    assert {o["file"] for o in manifest["outputs"]} >= {"analysis.xlsx", "sample_key.csv"}


def test_interview_guides_cover_every_stratum(folder, drawn):
    ru = (folder / "interview_guide_ru.md").read_text(encoding="utf-8")
    en = (folder / "interview_guide_en.md").read_text(encoding="utf-8")
    assert ru.startswith("# Гайд интервью") and en.startswith("# Interview guide")
    for stratum in drawn.strata.loc[drawn.strata["quota"] > 0, "stratum"]:
        assert f"### {stratum}" in ru and f"### {stratum}" in en
    assert "reserve_rank" in en and "Почему вы перестали" in ru
    assert "Bonus points: did you use them?" in en  # the bonus driver asks for the bonus probe


def test_a_failed_export_keeps_the_previous_folder(folder, drawn, monkeypatch):
    before = (folder / "analysis.csv").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("churnkit.sample._export.write_xlsx", broken)
    with pytest.raises(OSError, match="disk full"):
        export_interview_sample(drawn, folder)
    assert (folder / "analysis.csv").read_bytes() == before
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".sample.")]


# -- fielding status ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Two strata: A with quota 4 and B with quota 2, reserve ratio 2."""
    n = 40
    ids = [f"c{i:02d}" for i in range(n)]
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "population": ["loyal"] * 20 + ["first_time"] * 20,
            "p_churn": 0.9,
            "risk_band": "high",
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "phone": [f"+7 912 000 00 {i:02d}" for i in range(n)],
            "research_opt_in": True,
        }
    )
    draw = draw_interview_sample(
        scores,
        customers,
        quotas={"loyal": 4, "first_time": 2},
        strata=("population",),
        reserve_ratio=2,
    )
    return export_interview_sample(draw, tmp_path_factory.mktemp("st") / "sample")


def hand_tracker(folder) -> pd.DataFrame:
    t = pd.read_csv(folder / "analysis.csv", dtype=object)
    loyal = t.index[(t["stratum"] == "loyal") & (t["is_reserve"] == "False")]
    first = t.index[(t["stratum"] == "first_time") & (t["is_reserve"] == "False")]
    rank1 = t.index[(t["stratum"] == "loyal") & (t["reserve_rank"] == "1")]
    t.loc[loyal, "disposition"] = ["completed", "Refused", "not_churned", None]
    t.loc[loyal, "attempts"] = [1, 2, 1, 3]
    t.loc[rank1, "attempts"] = 1  # a released reserve, still open
    t.loc[first, "disposition"] = ["завершено", "completed"]
    t.loc[loyal[2], "notes"] = "buys every month, just in another app"
    return t


def test_status_arithmetic_on_a_hand_made_tracker(small):
    status = sample_status(small, hand_tracker(small))
    by = status.by_stratum.set_index("stratum")
    loyal = by.loc["loyal"]
    # loyal: quota 4; main = completed, refused, not churned, open; reserve 1 released and open
    assert (loyal["released"], loyal["reserves_released"]) == (5, 1)
    assert (loyal["completed"], loyal["refused"], loyal["not_churned"], loyal["open"]) == (
        1,
        1,
        1,
        2,
    )
    assert loyal["completion"] == pytest.approx(1 / 4)
    assert loyal["response_rate"] == pytest.approx(1 / 2)  # 1 / (completed 1 + refused 1)
    assert loyal["yield_"] == pytest.approx(1 / 3)  # 1 completed of 3 closed
    assert loyal["not_churned_share"] == pytest.approx(1 / 2)
    assert loyal["reserves_left"] == 7  # 2 x 4 reserves, one released
    assert loyal["to_release"] == 1  # 4 needed - 1 completed - 2 open
    first = by.loc["first_time"]
    assert (first["completed"], first["completion"], first["to_release"]) == (2, 1.0, 0)
    design = pd.read_csv(small / "analysis.csv")
    rank2 = design.query("stratum == 'loyal' and reserve_rank == 2")["sample_id"].item()
    assert status.release_next.to_dict("records") == [
        {"sample_id": rank2, "stratum": "loyal", "reserve_rank": 2}
    ]
    assert status.not_churned["notes"].tolist() == ["buys every month, just in another app"]
    t = status.totals
    assert (t["quota"], t["completed"], t["open"], t["to_release"]) == (6, 3, 2, 1)
    assert t["response_rate"] == pytest.approx(3 / 4) and t["yield"] == pytest.approx(3 / 5)


def test_status_says_how_precise_the_matrix_will_be(small):
    """Expected interviews = min(quota, completed + (open + reserves left) × yield); the yield
    is the assumed 0.3 until 10 cases are closed. loyal: min(4, 1 + (2 + 7) · 0.3) = 3.7;
    first_time: its quota of 2 is met. Before fieldwork (no tracker) every main case is open:
    loyal min(4, (4 + 8) · 0.3) = 3.6, first_time min(2, (2 + 4) · 0.3) = 1.8."""
    status = sample_status(small, hand_tracker(small))
    expected = status.by_stratum.set_index("stratum")["expected_completes"]
    assert expected.to_dict() == pytest.approx({"loyal": 3.7, "first_time": 2.0})
    precision = status.precision.set_index("segment")
    assert precision.loc["total", "interviews"] == pytest.approx(5.7)
    assert "unreliable" in precision.loc["loyal", "flags"]
    assert any(w.startswith("loyal: about 4 interviews") for w in status.warnings)
    before = sample_status(small)
    assert before.totals["completed"] == 0 and before.totals["open"] == 6
    expected = before.by_stratum.set_index("stratum")["expected_completes"]
    assert expected.to_dict() == pytest.approx({"loyal": 3.6, "first_time": 1.8})
    assert "thin stratum" in before.precision.set_index("segment").loc["first_time", "flags"]


def test_design_precision_by_hand():
    """Strata of 4,000 (loyal) and 500 (first-time), 30 interviews each at 80% response:
    r = 24 each, W = (8/9, 1/9); Kish's n of the total
    1 / (0.790123 · (1 − 24/4000)/24 + 0.012346 · (1 − 24/500)/24) = 1 / 0.033215 = 30.108 of
    48 interviews (37% lost to unequal weights); each population alone 24/(1 − f): 24.145
    and 25.210, under the floor of 30 (about 24 · 30/24.145 = 30 interviews would reach it).
    The total's Wilson half-width at 50%, z / (2 √(n + z²)) = 0.168, is over ±15 points; the
    effective n for ±15 is z²/(4 · 0.15²) − z² = 38.8, about 48 · 38.8/30.1 = 62 interviews."""
    from churnkit.sample._precision import design_precision

    strata = pd.DataFrame(
        {
            "stratum": ["a", "b"],
            "population": ["loyal", "first_time"],
            "eligible": [4000, 500],
            "quota": [30, 30],
        }
    )
    table, warnings = design_precision(strata, 0.8)
    table = table.set_index("segment")
    assert table["n_kish"].to_dict() == pytest.approx(
        {"loyal": 24.144869, "first_time": 25.210084, "total": 30.107793}, abs=1e-5
    )
    assert table.loc["total", "halfwidth_50"] == pytest.approx(0.168191, abs=1e-6)
    assert table.loc["total", "flags"] == "wide, weighting loss, rare reasons"
    assert table.loc["loyal", "flags"] == "unreliable, rare reasons"
    assert any("37% lost to unequal weights" in w for w in warnings)
    assert any(w.startswith("loyal:") and "Plan about 30 interviews" in w for w in warnings)
    assert any("About 62 interviews (more in a)" in w for w in warnings)
    # reserves replace non-respondents: min(10, (10 + 30) · 0.3) = 10 interviews
    with_reserves = design_precision(strata.assign(quota=10, reserves=30), 0.3)[0]
    assert with_reserves["interviews"].tolist() == [10.0, 10.0, 20.0]


def test_status_reads_the_filled_xlsx(small, tmp_path):
    wb = load_workbook(small / "analysis.xlsx")
    sheet = wb["sample"]
    headers = [c.value for c in sheet[1]]
    tracker = hand_tracker(small)
    for i, value in enumerate(tracker["disposition"], start=2):
        sheet.cell(i, headers.index("disposition") + 1).value = value
    for i, value in enumerate(tracker["attempts"], start=2):
        sheet.cell(i, headers.index("attempts") + 1).value = None if pd.isna(value) else int(value)
    wb.save(tmp_path / "filled.xlsx")
    from_xlsx = sample_status(small, tmp_path / "filled.xlsx")
    from_frame = sample_status(small, tracker)
    cols = ["stratum", "completed", "open", "to_release"]
    pd.testing.assert_frame_equal(from_xlsx.by_stratum[cols], from_frame.by_stratum[cols])


def test_status_rejects_a_bad_tracker(small):
    t = hand_tracker(small)
    t.loc[3, "disposition"] = "maybe later"
    with pytest.raises(DataValidationError, match=r"row 5: disposition 'maybe later'"):
        sample_status(small, t)
    t = hand_tracker(small)
    t.loc[0, "sample_id"] = "Sdeadbeef0000"
    with pytest.raises(DataValidationError, match="another draw"):
        sample_status(small, t)
    with pytest.raises(DataValidationError, match="main-sample cases are missing"):
        sample_status(small, hand_tracker(small).iloc[1:])


# -- command line ------------------------------------------------------------------------------
def test_parse_quotas():
    assert parse_quotas(["300"]) == 300
    assert parse_quotas(["loyal|high=10", "first_time|high=5"]) == {
        "loyal|high": 10,
        "first_time|high": 5,
    }
    with pytest.raises(ValueError, match="stratum=number"):
        parse_quotas(["loyal|high"])


def test_cli_sample_then_status(shop_data, tmp_path):
    scores, log = shop_data
    scores.to_csv(tmp_path / "scores.csv", index=False)
    log.customers.to_csv(tmp_path / "customers.csv", index=False)
    out = tmp_path / "sample"
    args = ["sample", str(tmp_path / "scores.csv"), "--customers", str(tmp_path / "customers.csv")]
    result = runner.invoke(app, [*args, "--quota", "30", "--seed", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Strata" in result.output and (out / "analysis.xlsx").exists()
    assert "Expected precision of the retention matrix" in result.output
    result = runner.invoke(app, ["sample-status", str(out)])  # before fieldwork
    assert result.exit_code == 0, result.output
    assert "Expected precision" in result.output and "No tracker yet" in result.output
    tracker = pd.read_csv(out / "analysis.csv", dtype=object)
    tracker.loc[tracker.index[:5], "disposition"] = "refused"
    tracker.to_csv(tmp_path / "filled.csv", index=False)
    result = runner.invoke(
        app, ["sample-status", str(out), "--tracker", str(tmp_path / "filled.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "Release next" in result.output and "0/30 interviews" in result.output


def test_cli_impossible_quota_is_one_paragraph(shop_data, tmp_path):
    scores, log = shop_data
    scores.to_csv(tmp_path / "scores.csv", index=False)
    log.customers.to_csv(tmp_path / "customers.csv", index=False)
    args = ["sample", str(tmp_path / "scores.csv"), "--customers", str(tmp_path / "customers.csv")]
    result = runner.invoke(app, [*args, "-q", "loyal|high=100000", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "loyal|high" in result.output and "eligible" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "s").exists()


def test_status_flags_a_quota_out_of_reach(small):
    t = pd.read_csv(small / "analysis.csv", dtype=object)
    t.loc[t["stratum"] == "loyal", "disposition"] = "refused"  # main cases and every reserve
    status = sample_status(small, t)
    by = status.by_stratum.set_index("stratum")
    assert not by.loc["loyal", "quota_reachable"] and by.loc["first_time", "quota_reachable"]
    assert status.totals["unreachable_strata"] == ["loyal"]
    assert by.loc["loyal", "to_release"] == 0 and by.loc["loyal", "response_rate"] == 0
    assert sample_status(small, hand_tracker(small)).totals["unreachable_strata"] == []
