"""Writers dispatch on the format registry: every format has a writer, no other name does."""

from __future__ import annotations

import io

import numpy as np
import orjson
import pytest

from softmax_cli.evaluation import collect, run_calibrate, run_evaluate
from softmax_cli.explain import derive, write_explanation
from softmax_cli.formats import LOSS_FORMATS, ROW_FORMATS, Format
from softmax_cli.operations import Operation
from softmax_cli.pipeline import ListedLabels
from softmax_cli.readers import scores_from_arguments
from softmax_cli.reports import write_calibration, write_evaluation
from softmax_cli.results import LossDetails, LossSummary
from softmax_cli.writers import RowSettings, make_loss_writer, make_row_writer

PROBS = np.array([[0.5, 0.5], [0.25, 0.75]])


def written_rows(format_name: str | Format, settings: RowSettings | None = None) -> bytes:
    out = io.BytesIO()
    writer = make_row_writer(format_name, out, settings or RowSettings("softmax", 1.0, None))
    writer.start(["a", "b"])
    writer.rows(PROBS, PROBS, 0)
    writer.finish()
    return out.getvalue()


@pytest.mark.parametrize("chosen", ROW_FORMATS)
def test_every_row_format_of_the_registry_has_a_writer(chosen):
    assert written_rows(chosen)


def test_a_row_format_name_is_read_in_any_case():
    assert written_rows("CSV") == written_rows("csv") == b"a,b\n0.5,0.5\n0.25,0.75\n"


def test_an_unknown_row_format_is_an_error_not_a_table():
    with pytest.raises(ValueError, match="'xml'"):
        make_row_writer("xml", io.BytesIO(), RowSettings("softmax", 1.0, None))


def test_row_settings_take_an_operation_or_its_name():
    assert RowSettings("log_softmax", 1.0, None).operation is Operation.LOG_SOFTMAX
    assert RowSettings(Operation.SOFTMAX, 1.0, None).operation is Operation.SOFTMAX


def test_row_settings_refuse_an_unknown_operation():
    with pytest.raises(ValueError, match="softmin"):
        RowSettings("softmin", 1.0, None)
    assert RowSettings("sparsemax", 1.0, None).operation is Operation.SPARSEMAX


def test_json_names_the_operation_as_the_interface_spells_it():
    settings = RowSettings(Operation.LOG_SOFTMAX, 0.5, None)
    document = orjson.loads(written_rows(Format.JSON, settings))
    assert document["operation"] == "log_softmax"
    assert document["temperature"] == 0.5


def written_losses(format_name: str | Format) -> bytes:
    out = io.BytesIO()
    writer = make_loss_writer(format_name, out, "mean", None)
    details = LossDetails(np.array([0.5]), np.array([0]), np.array([0]))
    writer.start(None)
    writer.rows(np.array([0.75]), details, 0)
    writer.finish(LossSummary("mean", rows=1, loss_sum=0.75, weight_sum=1.0, correct=1, counted=1))
    return out.getvalue()


@pytest.mark.parametrize("chosen", LOSS_FORMATS)
def test_every_loss_format_of_the_registry_has_a_writer(chosen):
    assert b"0.75" in written_losses(chosen)


def test_an_unknown_loss_format_is_an_error_that_names_it():
    with pytest.raises(ValueError, match="'html'"):
        written_losses("html")


def test_an_evaluation_in_an_unknown_format_is_an_error_before_anything_is_written():
    report = run_evaluate(scores_from_arguments(["2,1;0,3"]), ListedLabels(["0,1"]))
    out = io.BytesIO()
    with pytest.raises(ValueError, match="'yaml'"):
        write_evaluation("yaml", out, report, None, None)
    assert out.getvalue() == b""
    write_evaluation("TSV", out, report, None, None)
    assert out.getvalue().startswith(b"rows\tnll\t")


def test_a_calibration_in_an_unknown_format_is_an_error():
    collected = collect(scores_from_arguments(["2,1;0,3;1,2;3,0"]), ListedLabels(["0,1,0,1"]))
    result = run_calibrate(collected.scores, collected.labels)
    with pytest.raises(ValueError, match="'yaml'"):
        write_calibration("yaml", io.BytesIO(), result, None, None)


def test_explain_writes_json_for_json_and_ndjson_and_refuses_csv():
    steps = derive(np.array([2.0, 1.0]))
    for name in ("json", "ndjson"):
        out = io.BytesIO()
        write_explanation(name, out, steps)
        assert orjson.loads(out.getvalue())["operation"] == "explain"
    with pytest.raises(ValueError, match="explain cannot be written as csv"):
        write_explanation("csv", io.BytesIO(), steps)


def test_explain_as_a_table_is_the_derivation_for_people():
    out = io.BytesIO()
    write_explanation(Format.TABLE, out, derive(np.array([2.0, 1.0])), precision=2)
    assert out.getvalue().startswith(b"softmax, step by step: 2 scores, T = 1")


def test_npy_rows_load_back_as_the_values_written():
    array = np.load(io.BytesIO(written_rows("npy")))
    assert array.dtype == np.float64 and array.tobytes() == PROBS.tobytes()
