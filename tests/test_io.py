"""Loading orders and customers: formats, column mapping, one reason per rejected row."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnkit import (
    ConfigError,
    DataValidationError,
    MissingColumnError,
    TransactionLog,
    build_features,
    load_customers,
    load_orders,
)

HEADER = ["customer_id", "order_date", "revenue", "order_id"]
GOOD = [
    ["c1", "2024-01-05", "100", "o1"],
    ["c2", "2024-01-06", "50.5", "o2"],
    ["c1", "2024-02-01", "20", "o3"],
]
AS_OF = "2024-06-30"


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], *, sep: str = ";", encoding: str = "utf-8"
) -> Path:
    text = "\n".join(sep.join(r) for r in [header, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


# -- one fixture per rejection reason ------------------------------------------------------------
BAD_ROWS = {
    "missing_customer_id": (["  ", "2024-01-07", "10", "o9"], "  "),
    "missing_date": (["c3", "", "10", "o9"], ""),
    "unparseable_date": (["c3", "2024-02-31", "10", "o9"], "2024-02-31"),
    "implausible_date": (["c3", "1900-01-01", "10", "o9"], "1900-01-01"),
    "future_date": (["c3", "2024-07-01", "10", "o9"], "2024-07-01"),
    "missing_revenue": (["c3", "2024-01-07", "", "o9"], ""),
    "non_numeric_revenue": (["c3", "2024-01-07", "н/д", "o9"], "н/д"),
    "test_account": (["tester", "2024-01-07", "10", "o9"], "tester"),
    "exact_duplicate": (list(GOOD[0]), "duplicate of row 1"),
}


@pytest.mark.parametrize("reason", list(BAD_ROWS))
def test_each_rejection_reason(tmp_path, reason):
    bad, value = BAD_ROWS[reason]
    rows = [GOOD[0], bad, *GOOD[1:]]  # the bad row is data row 2, file line 3
    path = write_csv(tmp_path / "orders.csv", HEADER, rows)
    customers = pd.DataFrame(
        {"customer_id": ["c1", "c2", "c3", "tester"], "is_test": ["no", "no", "no", "yes"]}
    )
    log = load_orders(path, customers=customers, as_of=AS_OF)
    report = log.report
    assert report.rejected_counts == {reason: 1}
    assert report.examples[reason] == [(2, value)]
    assert 2 not in log.orders["source_row"].tolist()
    assert log.orders["source_row"].tolist() == [1, 3, 4]
    rejected = report.rejected
    assert rejected[["source_row", "reason", "value"]].values.tolist() == [[2, reason, value]]
    assert rejected["order_id"].tolist() == [bad[3]]  # the raw source columns are kept
    assert "2 (file line 3)" in report.reasons_table()["example_rows"].item()
    assert report.reconciles and report.rows_read == 4 and report.rows_used == 3


def test_first_matching_reason_wins(tmp_path):
    # no customer, no date and no revenue: only the first reason counts
    path = write_csv(tmp_path / "orders.csv", HEADER, [*GOOD, ["", "", "", "o9"]])
    report = load_orders(path, as_of=AS_OF).report
    assert report.rejected_counts == {"missing_customer_id": 1}


def test_future_date_defaults_to_today():
    tomorrow = (pd.Timestamp.today().normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    frame = pd.DataFrame([*GOOD, ["c3", tomorrow, "1", "o9"]], columns=HEADER)
    log = load_orders(frame)
    assert log.report.rejected_counts == {"future_date": 1}
    assert log.as_of == pd.Timestamp("2024-02-01")  # the log's own end, not today


# -- reconciliation: random mixes of good and bad rows ---------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(["good", *BAD_ROWS]), min_size=1, max_size=30),
    st.randoms(use_true_random=False),
)
def test_random_mixes_reconcile_and_keep_every_good_row(kinds, rnd):
    # a good first row: a file where no date or amount at all can be read is a structural error
    rows, expected = [], {}
    for i, kind in enumerate(["good", *kinds]):
        if kind == "exact_duplicate" and rows:
            rows.append(list(rnd.choice(rows)))
            expected[i + 1] = None  # a duplicate of a rejected row takes that row's reason
            continue
        if kind in ("good", "exact_duplicate"):
            day = 1 + rnd.randrange(28)
            rows.append(
                [
                    f"c{rnd.randrange(5)}",
                    f"2024-03-{day:02d}",
                    f"{rnd.uniform(-50, 500):.2f}",
                    f"o{i}",
                ]
            )
            expected[i + 1] = "good"
            continue
        bad = list(BAD_ROWS[kind][0])
        bad[3] = f"o{i}"  # unique order ids: only planted rows are duplicates
        rows.append(bad)
        expected[i + 1] = kind
    customers = pd.DataFrame({"customer_id": ["tester"], "is_test": [True]})
    log = load_orders(pd.DataFrame(rows, columns=HEADER), customers=customers, as_of=AS_OF)
    report = log.report
    assert report.reconciles
    assert report.rows_read == len(rows) == len(log.orders) + len(report.rejected)
    kept = set(log.orders["source_row"])
    assert {row for row, kind in expected.items() if kind == "good"} <= kept
    reasons = dict(zip(report.rejected["source_row"], report.rejected["reason"], strict=True))
    for row, kind in expected.items():
        if kind not in (None, "good"):
            assert reasons[row] == kind
    assert kept.isdisjoint(reasons)


# -- formats ---------------------------------------------------------------------------------
def test_cp1251_semicolon_decimal_comma_round_trip(tmp_path):
    header = ["Код клиента", "Дата заказа", "Сумма", "Количество", "Категория"]
    rows = [
        ["К-001", "31.01.2024", "1 234,56", "2", "сухой корм"],
        ["К-002", "01.02.2024", "12\u00a0345,5", "1", "наполнитель"],
        ["К-001", "15.02.2024 14:05:33", "-99,90", "1", "лакомства"],
    ]
    path = write_csv(tmp_path / "выгрузка.csv", header, rows, encoding="cp1251")
    columns = {
        "customer_id": "Код клиента",
        "order_date": "Дата заказа",
        "revenue": "Сумма",
        "quantity": "Количество",
        "category": "Категория",
    }
    log = load_orders(path, columns, as_of=AS_OF)
    orders = log.orders
    assert isinstance(log, TransactionLog)
    assert orders["customer_id"].tolist() == ["К-001", "К-002", "К-001"]
    assert str(orders["customer_id"].dtype) == "string"
    assert orders["customer_id"].dtype.storage == "pyarrow"
    assert orders["revenue"].tolist() == [1234.56, 12345.5, -99.9]
    assert orders["order_date"].tolist() == list(
        pd.to_datetime(["2024-01-31", "2024-02-01", "2024-02-15"])
    )
    assert orders["order_datetime"].iloc[2] == pd.Timestamp("2024-02-15 14:05:33")
    assert orders["quantity"].dtype == np.float64
    assert orders["category"].tolist() == ["сухой корм", "наполнитель", "лакомства"]
    assert orders["is_return"].tolist() == [False, False, True]
    assert log.report.n_returns == 1 and log.report.n_rejected == 0


def test_utf8_bom_comma_separator_and_numeric_user_column(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(
        "\ufeffcustomer_id,order_date,revenue,score,code\n1,2024-01-31,10.5,3,007\n2,2024-02-01,7,4.5,012\n".encode()
    )
    orders = load_orders(path, as_of=AS_OF).orders
    assert list(orders.columns) == [
        "customer_id",
        "order_date",
        "revenue",
        "is_return",
        "score",
        "code",
        "source_row",
    ]
    assert orders["customer_id"].tolist() == ["1", "2"]
    assert orders["score"].tolist() == [3.0, 4.5]
    assert orders["code"].tolist() == ["007", "012"]  # leading zeros: a code, kept as text


def test_tab_separated_with_day_first_slashes(tmp_path):
    rows = [["a", "31/01/2024", "1"], ["b", "05/02/2024", "2"]]
    path = write_csv(
        tmp_path / "orders.tsv", ["customer_id", "order_date", "revenue"], rows, sep="\t"
    )
    orders = load_orders(path, as_of=AS_OF).orders
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-05")]


def test_ambiguous_dates_ask_for_date_format(tmp_path):
    rows = [["a", "01/02/2024", "1"], ["b", "03/04/2024", "2"]]
    path = write_csv(tmp_path / "orders.csv", ["customer_id", "order_date", "revenue"], rows)
    with pytest.raises(DataValidationError, match="date_format="):
        load_orders(path, as_of=AS_OF)
    orders = load_orders(path, as_of=AS_OF, date_format="%m/%d/%Y").orders
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-03-04")]


def test_parquet_file_and_folder(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": np.array([10, 11, 10], dtype=np.int64),
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).date,
            "revenue": [1.0, -2.0, 3.0],
            "order_id": np.array([1, 2, 3], dtype=np.int64),
            "category": ["x", "y", "x"],
        }
    )
    frame.to_parquet(tmp_path / "orders.parquet")
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "a.parquet")
    frame.iloc[2:].to_parquet(folder / "b.parquet")
    for source in (tmp_path / "orders.parquet", folder):
        log = load_orders(source, as_of=AS_OF)
        orders = log.orders
        assert sorted(orders["customer_id"]) == ["10", "10", "11"]
        assert orders["order_id"].dtype.storage == "pyarrow"
        assert orders["order_date"].dtype == "datetime64[ns]"
        assert "order_datetime" not in orders
        assert log.report.n_returns == 1 and log.report.line_offset is None


def test_typed_dataframe_keeps_times_and_user_columns():
    frame = pd.DataFrame(
        {
            "customer_id": [1.0, 2.0, np.nan],  # Excel turned the ids into floats
            "order_date": pd.to_datetime(
                ["2024-01-01 10:30", "2024-01-02 00:00", "2024-01-03 00:00"]
            ),
            "revenue": [1, 2, 3],
            "flag": [True, False, True],
        }
    )
    log = load_orders(frame, as_of=AS_OF)
    orders = log.orders
    assert orders["customer_id"].tolist() == ["1", "2"]
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    assert orders["order_datetime"].tolist() == [
        pd.Timestamp("2024-01-01 10:30"),
        pd.Timestamp("2024-01-02"),
    ]
    assert orders["flag"].tolist() == [True, False]
    assert log.report.rejected_counts == {"missing_customer_id": 1}
    (coercion,) = log.report.coercions
    assert coercion["count"] == 2 and coercion["examples"] == [(1, "1.0"), (2, "2.0")]


def test_duckdb_relation():
    con = duckdb.connect()
    try:
        rel = con.sql(
            "SELECT * FROM (VALUES ('a', DATE '2024-01-01', 5.0), ('a', DATE '2024-01-01', 5.0), "
            "('b', DATE '2024-01-02', 7.5)) t(customer_id, order_date, revenue)"
        )
        log = load_orders(rel, as_of=AS_OF)
    finally:
        con.close()
    assert log.orders["customer_id"].tolist() == ["a", "b"]
    assert log.report.rejected_counts == {"exact_duplicate": 1}
    assert log.report.examples["exact_duplicate"] == [(2, "duplicate of row 1")]


# -- columns and structure -------------------------------------------------------------------
def test_missing_column_message_names_closest_match(tmp_path):
    header = ["Код клиента", "Дата заказа", "Сумма"]
    path = write_csv(tmp_path / "orders.csv", header, [["a", "01.01.2024", "1"]])
    with pytest.raises(MissingColumnError) as info:
        load_orders(path, {"customer_id": "Код клиента", "revenue": "Сумма"})
    message = str(info.value)
    assert "orders.csv: required column 'order_date' not found" in message
    assert "Columns found: ['Код клиента', 'Дата заказа', 'Сумма']" in message
    assert "Did you mean 'Дата заказа'?" in message
    assert "columns={'order_date': 'Дата заказа'}" in message


def test_mapped_name_absent_from_source(tmp_path):
    path = write_csv(tmp_path / "orders.csv", HEADER, GOOD)
    with pytest.raises(MissingColumnError, match="'Категория' given in columns="):
        load_orders(path, {"category": "Категория"})
    with pytest.raises(ConfigError, match="not a churnkit column"):
        load_orders(path, {"colour": "order_id"})


@pytest.mark.parametrize(
    ("content", "suffix", "match"),
    [
        (b"", ".csv", "empty"),
        (b"customer_id;order_date;revenue\n", ".csv", "no data rows"),
        (b"whatever", ".xlsx", "unsupported file type"),
        (b"not parquet", ".parquet", "cannot read Parquet"),
    ],
)
def test_structural_problems(tmp_path, content, suffix, match):
    path = tmp_path / f"orders{suffix}"
    path.write_bytes(content)
    with pytest.raises(DataValidationError, match=match):
        load_orders(path)


def test_entirely_unparseable_required_column_is_structural(tmp_path):
    rows = [["a", "Jan 5 2024", "1"], ["b", "Feb 6 2024", "2"]]
    path = write_csv(tmp_path / "orders.csv", ["customer_id", "order_date", "revenue"], rows)
    with pytest.raises(DataValidationError, match="none of the 2 values can be read as dates"):
        load_orders(path)


def test_returns_kept_and_coercions_reported(tmp_path):
    header = [*HEADER, "quantity", "discount"]
    rows = [
        [*GOOD[0], "2", "0,1"],
        [*GOOD[1], "x", "0,2"],
        ["c2", "2024-01-09", "-50,5", "o4", "1", "?"],
    ]
    log = load_orders(write_csv(tmp_path / "orders.csv", header, rows), as_of=AS_OF)
    orders, report = log.orders, log.report
    assert orders["is_return"].tolist() == [False, False, True]
    assert orders["revenue"].iloc[2] == -50.5 and report.n_returns == 1
    assert np.isnan(orders["quantity"].iloc[1]) and np.isnan(orders["discount"].iloc[2])
    assert [(c["column"], c["count"], c["examples"]) for c in report.coercions] == [
        ("quantity", 1, [(2, "x")]),
        ("discount", 1, [(3, "?")]),
    ]
    assert "file line 3" in report.to_markdown()


def test_report_in_html_and_json(tmp_path):
    path = write_csv(tmp_path / "orders.csv", HEADER, [*GOOD, ["", "2024-01-01", "1", "o5"]])
    report = load_orders(path, as_of=AS_OF).report
    page = report._repr_html_()
    for text in ("rows read", ">4<", "rows used", ">3<", "missing_customer_id", "25.00%"):
        assert text in page
    assert json.loads(json.dumps(report.to_dict()))["rejected_counts"] == {"missing_customer_id": 1}


# -- customers -------------------------------------------------------------------------------
def test_customers_booleans_and_mapping(tmp_path):
    header = ["Код клиента", "Тест", "research_opt_in", "registered_at", "note"]
    rows = [
        ["1", "да", "Y", "31.01.2023", "x"],
        ["2", "нет", "no", "", "y"],
        ["3", "Д", "", "01.02.2023", "z"],
    ]
    path = write_csv(tmp_path / "customers.csv", header, rows, encoding="cp1251")
    customers = load_customers(path, {"customer_id": "Код клиента", "is_test": "Тест"})
    assert customers["customer_id"].tolist() == ["1", "2", "3"]
    assert customers["is_test"].tolist() == [True, False, True]
    assert customers["research_opt_in"].tolist() == [True, False, pd.NA]
    assert customers["registered_at"].iloc[0] == pd.Timestamp("2023-01-31")
    assert customers["note"].tolist() == ["x", "y", "z"]


def test_customers_bad_boolean_names_column_row_and_value(tmp_path):
    path = write_csv(
        tmp_path / "customers.csv", ["customer_id", "is_test"], [["1", "да"], ["2", "может быть"]]
    )
    with pytest.raises(DataValidationError) as info:
        load_customers(path)
    message = str(info.value)
    assert "'is_test'" in message and "row 2 (file line 3)" in message and "может быть" in message


def test_customers_duplicate_ids_are_an_error():
    frame = pd.DataFrame({"customer_id": ["a", "b", "a ", "c"]})
    with pytest.raises(
        DataValidationError, match=r"2 rows share a customer id.*row 1, 3.*\['a', 'a '\]"
    ):
        load_customers(frame)


def test_orders_of_unknown_customers_are_kept_with_a_warning():
    orders = pd.DataFrame([*GOOD, ["c9", "2024-01-01", "1", "o9"]], columns=HEADER)
    log = load_orders(orders, customers=pd.DataFrame({"customer_id": ["c1", "c2"]}), as_of=AS_OF)
    assert len(log.orders) == 4 and log.customers is not None
    (warning,) = log.report.warnings
    assert "1 order rows (1 customers)" in warning and "'c9' (row 4)" in warning


def test_large_file_read_in_blocks(tmp_path):
    # > 1 MB, so pyarrow reads it in several blocks (chunked columns)
    rng = np.random.default_rng(0)
    n = 60_000
    frame = pd.DataFrame(
        {
            "Клиент": [f"К{i}" for i in rng.integers(0, 5_000, n)],
            "Дата": pd.Series(
                pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n), "D")
            ).dt.strftime("%d.%m.%Y"),
            "Сумма": [f"{v:.2f}".replace(".", ",") for v in rng.gamma(2.0, 500.0, n)],
            "Номер": np.arange(n).astype(str),
        }
    )
    frame.loc[[10, 40_000], "Дата"] = "31.02.2023"
    frame.loc[50_000, "Сумма"] = "н/д"
    path = tmp_path / "big.csv"
    frame.to_csv(path, sep=";", index=False, encoding="cp1251")
    assert path.stat().st_size > 1 << 20
    columns = {
        "customer_id": "Клиент",
        "order_date": "Дата",
        "revenue": "Сумма",
        "order_id": "Номер",
    }
    log = load_orders(path, columns, as_of=AS_OF)
    assert log.report.rejected_counts == {"unparseable_date": 2, "non_numeric_revenue": 1}
    assert log.report.examples["unparseable_date"] == [(11, "31.02.2023"), (40_001, "31.02.2023")]
    assert len(log.orders) == n - 3


def test_parquet_repeated_text_becomes_categorical_and_features_read_it(tmp_path):
    rng = np.random.default_rng(5)
    n = 3_000
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i % 700:04d}" for i in range(n)],
            "order_id": [f"O{i:06d}" for i in range(n)],
            "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "revenue": rng.uniform(10, 500, n).round(2),
            "channel": rng.choice(["app", "site"], n),
            "note": [f"free text {i}" for i in range(n)],
        }
    )
    frame.to_parquet(tmp_path / "orders.parquet")
    log = load_orders(tmp_path / "orders.parquet", as_of="2024-12-31")
    orders = log.orders
    assert isinstance(orders["channel"].dtype, pd.CategoricalDtype)
    assert not isinstance(orders["customer_id"].dtype, pd.CategoricalDtype)
    assert not isinstance(orders["note"].dtype, pd.CategoricalDtype)
    back = orders.astype({"order_id": str, "channel": str, "note": str}).set_index("order_id")
    expected = frame.set_index("order_id")[["channel", "note"]]
    pd.testing.assert_frame_equal(
        back.loc[expected.index, ["channel", "note"]], expected, check_dtype=False
    )
    features = build_features(log, ["2024-06-30"], segments=False)
    shares = features.filter(like="channel_share")
    assert shares.shape[1] == 2
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_purchases_are_one_row_per_customer_day_up_to_at():
    """log.purchases against a pandas groupby of the same lines (returns are not purchases)."""
    orders = pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "a", "b", "a"],
            "order_date": pd.to_datetime(
                ["2024-01-02", "2024-01-01", "2024-01-01", "2024-01-05", "2024-01-09", "2024-01-03"]
            ),
            "revenue": [5.0, 10.0, 2.5, -4.0, 7.0, 1.0],
        }
    )
    log = load_orders(orders)
    got = log.purchases("2024-01-05")
    bought = orders[(orders["revenue"] > 0) & (orders["order_date"] <= "2024-01-05")]
    expected = (
        bought.groupby(["customer_id", "order_date"])["revenue"]
        .agg(revenue="sum", n_lines="size")
        .reset_index()
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert got.dtypes.astype(str).tolist() == ["object", "datetime64[ns]", "float64", "int64"]
