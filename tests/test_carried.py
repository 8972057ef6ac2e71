"""What travels beside the results: kept columns and input objects, in every writer.

The writers are driven directly here, as the pipeline drives them; reading
``--keep`` and ``--key`` is tested with the readers.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from softmax_cli.escapes import printable
from softmax_cli.results import Carried, LossDetails, LossSummary
from softmax_cli.writers import RowSettings, make_loss_writer, make_row_writer

VALUES = np.array([[0.25, 0.75], [0.5, 0.5]])
KEPT = [["x1", "big, cat"], ['say "hi"', "y"]]


def written(fmt: str, carried: Carried | None, kept_names=None, classes=("a", "b")) -> str:
    out = io.BytesIO()
    writer = make_row_writer(fmt, out, RowSettings("softmax", 1.0, None), no_color=True)
    writer.start(list(classes) if classes else None, kept_names)
    writer.rows(VALUES, VALUES, 0, carried)
    writer.finish()
    return out.getvalue().decode()


def test_csv_puts_kept_columns_first_and_quotes_them_where_needed() -> None:
    text = written("csv", Carried(kept=KEPT), ["id", "note"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["id", "note", "a", "b"],
        ["x1", "big, cat", "0.25", "0.75"],
        ['say "hi"', "y", "0.5", "0.5"],
    ]


def test_tsv_uses_tabs_for_kept_columns_too() -> None:
    text = written("tsv", Carried(kept=KEPT), ["id", "note"])
    assert text.splitlines()[1] == "x1\tbig, cat\t0.25\t0.75"


def test_json_document_lists_kept_values_after_the_rows() -> None:
    document = json.loads(written("json", Carried(kept=KEPT), ["id", "note"]))
    assert document["rows"] == VALUES.tolist()
    assert document["kept_columns"] == ["id", "note"]
    assert document["kept"] == KEPT


def test_ndjson_writes_each_input_object_with_the_result_added() -> None:
    objects = [{"id": 7, "logits": [1, 2]}, {"id": 8, "logits": [3, 3], "probs": "old"}]
    lines = [
        json.loads(line) for line in written("ndjson", Carried(objects=objects)).split("\n") if line
    ]
    assert lines == [
        {"id": 7, "logits": [1, 2], "probs": [0.25, 0.75]},
        {"id": 8, "logits": [3, 3], "probs": [0.5, 0.5]},
    ]


def test_ndjson_with_kept_columns_writes_objects_named_by_the_columns() -> None:
    text = written("ndjson", Carried(kept=KEPT), ["id", "note"])
    first = json.loads(text.splitlines()[0])
    assert first == {"id": "x1", "note": "big, cat", "probs": [0.25, 0.75]}


def test_the_table_shows_kept_columns_with_control_characters_escaped() -> None:
    kept = [["\x1b]52;c;aGk=\x07", "ok"], ["\x1b[2J", "y"]]
    text = written("table", Carried(kept=kept), ["id\x1b[31m", "note"])
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]52;c;aGk=\\x07" in text and "\\x1b[2J" in text


def test_table_class_names_are_shown_with_control_characters_escaped() -> None:
    text = written("table", None, classes=("\x1b[2Jcat", "dog\x07"))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2Jcat" in text


def losses_written(fmt: str, carried: Carried | None, classes, kept_names=None) -> str:
    out = io.BytesIO()
    writer = make_loss_writer(fmt, out, "none", None, no_color=True)
    writer.start(classes, kept_names)
    losses = np.array([0.5, 1.5])
    details = LossDetails(np.array([0.6, 0.2]), np.array([0, 1]), np.array([0, 0]))
    writer.rows(losses, details, 0, carried)
    summary = LossSummary("none", rows=2, loss_sum=2.0, weight_sum=2.0)
    writer.finish(summary)
    return out.getvalue().decode()


def test_per_row_losses_of_a_headed_input_get_a_loss_header_and_the_kept_columns() -> None:
    text = losses_written("csv", Carried(kept=[["x1"], ["x2"]]), ["a", "b"], ["id"])
    assert text.splitlines() == ["id,loss", "x1,0.5", "x2,1.5"]


def test_per_row_losses_of_an_input_without_header_have_no_header() -> None:
    assert losses_written("csv", None, None).splitlines() == ["0.5", "1.5"]


def test_ndjson_losses_carry_the_input_object() -> None:
    text = losses_written("ndjson", Carried(objects=[{"id": 1}, {"id": 2}]), None)
    assert [json.loads(line) for line in text.splitlines()] == [
        {"id": 1, "loss": 0.5},
        {"id": 2, "loss": 1.5},
    ]


def test_json_losses_list_kept_values() -> None:
    document = json.loads(losses_written("json", Carried(kept=[["x1"], ["x2"]]), None, ["id"]))
    assert document["losses"] == [0.5, 1.5] and document["kept"] == [["x1"], ["x2"]]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]52;c;aGVsbG8=\x07", "\\x1b]52;c;aGVsbG8=\\x07"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("bell\x07", "bell\\x07"),
        ("tab\there", "tab\\x09here"),
        ("\x9b31m", "\\x9b31m"),
        ("café 猫 🙂", "café 猫 🙂"),
    ],
)
def test_printable_escapes_control_characters_and_nothing_else(text: str, shown: str) -> None:
    assert printable(text) == shown


# --- a second input: --targets --------------------------------------------------


def test_a_bad_targets_line_is_named_with_its_file_after_the_rows_before_it(tmp_path) -> None:
    from typer.testing import CliRunner

    from softmax_cli.cli import app

    targets = tmp_path / "soft.csv"
    targets.write_text("0.5,0.5\n1,0\nx,1\n0,1\n")
    result = CliRunner().invoke(
        app,
        ["xent", "--targets", str(targets), "--reduction", "none", "-o", "csv"],
        input="1,2\n3,4\n5,6\n7,8\n",
    )
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"softmax: --targets {targets}: line 3, column 1: 'x' is not a number"
    )
    p = np.exp([[1, 2], [3, 4]]) / np.exp([[1, 2], [3, 4]]).sum(axis=1, keepdims=True)
    expected = [-(0.5 * np.log(p[0])).sum(), -np.log(p[1, 0])]
    np.testing.assert_allclose([float(v) for v in result.stdout.split()], expected, rtol=1e-14)


def test_an_empty_targets_file_is_a_usage_error_naming_it(tmp_path) -> None:
    from typer.testing import CliRunner

    from softmax_cli.cli import app

    targets = tmp_path / "empty.csv"
    targets.write_text("")
    result = CliRunner().invoke(app, ["xent", "--targets", str(targets)], input="1,2\n")
    assert result.exit_code == 2
    assert (
        result.stderr.splitlines()[0]
        == f"softmax xent: --targets: {targets}: no scores in the input"
    )


# --- end to end: the readers fill what the writers carry -------------------------


def _cli(args: list[str], data: str):
    from typer.testing import CliRunner

    from softmax_cli.cli import app

    return CliRunner().invoke(app, args, input=data)


IDS = 'id,cat,dog,y\nimg1,2,1,0\n"img, 2",1,3,1\n'


def test_probs_drops_the_label_column_and_keeps_the_id_before_the_probabilities() -> None:
    result = _cli(["probs", "--keep", "id", "--label-column", "y", "-o", "csv"], IDS)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "cat", "dog"]
    assert rows[1][0] == "img1" and rows[2][0] == "img, 2"
    p = np.exp([2.0, 1.0]) / np.exp([2.0, 1.0]).sum()
    np.testing.assert_allclose([float(v) for v in rows[1][1:]], p, rtol=1e-15)


def test_a_label_column_is_never_a_class_of_probs() -> None:
    result = _cli(["logprobs", "--label-column", "y", "-o", "json"], IDS.replace('"img, 2"', "x"))
    assert result.exit_code == 1  # the id column is text: it must be kept or it is bad data
    result = _cli(["logprobs", "--keep", "0", "--label-column", "y", "-o", "json"], IDS)
    document = json.loads(result.stdout)
    assert document["classes"] == ["cat", "dog"] and len(document["rows"][0]) == 2
    assert document["kept"] == [["img1"], ["img, 2"]]


def test_cross_entropy_per_row_losses_line_up_with_ids_under_a_header() -> None:
    result = _cli(
        ["xent", "--keep", "id", "--label-column", "y", "--reduction", "none", "-o", "csv"], IDS
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "loss"]
    assert [row[0] for row in rows[1:]] == ["img1", "img, 2"]


def test_ndjson_objects_come_back_with_every_field_and_the_result() -> None:
    data = '{"id": 1, "logits": [2, 1], "meta": {"a": [1]}}\n{"id": 2, "logits": [0, 0]}\n'
    result = _cli(["probs", "--key", "logits", "-o", "ndjson"], data)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["meta"] == {"a": [1]} and lines[1]["probs"] == [0.5, 0.5]
    assert lines[0]["logits"] == [2, 1] and lines[0]["id"] == 1


def test_keep_and_key_need_input_with_columns() -> None:
    result = _cli(["probs", "2", "1", "--keep", "id"], "")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "softmax probs: --keep: needs input from a file or stdin, not arguments"
    )


# --- found by trying hostile input --------------------------------------------------


def test_targets_with_a_header_are_matched_to_the_scores_by_class_name(tmp_path) -> None:
    targets = tmp_path / "tg.csv"
    targets.write_text("b,a\n1,0\n0,1\n")
    result = _cli(
        ["xent", "--targets", str(targets), "--reduction", "none", "-o", "csv"],
        "a,b\n1,2\n3,4\n",
    )
    assert result.exit_code == 0, result.stderr
    p = np.exp([[1.0, 2.0], [3.0, 4.0]])
    p /= p.sum(axis=1, keepdims=True)
    expected = [-np.log(p[0, 1]), -np.log(p[1, 0])]  # row 1 is all b, row 2 all a
    np.testing.assert_allclose([float(v) for v in result.stdout.split()[1:]], expected, rtol=1e-14)


def test_targets_naming_other_classes_are_a_data_error(tmp_path) -> None:
    targets = tmp_path / "tg.csv"
    targets.write_text("c,a\n1,0\n")
    result = _cli(["xent", "--targets", str(targets)], "a,b\n1,2\n")
    assert result.exit_code == 1
    assert "its classes (c, a) are not the scores' (a, b)" in result.stderr


def test_a_lone_surrogate_in_an_object_travels_escaped_with_every_row_written() -> None:
    data = '{"l":[1,2]}\n{"l":[3,4]}\n{"l":[1,2],"x":"\\ud800"}\n'
    result = _cli(["probs", "--key", "l", "-o", "ndjson"], data)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["x"] == "\ud800"
