"""The fast routes through readers and writers give exactly what the plain routes give.

Values read are compared bit for bit with Python's ``float`` of each field;
text written is compared with Python's ``float`` of each field read back and
with orjson's form of each value, one value at a time.
"""

from __future__ import annotations

import io
import math
import struct

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from softmax_cli.errors import DataError
from softmax_cli.number_text import delimited_lines, ndjson_lines
from softmax_cli.readers import open_scores


def bits(values) -> list[bytes]:
    return [struct.pack("<d", value) for value in np.asarray(values, dtype=np.float64).ravel()]


def read_values(raw: bytes, **options) -> np.ndarray:
    blocks = list(open_scores(io.BytesIO(raw), **options).blocks)
    return np.concatenate([block.values for block in blocks])


def python_floats(raw: bytes, delimiter: str) -> list[float]:
    return [float(field) for line in raw.decode().splitlines() for field in line.split(delimiter)]


finite = st.floats(allow_nan=False, allow_infinity=False)
number_text = st.one_of(
    finite.map(repr),
    finite.map(lambda value: f"{value:.17e}".replace("e", "E")),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["0", "-0", "-0.0", "1e-400", "4.9e-324", "9007199254740993", "1E+05"]),
)
tables = st.integers(1, 6).flatmap(
    lambda width: st.lists(st.lists(number_text, min_size=width, max_size=width), min_size=1)
)


@settings(max_examples=60, deadline=None)
@given(tables, st.sampled_from([",", "\t"]), st.sampled_from(["", " "]))
def test_plain_decimal_fields_read_as_pythons_float_reads_them(rows, delimiter, pad):
    raw = "".join(delimiter.join(pad + text for text in row) + "\n" for row in rows).encode()
    values = read_values(raw, delimiter=delimiter, header=False)
    assert bits(values) == bits(python_floats(raw, delimiter))


def test_integer_minus_zero_keeps_its_sign():
    values = read_values(b"-0,1\n2,-0\n", header=False)
    assert np.signbit(values).tolist() == [[True, False], [False, True]]


def test_whitespace_columns_never_take_commas_as_separators():
    raw = b"1 2\n" * 4 + b"3,4\n" * 40
    source = open_scores(io.BytesIO(raw), chunk_bytes=16)
    with pytest.raises(DataError, match="line 5 has 1 values, expected 2"):
        list(source.blocks)


def test_tab_columns_never_take_commas_as_separators():
    raw = b"1\t2\n" * 4 + b"3,4\n" * 40
    source = open_scores(io.BytesIO(raw), chunk_bytes=16)
    with pytest.raises(DataError, match="line 5 has 1 values, expected 2"):
        list(source.blocks)


def test_a_single_column_reads_as_one_vector_through_every_chunk():
    raw = "".join(f"{index * 0.25}\n" for index in range(3000)).encode()
    values = read_values(raw, chunk_bytes=256)
    assert values.shape == (1, 3000)
    assert bits(values) == bits([index * 0.25 for index in range(3000)])


def test_label_names_that_look_like_numbers_are_looked_up_as_names():
    source = open_scores(io.BytesIO(b"10,20,y\n1,2,20\n3,4,10\n"), label_column="y")
    block = next(source.blocks)
    assert block.labels.tolist() == [1.0, 0.0]
    assert block.values.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_numeric_labels_beside_named_classes_read_as_numbers():
    source = open_scores(io.BytesIO(b"cat,dog,y\n1,2,1\n3,4,0\n"), label_column="y")
    block = next(source.blocks)
    assert block.labels.tolist() == [1.0, 0.0]
    assert block.values.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_blank_and_ragged_lines_keep_their_line_numbers():
    raw = b"1,2\n\n3,4\n" + b"5,6\n" * 10 + b"7,8,9\n"
    source = open_scores(io.BytesIO(raw))
    with pytest.raises(DataError, match="line 14 has 3 values, expected 2"):
        list(source.blocks)


unit_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 40), st.integers(1, 7)),
    elements=st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60, deadline=None)
@given(unit_rows, st.sampled_from([",", "\t"]))
def test_written_lines_hold_every_value_in_orjsons_shortest_form(values, separator):
    text = delimited_lines(values, separator, None).decode()
    lines = text.split("\n")
    assert lines[-1] == ""
    assert len(lines) - 1 == values.shape[0]
    for line, row in zip(lines, values.tolist(), strict=False):
        fields = line.split(separator)
        assert fields == [orjson.dumps(value).decode() for value in row]
        assert bits([float(field) for field in fields]) == bits(row)


def test_a_block_with_infinities_is_written_as_python_writes_them():
    text = delimited_lines(np.array([[np.inf, 0.5], [-np.inf, 1e-5]]), ",", None)
    assert text == b"inf,0.5\n-inf,1e-05\n"


any_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 40), st.integers(1, 7)),
    elements=st.floats(allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(any_rows, st.sampled_from([None, 3]))
def test_ndjson_lines_are_one_json_array_per_row(values, precision):
    lines = ndjson_lines(values, precision).split(b"\n")
    assert lines[-1] == b""
    assert len(lines) - 1 == values.shape[0]
    for line, row in zip(lines, values.tolist(), strict=False):
        if precision is not None:
            row = [float(f"{value:.{precision}g}") for value in row]
        expected = [value if math.isfinite(value) else None for value in row]
        assert line == orjson.dumps(expected)


def test_minus_zero_score_beside_a_label_column_keeps_its_sign():
    source = open_scores(io.BytesIO(b"a,b,y\n-0,1,0\n2,0,1\n"), label_column="y")
    block = next(source.blocks)
    assert bits(block.values) == bits([-0.0, 1.0, 2.0, 0.0])
    assert block.labels.tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    "raw", [b"1,2\n3,4,5\n6,7\n", b"1,2\n3\n4,5,6\n", b"1,2\n\n3,4\n5,6,\n", b"1,2\n3,4\n5,,6\n"]
)
def test_ragged_lines_are_found_even_when_the_field_count_adds_up(raw):
    with pytest.raises(DataError) as caught:
        read_values(raw, header=False)
    assert caught.value.line == next(
        number
        for number, line in enumerate(raw.decode().splitlines(), start=1)
        if line and (len(line.split(",")) != 2 or "" in line.split(","))
    )
