"""The README's tables of numbers at the edges are the ones the script computes today."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import make_numbers_tables as tables  # noqa: E402


def test_the_dtype_thresholds_in_the_readme_are_np_finfos():
    assert tables.in_readme("dtypes") == tables.dtypes_table()


def test_the_float16_row_names_the_overflow_at_11_09_and_65504():
    row = next(line for line in tables.dtypes_table().splitlines() if line.startswith("| float16"))
    assert "65504" in row and "11.09" in row


def test_the_confident_rows_table_in_the_readme_is_computed_today():
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    assert tables.in_readme("edges") == tables.edges_table()
