"""Delimited input: the header rule, delimiters, RFC 4180 quoting, empty fields, --keep."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import softmax
from typer.testing import CliRunner

from softmax_cli.cli import app
from softmax_cli.errors import DataError, UsageError
from softmax_cli.readers import open_scores

runner = CliRunner()


def run(*args: str, data: str | bytes | None = None):
    return runner.invoke(app, list(args), input=data)


def rows_of(text: str) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])


def read(data: bytes, **options):
    source = open_scores(io.BytesIO(data), **options)
    blocks = list(source.blocks)
    return source, blocks


# --- the header rule --------------------------------------------------------------


def test_quoted_numbers_are_data_not_a_header():
    result = run("probs", "-o", "csv", data='"1","2","3"\n')
    assert result.exit_code == 0, result.stderr
    assert_allclose(rows_of(result.stdout), [softmax([1, 2, 3])], rtol=1e-15)


def test_a_header_alone_is_an_empty_result_with_a_note():
    source, blocks = read(b"cat,dog\n")
    assert source.classes == ["cat", "dog"] and blocks == []
    assert source.notes == ["no data rows followed the header"]


def test_a_header_alone_writes_the_header_in_csv_and_no_rows_in_json():
    assert run("probs", "-o", "csv", data="cat,dog\n").stdout == "cat,dog\n"
    document = json.loads(run("probs", "-o", "json", data="cat,dog\n").stdout)
    assert document["rows"] == []


@pytest.mark.parametrize(("line", "field"), [("2,1,O.1", "'O.1' (column 3)"), ("1 2 x", "'x'")])
def test_a_lone_line_of_mostly_numbers_is_a_row_with_a_typo_not_a_header(line, field):
    # It was echoed back as a header over no rows, with exit 0.
    result = run("probs", "-o", "csv", data=line + "\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("softmax: line 1, column")
    assert field.split(" ")[0] in result.stderr and "not a number" in result.stderr


def test_a_header_with_data_rows_has_no_note():
    source, _ = read(b"cat,dog\n1,2\n")
    assert source.notes == []


def test_a_header_whose_field_count_differs_from_the_next_line_is_a_located_error():
    result = run("probs", "-o", "csv", data="logits of a model\n1,2,3\n")
    assert result.exit_code == 1
    assert result.stderr == "softmax: line 2 has 3 values, but the header on line 1 has 1\n"


def test_a_json_object_line_is_not_a_header_but_asks_for_key():
    result = run("probs", "-o", "csv", data='{"logits":[2,1]}\n')
    assert result.exit_code == 1
    assert result.stderr == (
        "softmax: line 1: a JSON object; name the key holding the scores with --key\n"
    )
    assert result.stdout == ""


def test_binary_bytes_are_not_a_header_but_a_located_error():
    result = run("probs", "-o", "csv", data=b"\x01\x02\x03,\x04\n1,2\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("softmax: line 1, column 1:")
    assert result.stdout == ""


def test_a_header_with_a_likely_typo_gets_a_note_naming_the_line_and_field():
    source, blocks = read(b"1,2,3O\n1,2,3\n4,5,6\n")
    assert source.classes == ["1", "2", "3O"] and len(blocks) == 1
    assert len(source.notes) == 1
    assert "line 1" in source.notes[0] and "'3O' (column 3)" in source.notes[0]
    assert "--no-header" in source.notes[0]


def test_no_header_reads_a_typo_line_as_data_and_fails_at_the_field():
    result = run("probs", "-o", "csv", "--no-header", data="1,2,3O\n1,2,3\n")
    assert result.exit_code == 1
    assert result.stderr == "softmax: line 1, column 3: '3O' is not a number\n"


def test_a_header_of_words_gets_no_typo_note():
    source, _ = read(b"a,b,3\n1,2,3\n")
    assert source.notes == []


def test_the_header_rule_is_stated_in_the_module_docstring():
    from softmax_cli.readers import sniff

    assert "header" in (sniff.__doc__ or "") and "Quoting is removed first" in sniff.__doc__


# --- delimiters -------------------------------------------------------------------


@pytest.mark.parametrize("separator", [";", "|"])
def test_semicolons_and_pipes_separate_values(separator):
    data = f"1{separator}2{separator}3\n4{separator}5{separator}6\n"
    result = run("probs", "-o", "csv", data=data)
    assert result.exit_code == 0, result.stderr
    assert_allclose(rows_of(result.stdout), softmax([[1, 2, 3], [4, 5, 6]], axis=1), rtol=1e-15)


def test_a_semicolon_file_with_a_header_keeps_its_names():
    result = run("probs", "-o", "csv", data="a;b\n1;2\n")
    assert result.stdout.splitlines()[0] == "a,b"


def test_the_delimiter_comes_from_the_first_data_line_not_a_header_with_commas():
    result = run("probs", "-o", "json", data="big, cat;dog\n1;2\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["classes"] == ["big, cat", "dog"]


def test_the_delimiter_option_overrides_detection():
    result = run("probs", "-o", "csv", "--delimiter", "|", "--no-header", data="1|2,5\n")
    assert result.exit_code == 1 and "'2,5' is not a number" in result.stderr


# --- quoting ----------------------------------------------------------------------


def test_quoted_names_may_hold_commas_and_doubled_quotes():
    result = run("probs", "-o", "json", data='"big, cat","say ""hi"""\n1,2\n')
    assert json.loads(result.stdout)["classes"] == ["big, cat", 'say "hi"']


def test_a_quoted_header_name_may_span_lines():
    result = run("probs", "-o", "json", data='"two\nlines",b\n1,2\n')
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["classes"] == ["two\nlines", "b"]


def test_line_numbers_count_the_lines_inside_quotes():
    result = run("probs", "-o", "csv", "--keep", "0", data='id,a\n"x\ny",1\nz,oops\n')
    assert result.exit_code == 1
    assert result.stderr == "softmax: line 4, column 2: 'oops' is not a number\n"


def test_a_quoted_field_spanning_a_chunk_boundary_is_one_row():
    rows = [f'"r{i}\nmore",{i},{i + 1}\n' for i in range(200)]
    data = ("id,a,b\n" + "".join(rows)).encode()
    source, blocks = read(data, keep=["id"], chunk_bytes=64)
    kept = [row for block in blocks for row in block.kept]
    assert kept == [[f"r{i}\nmore"] for i in range(200)]
    assert [block.line_of(0) for block in blocks][0] == 2
    values = np.concatenate([block.values for block in blocks])
    assert values.shape == (200, 2)


def test_an_unclosed_quote_is_a_located_error():
    result = run("probs", "-o", "csv", data='1,2\n"3,4\n')
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "not closed" in result.stderr


# --- empty fields -----------------------------------------------------------------


def test_an_empty_value_between_commas_in_a_file_is_a_located_error():
    result = run("probs", "-o", "csv", data="1,2,3\n4,5,6\n1,,2\n")
    assert result.exit_code == 1
    assert result.stderr == "softmax: line 3, column 2: empty value\n"


def test_an_empty_value_between_commas_in_an_argument_is_an_error():
    result = run("probs", "1,,2")
    assert result.exit_code == 1
    assert result.stderr == "softmax: argument 2: empty value\n"


def test_a_trailing_comma_in_the_last_argument_is_an_empty_value():
    result = run("probs", "1,2,")
    assert result.exit_code == 1 and "argument 3: empty value" in result.stderr


def test_commas_and_spaces_between_arguments_are_one_separator():
    result = run("probs", "-o", "csv", "2,", "1,", "0.1")
    assert result.exit_code == 0, result.stderr
    assert_allclose(rows_of(result.stdout), [softmax([2, 1, 0.1])], rtol=1e-15)


# --- --keep -----------------------------------------------------------------------


def test_kept_columns_are_carried_as_text_in_the_order_asked():
    source, blocks = read(b"id,a,b,tag\nx1,1,2,p\nx2,3,4,q\n", keep=["tag", "id"])
    assert source.kept_names == ["tag", "id"] and source.classes == ["a", "b"]
    assert blocks[0].kept == [["p", "x1"], ["q", "x2"]]
    assert_allclose(blocks[0].values, [[1, 2], [3, 4]])


def test_kept_columns_by_index_are_named_by_the_index_without_a_header():
    source, blocks = read(b"x1,1,2\nx2,3,4\n", keep=["0"])
    assert source.kept_names == ["0"] and blocks[0].kept == [["x1"], ["x2"]]


def test_kept_ids_do_not_leave_the_fast_path_broken_on_many_rows():
    data = "".join(f"id{i},{i % 7},{i % 3}\n" for i in range(5000)).encode()
    source, blocks = read(data, keep=["0"], chunk_bytes=4096)
    kept = [row[0] for block in blocks for row in block.kept]
    assert kept == [f"id{i}" for i in range(5000)]
    assert sum(block.values.shape[0] for block in blocks) == 5000


def test_a_kept_column_may_also_be_the_label_column():
    source, blocks = read(b"a,b,y\n1,2,0\n3,4,1\n", keep=["y"], label_column="y")
    assert blocks[0].kept == [["0"], ["1"]]
    assert_allclose(blocks[0].labels, [0, 1])
    assert source.classes == ["a", "b"]


def test_keeping_an_unknown_column_is_a_usage_error_naming_keep():
    with pytest.raises(UsageError) as caught:
        read(b"a,b\n1,2\n", keep=["nope"])
    assert caught.value.option == "--keep"


def test_keeping_an_index_out_of_range_is_a_usage_error_naming_keep():
    result = run("probs", "--keep", "5", data="1,2\n3,4\n")
    assert result.exit_code == 2 and "--keep" in result.stderr


def test_kept_columns_on_the_slow_path_keep_the_rows_before_an_error():
    data = b'id,a,b\n"x,1",1,2\nx2,3,nope\n'
    source = open_scores(io.BytesIO(data), keep=["id"])
    block = next(source.blocks)
    assert block.kept == [["x,1"]]
    with pytest.raises(DataError):
        next(source.blocks)


# --- round trip and properties --------------------------------------------------

names = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
    | st.sampled_from([",", '"', "\t", ";", "|", " ", "\n", "[", "\ufeff", "é"]),
    min_size=1,
    max_size=8,
).filter(lambda name: name == name.strip() and not _numeric(name))
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@st.composite
def named_tables(draw):
    width = draw(st.integers(2, 5))
    header = draw(st.lists(names, min_size=width, max_size=width, unique=True))
    rows = draw(st.lists(st.lists(finite, min_size=width, max_size=width), min_size=1, max_size=5))
    return header, rows


def _csv(header, rows, delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(
        header
    )
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows([[repr(v) for v in row] for row in rows])
    return buffer.getvalue()


@given(named_tables(), st.sampled_from(["csv", "tsv"]))
def test_what_the_tool_writes_it_reads_back_with_the_same_classes_and_values(table, output):
    header, rows = table
    first = run("probs", "-o", output, data=_csv(header, rows))
    assert first.exit_code == 0, first.stderr
    second = run("probs", "-o", "json", data=first.stdout)
    assert second.exit_code == 0, second.stderr
    document = json.loads(second.stdout)
    assert document["classes"] == header
    expected = softmax(softmax(np.array(rows), axis=1), axis=1)
    assert_allclose(document["rows"], expected, rtol=1e-12, atol=1e-300)


def test_a_first_class_name_that_starts_like_json_is_quoted_so_it_reads_back():
    written = run("probs", "-o", "csv", data='"[a",b\n1,2\n').stdout
    assert written.splitlines()[0] == '"[a",b'
    assert json.loads(run("probs", "-o", "json", data=written).stdout)["classes"] == ["[a", "b"]


def _row_text(row, separator, quoted):
    texts = [repr(v) for v in row]
    if quoted:
        texts = [f'"{t}"' for t in texts]
    return separator.join(texts)


@given(
    st.lists(st.lists(finite, min_size=2, max_size=2), min_size=1, max_size=6).flatmap(
        lambda rows: st.tuples(
            st.just(rows),
            st.sampled_from([",", ";", "|", "\t", " "]),
            st.booleans(),
            st.integers(0, len(rows) - 1),
            st.sampled_from(["", "O", "x", " "]),
        )
    )
)
def test_exit_zero_means_every_row_is_the_softmax_of_its_input(case):
    rows, separator, quoted, typo_row, typo = case
    lines = [_row_text(row, separator, quoted) for row in rows]
    lines[typo_row] += typo
    result = run("probs", "-o", "json", data="\n".join(lines) + "\n")
    if result.exit_code != 0:
        return
    document = json.loads(result.stdout)
    inputs = rows[1:] if document["classes"] is not None else rows
    assert len(document["rows"]) == len(inputs)
    for output_row, input_row in zip(document["rows"], inputs, strict=True):
        assert all(math.isfinite(p) for p in output_row)
        assert_allclose(output_row, softmax(input_row), rtol=1e-12, atol=1e-300)


def test_a_quote_that_never_closes_in_the_first_rows_stops_at_the_line_limit(monkeypatch):
    from softmax_cli.readers import sniff

    monkeypatch.setattr(sniff, "MAX_LINE_BYTES", 1 << 16)
    data = b'a,b\n1,"\n' + b"x" * 20 + b"\n"
    result = run("probs", "-o", "csv", data=data + (b"y" * 50 + b"\n") * 3000)
    assert result.exit_code == 1
    assert "a quoted field that starts on line 2 is not closed within" in result.stderr
