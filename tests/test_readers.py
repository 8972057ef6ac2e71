"""Readers: every layout and detection rule, and errors that name their place."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from softmax_cli.errors import DataError, UsageError
from softmax_cli.readers import Format, open_scores, scores_from_arguments

DATA = Path(__file__).parent / "data"


def read_all(raw: bytes, **options):
    source = open_scores(io.BytesIO(raw), **options)
    blocks = list(source.blocks)
    values = np.concatenate([b.values for b in blocks]) if blocks else np.empty((0, 0))
    return source, values, blocks


def test_arguments_form_one_row():
    source = scores_from_arguments(["2", "1", "0.1"])
    assert_array_equal(next(source.blocks).values, [[2.0, 1.0, 0.1]])


def test_arguments_split_on_commas_and_semicolons():
    source = scores_from_arguments(["2,1", "0.1;0.5,2", "1"])
    assert_array_equal(next(source.blocks).values, [[2.0, 1.0, 0.1], [0.5, 2.0, 1.0]])


def test_arguments_accept_infinities_and_exponents():
    source = scores_from_arguments(["-inf", "1e-3", "-0", "inf"])
    assert_array_equal(next(source.blocks).values, [[-np.inf, 1e-3, -0.0, np.inf]])


def test_argument_that_is_not_a_number_is_named():
    with pytest.raises(DataError, match=r"argument 2: 'abc' is not a number"):
        scores_from_arguments(["1", "abc"])


def test_ragged_argument_rows_are_an_error_after_the_rows_before_them():
    blocks = scores_from_arguments(["1,2;3"]).blocks
    assert_array_equal(next(blocks).values, [[1, 2]])  # as a file's rows before a bad line
    with pytest.raises(DataError, match="row 2 has 1 values, expected 2"):
        next(blocks)


def test_commas_are_detected():
    source, values, _ = read_all(b"1,2,3\n4,5,6\n")
    assert source.delimiter == "," and source.classes is None
    assert_array_equal(values, [[1, 2, 3], [4, 5, 6]])


def test_tabs_are_detected():
    source, values, _ = read_all((DATA / "tabs.tsv").read_bytes())
    assert source.delimiter == "\t"
    assert_array_equal(values, [[1, 2, 3], [4, 5, 6]])


def test_runs_of_spaces_are_detected():
    source, values, _ = read_all((DATA / "spaces.txt").read_bytes())
    assert source.delimiter is None
    assert_array_equal(values, [[1, 2, 3], [4, 5, 6]])


def test_header_bom_crlf_and_blank_lines():
    source, values, _ = read_all((DATA / "header_bom_crlf.csv").read_bytes())
    assert source.classes == ["cat", "dog", "bird"]
    assert_array_equal(values, [[2, 1, 0.1], [0.5, 2, 1]])


def test_no_header_flag_makes_a_text_line_an_error():
    with pytest.raises(DataError, match="line 1, column 1: 'cat' is not a number"):
        read_all(b"cat,dog\n1,2\n", header=False)


def test_header_flag_takes_a_numeric_first_line_as_names():
    source, values, _ = read_all(b"0,1\n5,6\n", header=True)
    assert source.classes == ["0", "1"]
    assert_array_equal(values, [[5, 6]])


def test_delimiter_override():
    source, values, _ = read_all(b"1;2\n3;4\n", delimiter=";")
    assert_array_equal(values, [[1, 2], [3, 4]])


def test_single_column_is_one_vector():
    source, values, _ = read_all(b"1\n2\n3\n4\n5\n")
    assert source.single_vector
    assert_array_equal(values, [[1, 2, 3, 4, 5]])


def test_bad_value_names_line_and_column():
    with pytest.raises(DataError) as caught:
        read_all(b"1,2,3\n\n4,5,6\n7,abc,9\n")
    assert str(caught.value) == "line 4, column 2: 'abc' is not a number"


def test_ragged_row_names_the_line():
    with pytest.raises(DataError) as caught:
        read_all(b"a,b,c\n1,2,3\n4,5\n")
    assert str(caught.value) == "line 3 has 2 values, expected 3"


def test_rows_before_a_bad_line_are_still_read():
    source = open_scores(io.BytesIO(b"1,2\n3,4\nx,5\n"))
    good = next(source.blocks)
    assert_array_equal(good.values, [[1, 2], [3, 4]])
    with pytest.raises(DataError, match="line 3"):
        next(source.blocks)


def test_python_float_syntax_beyond_numpys_is_accepted():
    _, values, _ = read_all(b"1_000,2\n3,4\n")
    assert_array_equal(values, [[1000, 2], [3, 4]])


def test_line_numbers_survive_blank_lines_and_headers():
    _, _, blocks = read_all(b"a,b\n\n1,2\n\n\n3,4\n")
    assert [blocks[0].line_of(0), blocks[0].line_of(1)] == [3, 6]


def test_small_chunks_give_the_same_rows_as_one_chunk():
    raw = b"".join(f"{i},{i * 0.5},{-i}\n".encode() for i in range(2000))
    source = open_scores(io.BytesIO(raw), chunk_bytes=1024)
    blocks = list(source.blocks)
    assert len(blocks) > 10
    values = np.concatenate([b.values for b in blocks])
    assert_array_equal(values[:, 0], np.arange(2000))
    assert blocks[3].line_of(0) == 1 + sum(b.values.shape[0] for b in blocks[:3])


def test_label_column_by_name_is_taken_out_of_the_scores():
    source, values, blocks = read_all((DATA / "labelled.csv").read_bytes(), label_column="y")
    assert source.classes == ["a", "b", "c"]
    assert_array_equal(values, [[2, 1, 0.1], [0.5, 2, 1], [1, 1, 1]])
    assert_array_equal(np.concatenate([b.labels for b in blocks]), [0, 2, 2])


def test_label_column_by_index():
    _, values, blocks = read_all(b"0,2,1\n1,0.5,2\n", label_column="0")
    assert_array_equal(values, [[2, 1], [0.5, 2]])
    assert_array_equal(blocks[0].labels, [0, 1])


def test_unknown_label_column_is_a_usage_error():
    with pytest.raises(UsageError, match="no such column"):
        read_all(b"a,b\n1,2\n", label_column="z")


def test_ndjson_rows():
    source, values, _ = read_all((DATA / "rows.ndjson").read_bytes())
    assert source.format is Format.NDJSON
    assert_array_equal(values, [[1, 2, 3], [0, -np.inf, 1]])


def test_json_document_of_rows():
    source, values, _ = read_all((DATA / "document.json").read_bytes())
    assert source.format is Format.JSON
    assert_array_equal(values, [[1, 2], [3, 4]])


def test_json_array_of_numbers_is_one_row():
    _, values, _ = read_all(b"[3, 1, 0.2]")
    assert_array_equal(values, [[3, 1, 0.2]])


def test_json_strings_holding_numbers_are_numbers():
    _, values, _ = read_all(b'["-inf", 1]\n')
    assert_array_equal(values, [[-np.inf, 1]])


def test_json_null_is_not_a_number():
    with pytest.raises(DataError, match="line 2, column 2: null is not a number"):
        read_all(b"[1, 2]\n[1, null]\n")


def test_invalid_json_names_the_line():
    with pytest.raises(DataError, match="line 2.*invalid JSON"):
        read_all(b"[1, 2]\n[1, 2\n")


def test_empty_input_is_a_usage_error():
    with pytest.raises(UsageError):
        read_all(b"\n\n  \n")


def test_a_json_document_streams_in_blocks_with_true_line_numbers():
    rows = [[i, -i, 0.5 * i] for i in range(3000)]
    raw = ("[\n" + ",\n".join("  " + str(row) for row in rows) + "\n]\n").encode()
    source = open_scores(io.BytesIO(raw), chunk_bytes=4096)
    blocks = list(source.blocks)
    assert len(blocks) > 5
    assert_array_equal(np.concatenate([b.values for b in blocks]), rows)
    assert blocks[3].line_of(0) == 2 + sum(b.values.shape[0] for b in blocks[:3])


def test_a_nan_deep_in_a_json_document_names_its_line():
    source = open_scores(io.BytesIO(b"[\n [1, 2],\n [3, NaN]\n]\n"))
    block = next(source.blocks)
    assert np.isnan(block.values[1, 1]) and block.line_of(1) == 3


def test_a_bad_value_in_a_json_document_names_line_and_value():
    with pytest.raises(DataError) as caught:
        read_all(b'[\n [1, 2],\n [3, "x"]\n]\n')
    assert str(caught.value) == 'line 3, column 2: "x" is not a number'


def test_a_json_document_cut_short_is_an_error_at_its_last_line():
    with pytest.raises(DataError, match="line 3: invalid JSON .it ends too early"):
        read_all(b"[\n [1, 2],\n [3, 4\n")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'[\n [1, 2],\n [3, "x"]\n]\n', 'line 3, column 2: "x" is not a number'),
        (b"[\n [1, 2],\n [3, x]\n]\n", "line 3, column 6: invalid JSON"),
        (b"[\n [1, 2],\n [3, 4, 5]\n]\n", "line 3 has 3 values, expected 2"),
    ],
)
def test_rows_before_a_bad_row_of_a_json_document_are_still_read(raw, message):
    source = open_scores(io.BytesIO(raw))
    assert_array_equal(next(source.blocks).values, [[1, 2]])
    with pytest.raises(DataError) as caught:
        next(source.blocks)
    assert str(caught.value).startswith(message)


def test_data_after_a_json_document_is_an_error_at_its_line():
    with pytest.raises(DataError, match="line 5: extra data after the JSON document"):
        read_all(b"[\n [1, 2],\n [3, 4]\n]\n x\n")


def test_a_pretty_printed_json_vector_is_one_row():
    _, values, _ = read_all(b"[\n  3,\n  1,\n  0.2\n]\n")
    assert_array_equal(values, [[3, 1, 0.2]])
