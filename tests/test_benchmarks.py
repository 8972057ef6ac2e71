"""The benchmark script: seeded data, output checks that catch wrong answers, a report."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def load_script():
    spec = importlib.util.spec_from_file_location("benchmarks_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = load_script()


def test_data_sets_are_the_same_for_the_same_shape(tmp_path):
    first = bench.write_logits(tmp_path / "a.csv", 300, 4)
    second = bench.write_logits(tmp_path / "b.csv", 300, 4)
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text().splitlines()
    assert len(lines) == 300 and all(len(line.split(",")) == 4 for line in lines)


def test_labelled_data_has_a_header_and_labels_in_range(tmp_path):
    path = bench.write_logits(tmp_path / "l.csv", 50, 3, labels=True)
    header, *rows = path.read_text().splitlines()
    assert header == "c0,c1,c2,y"
    assert {int(row.split(",")[-1]) for row in rows} <= {0, 1, 2}


def softmax_text(row: list[float]) -> str:
    exps = [math.exp(x - max(row)) for x in row]
    return ",".join(repr(e / sum(exps)) for e in exps)


def test_row_check_accepts_right_output_and_names_what_is_wrong(tmp_path):
    source = tmp_path / "in.csv"
    rows = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]]
    source.write_text("".join(",".join(map(repr, row)) + "\n" for row in rows))
    check = bench.rows_check(source, 2, bench.softmax_rows)
    right = tmp_path / "right.csv"
    right.write_text("".join(softmax_text(row) + "\n" for row in rows))
    short = tmp_path / "short.csv"
    short.write_text(softmax_text(rows[0]) + "\n")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("".join(softmax_text(row[::-1]) + "\n" for row in rows))
    assert check(right) is None
    assert check(short) == "1 rows, expected 2"
    assert check(wrong) == "values differ from NumPy's"


def test_loss_check_compares_the_mean_cross_entropy(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("a,b,y\n1,2,1\n3,0,0\n")
    want = (math.log(math.exp(1) + math.exp(2)) - 2 + math.log(math.exp(3) + 1) - 3) / 2
    check = bench.loss_check(source)
    output = tmp_path / "out.csv"
    output.write_text(f"{want!r}\n")
    assert check(output) is None
    output.write_text(f"{want * 1.001!r}\n")
    assert check(output) is not None


def test_evaluation_check_compares_nll_accuracy_and_the_confusion_matrix(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("a,b,y\n1,2,1\n3,0,1\n")
    nll = (math.log(math.exp(1) + math.exp(2)) - 2 + math.log(math.exp(3) + 1) - 0) / 2
    check = bench.evaluation_check(source, report=True)
    output = tmp_path / "out.json"
    right = {"nll": nll, "accuracy": 0.5, "confusion_matrix": [[0, 0], [1, 1]]}
    output.write_text(json.dumps(right))
    assert check(output) is None
    output.write_text(json.dumps({**right, "accuracy": 1.0}))
    assert check(output) == "accuracy 1.0, expected 0.5"
    output.write_text(json.dumps({**right, "confusion_matrix": [[1, 0], [0, 1]]}))
    assert check(output) == "the confusion matrix does not hold the rows"
    output.write_text(json.dumps({**right, "nll": nll * 1.001}))
    assert check(output) is not None


@pytest.mark.slow
def test_a_quick_run_prints_a_markdown_table_with_the_targets(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = result.stdout
    assert "| workload | method | median wall (s) | MB/s | peak RSS (MB) | ratio |" in report
    assert "| softmax probs |" in report
    from softmax_cli.options import COMMANDS

    for command in COMMANDS:  # a start-up figure for every command the app declares
        assert f"- start-up, softmax {command.name} " in report, command.name
    assert "- start-up, TAB: softmax cro<TAB>:" in report
    assert "output wrong" not in report


def test_top_check_accepts_the_right_top_classes_and_catches_wrong_ones(tmp_path):
    source = tmp_path / "in.csv"
    rows = [[1.0, 3.0, 2.0, -1.0], [0.5, -1.0, 4.0, 4.5], [0.0, 0.0, 1.0, 0.0]]
    source.write_text("".join(",".join(map(repr, row)) + "\n" for row in rows))

    def output(swap: bool) -> Path:
        lines = ["row,rank,class,prob,logprob,cumulative"]
        for number, row in enumerate(rows, start=1):
            exps = [math.exp(x - max(row)) for x in row]
            probs = [e / sum(exps) for e in exps]
            order = sorted(range(4), key=lambda i: (-probs[i], i))[:2]
            if swap and number == 2:
                order.reverse()
            lines += [f"{number},{r + 1},{c},{probs[c]!r},0,0" for r, c in enumerate(order)]
        path = tmp_path / f"out-{swap}.csv"
        path.write_text("\n".join(lines) + "\n")
        return path

    check = bench.top_check(source, 3, 2)
    assert check(output(False)) is None
    assert check(output(True)) == "row 2: top classes differ from NumPy's"


def test_ndjson_data_holds_the_csv_rows_as_arrays(tmp_path):
    csv = bench.write_logits(tmp_path / "a.csv", 40, 3)
    lines = bench.write_ndjson(tmp_path / "a.ndjson", csv).read_text().splitlines()
    rows = [[float(v) for v in line.split(",")] for line in csv.read_text().splitlines()]
    assert [json.loads(line) for line in lines] == rows


def test_npy_check_accepts_right_output_and_names_what_is_wrong(tmp_path):
    import numpy as np

    source = bench.write_npy(tmp_path / "in.npy", 30, 4)
    x = np.load(source)
    exps = np.exp(x - x.max(axis=1, keepdims=True))
    output = tmp_path / "out.npy"
    np.save(output, exps / exps.sum(axis=1, keepdims=True))
    check = bench.npy_check(source, 30)
    assert check(output) is None
    np.save(output, (exps / exps.sum(axis=1, keepdims=True)).astype(np.float32))
    assert "float32" in check(output)
    np.save(output, exps)
    assert check(output) == "values differ from NumPy's"
