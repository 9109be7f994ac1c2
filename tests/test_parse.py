"""Value parsers: numbers as 1C/Excel write them, dates, yes/no flags and ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from churnkit import DataValidationError
from churnkit.io._parse import numeric_or_none, parse_bools, parse_dates, parse_ids, parse_numbers


def russian(value: float) -> str:
    """Format like a Russian Excel export: no-break-space thousands, decimal comma."""
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_russian_numbers_round_trip(value):
    parsed = parse_numbers(pd.Series([russian(value)], dtype="string[pyarrow]"))
    assert parsed.values[0] == pytest.approx(round(value, 2), abs=1e-9)
    assert not parsed.bad.any()


def test_numbers_blank_bad_and_marks():
    parsed = parse_numbers(
        pd.Series(["1 234,5", "  ", "inf", "nan", "12,5.3", "−7", "1.234.567,8"])
    )
    assert parsed.blank.tolist() == [False, True, False, False, False, False, False]
    assert parsed.bad.tolist() == [False, False, True, True, True, False, False]
    assert parsed.values[[0, 5, 6]].tolist() == [1234.5, -7.0, 1234567.8]
    dotted = parse_numbers(pd.Series(["1,234.5", "7"]))
    assert dotted.values.tolist() == [1234.5, 7.0]
    strict = parse_numbers(pd.Series(["12,5"]), decimal=".")
    assert strict.bad.tolist() == [True]  # a comma is not a decimal mark when "." is given


def test_typed_numbers_flag_infinity():
    parsed = parse_numbers(pd.Series([1.0, np.inf, np.nan]))
    assert parsed.bad.tolist() == [False, True, False] and parsed.blank.tolist() == [
        False,
        False,
        True,
    ]


def test_numeric_or_none():
    assert numeric_or_none(pd.Series(["1", "", "2,5"])).tolist()[::2] == [1.0, 2.5]
    assert numeric_or_none(pd.Series(["1", "a"])) is None
    assert numeric_or_none(pd.Series(["007", "1"])) is None
    assert numeric_or_none(pd.Series(["", ""])) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", "2024-01-31 00:00:00"),
        ("31.01.2024", "2024-01-31 00:00:00"),
        ("31.01.2024 14:05", "2024-01-31 14:05:00"),
        ("31.01.2024 14:05:33", "2024-01-31 14:05:33"),
        ("2024-01-31 14:05:33", "2024-01-31 14:05:33"),
        ("2024-01-31T14:05:33.250", "2024-01-31 14:05:33"),
        ("31/01/2024", "2024-01-31 00:00:00"),
        ("1.2.2024", "2024-02-01 00:00:00"),
    ],
)
def test_date_formats(text, expected):
    parsed = parse_dates(pd.Series([text]))
    assert str(pd.Timestamp(parsed.values[0])) == expected
    assert parsed.has_time == (not expected.endswith("00:00:00") or "T" in text)


def test_dates_invalid_and_month_first():
    parsed = parse_dates(
        pd.Series(["31.02.2024", "2024-13-01", "25:00", "", "12/31/2024", "01/02/2024"])
    )
    assert parsed.bad.tolist() == [True, True, True, False, False, False]
    assert parsed.blank.tolist() == [False, False, False, True, False, False]
    assert str(parsed.values[5])[:10] == "2024-01-02"  # 12/31 proved the file is month-first


def test_ambiguous_slashes_raise_and_format_wins():
    with pytest.raises(DataValidationError, match="date_format='%d/%m/%Y'"):
        parse_dates(pd.Series(["01/02/2024"]), context="orders.csv: column 'order_date'")
    parsed = parse_dates(pd.Series(["01/02/2024", "junk"]), date_format="%d/%m/%Y")
    assert str(parsed.values[0])[:10] == "2024-02-01" and parsed.bad.tolist() == [False, True]


def test_tz_aware_dates_keep_wall_time():
    values = pd.Series(pd.to_datetime(["2024-01-31 23:30"]).tz_localize("Europe/Moscow"))
    parsed = parse_dates(values)
    assert str(parsed.values[0]) == "2024-01-31T23:30:00.000000000"


def test_bools():
    parsed = parse_bools(pd.Series(["TRUE", "0", "Yes", "n", "ДА", "нет", "Д", "н", "", "2"]))
    assert parsed.values.tolist()[:8] == [True, False, True, False, True, False, True, False]
    assert parsed.blank.tolist()[8] and parsed.bad.tolist() == [False] * 9 + [True]
    assert parse_bools(pd.Series([1, 0])).values.tolist() == [True, False]
    assert parse_bools(pd.Series([True, False])).values.tolist() == [True, False]


def test_ids():
    assert parse_ids(pd.Series([" a ", "", "b"]), "x").values.tolist() == ["a", pd.NA, "b"]
    text = parse_ids(pd.Series(["12.0", "13"]), "x")
    assert text.values.tolist() == ["12", "13"] and text.coerced.tolist() == [True, False]
    mixed = parse_ids(pd.Series(["A.0", "13"]), "x")
    assert mixed.values.tolist() == ["A.0", "13"] and not mixed.coerced.any()
    assert parse_ids(pd.Series([5, 6], dtype="int64"), "x").values.tolist() == ["5", "6"]
    with pytest.raises(DataValidationError, match=r"row 2 has 1\.5"):
        parse_ids(pd.Series([1.0, 1.5]), "orders.csv: column 'customer_id'")
