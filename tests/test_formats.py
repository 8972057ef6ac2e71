"""The registry of output formats: the names, what each output supports, parsing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from softmax_cli.formats import (
    DOCUMENT_FORMATS,
    EXPLAIN_FORMATS,
    NAMES,
    SUPPORTED,
    Format,
    Output,
    parse_format,
)


def test_the_names_are_the_formats_of_the_interface_in_help_order():
    assert NAMES == ("table", "csv", "tsv", "json", "ndjson", "markdown", "latex", "npy")


def test_a_format_reads_back_from_its_name_in_any_case():
    assert parse_format("CSV") is Format.CSV
    assert parse_format("Json") is Format.JSON
    assert parse_format("ndjson") is Format.NDJSON


def test_a_format_member_parses_as_itself():
    assert parse_format(Format.TSV) is Format.TSV


def test_a_str_enum_of_another_module_parses_by_its_value():
    from enum import Enum

    Other = Enum("Other", {"table": "table"}, type=str)
    assert parse_format(Other.table) is Format.TABLE


def test_an_unknown_format_is_an_error_that_names_it():
    with pytest.raises(ValueError, match="'xml'"):
        parse_format("xml")


def test_an_empty_name_is_an_error_not_the_default_table():
    with pytest.raises(ValueError, match="unknown output format"):
        parse_format("")


def test_explain_supports_table_and_json_but_not_delimited_text():
    assert EXPLAIN_FORMATS == (
        Format.TABLE,
        Format.JSON,
        Format.NDJSON,
        Format.MARKDOWN,
        Format.LATEX,
    )
    assert parse_format("json", Output.EXPLAIN) is Format.JSON
    with pytest.raises(ValueError, match="explain cannot be written as csv"):
        parse_format("csv", Output.EXPLAIN)


def test_rows_support_every_data_format_and_reports_every_text_format():
    text = tuple(f for f in Format if f not in DOCUMENT_FORMATS and f is not Format.NPY)
    assert SUPPORTED[Output.ROWS] == (*text, Format.NPY)
    for output in (Output.LOSSES, Output.EVALUATION, Output.CALIBRATION):
        assert SUPPORTED[output] == text


def test_every_kind_of_output_has_its_formats_listed():
    assert set(SUPPORTED) == set(Output)


def test_separators_belong_to_csv_and_tsv_only():
    assert {f: f.separator for f in Format if f.is_delimited} == {
        Format.CSV: ",",
        Format.TSV: "\t",
    }
    assert [f for f in Format if f.is_json] == [Format.JSON, Format.NDJSON]


def test_a_format_prints_as_its_name():
    assert str(Format.NDJSON) == "ndjson"
    assert f"{Format.CSV}" == "csv"


def test_importing_the_registry_and_the_operations_loads_no_numpy_orjson_or_rich():
    code = (
        "import sys, softmax_cli.formats, softmax_cli.operations;"
        "print(','.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    imported = set(result.stdout.strip().split(","))
    assert imported & {"numpy", "orjson", "rich", "typer"} == set()
