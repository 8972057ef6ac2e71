"""How numbers become text: one policy for csv, json, tables and explain."""

from __future__ import annotations

import math

import numpy as np

from softmax_cli.number_text import (
    fixed_number,
    float_text,
    json_number,
    json_ready,
    json_rows,
    rounded,
    table_number,
    table_precision,
    title_number,
)

# --- tables and explain -------------------------------------------------------------


def test_format_number_uses_fixed_decimals_and_scientific_for_tiny_values():
    assert table_number(0.65900113, 4) == "0.6590"
    assert table_number(0.65900113, 2) == "0.66"
    assert table_number(4.54e-5, 4) == "4.540e-05"
    assert table_number(-0.0, 4) == "0.0000"
    assert table_number(-math.inf, 4) == "-inf"
    assert table_number(math.nan, 4) == "nan"


def test_table_number_turns_scientific_for_huge_values():
    assert table_number(2e15, 3) == "2.00e+15"


def test_fixed_number_keeps_decimals_even_for_tiny_values():
    assert fixed_number(4.54e-5, 4) == "0.0000"
    assert fixed_number(-0.0, 2) == "0.00"
    assert fixed_number(math.inf, 4) == "inf"


def test_tables_show_four_decimals_unless_a_precision_is_given():
    assert table_precision(None) == 4
    assert table_precision(2) == 2


def test_a_title_shows_a_temperature_in_six_significant_digits():
    assert title_number(0.5) == "0.5"
    assert title_number(1.0) == "1"
    assert title_number(1 / 3) == "0.333333"


# --- csv and tsv ----------------------------------------------------------------------


def test_a_csv_cell_is_the_shortest_round_trip_form():
    assert float_text(0.1 + 0.2, None) == "0.30000000000000004"
    assert float(float_text(1 / 3, None)) == 1 / 3


def test_a_csv_cell_with_precision_has_that_many_significant_digits():
    assert float_text(1 / 3, 3) == "0.333"
    assert float_text(1.234e-5, 2) == "1.2e-05"


def test_a_count_in_a_csv_cell_stays_an_integer():
    assert float_text(12, None) == "12"
    assert float_text(12, 3) == "12"


def test_a_non_finite_csv_cell_is_written_as_python_writes_it():
    assert [float_text(v, None) for v in (math.inf, -math.inf, math.nan)] == ["inf", "-inf", "nan"]


# --- json --------------------------------------------------------------------------------


def test_a_json_number_that_is_not_finite_is_null():
    assert json_number(math.inf) is None
    assert json_number(math.nan, 3) is None
    assert json_number(0.25) == 0.25


def test_a_json_number_with_precision_is_rounded_to_significant_digits():
    assert json_number(1 / 3, 3) == 0.333


def test_json_ready_replaces_non_finite_floats_at_any_depth():
    assert json_ready({"a": [1.5, math.inf, [math.nan]], "b": "x", "c": 2}) == {
        "a": [1.5, None, [None]],
        "b": "x",
        "c": 2,
    }


def test_json_rows_round_like_a_json_number_and_write_null_for_infinity():
    values = np.array([[1 / 3, math.inf]])
    assert json_rows(values, 3) == b"[0.333,null]"
    assert rounded(values, 3)[0, 0] == json_number(1 / 3, 3)
