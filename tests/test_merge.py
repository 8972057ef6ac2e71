"""`--partial` and `softmax merge`: shards merged give the single run's output."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special
from typer.testing import CliRunner

from softmax_cli import metrics, partials
from softmax_cli.cli import app

SHARD_SIZES = (1, 90, 7, 233, 40, 2, 127)  # 7 unequal shards, 500 rows
ROWS = sum(SHARD_SIZES)
NAMES = ["cat", "dog", "bird", "fish"]


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def dataset(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 2.5, (ROWS, len(NAMES)))
    labels = rng.integers(0, len(NAMES), ROWS)
    weights = rng.choice([0.0, 0.25, 1.0, 3.5], ROWS)
    return scores, labels, weights


def lines_of(scores, labels, weights) -> list[str]:
    columns = [*(scores.T.tolist()), labels.tolist()] + (
        [] if weights is None else [weights.tolist()]
    )
    return [",".join(repr(v) for v in row) for row in zip(*columns, strict=True)]


def _shards(folder: Path, header: str, body: list[str]) -> tuple[Path, list[Path]]:
    whole = folder / "all.csv"
    whole.write_text("\n".join([header, *body]) + "\n")
    shards, start = [], 0
    for index, size in enumerate(SHARD_SIZES):
        shard = folder / f"shard{index}.csv"
        shard.write_text("\n".join([header, *body[start : start + size]]) + "\n")
        shards.append(shard)
        start += size
    return whole, shards


@pytest.fixture(scope="module")
def data_files(tmp_path_factory) -> dict[bool, tuple[Path, list[Path]]]:
    """By weighted or not: the whole data set in one file, and its rows in 7 unequal shards."""
    scores, labels, weights = dataset()
    found = {}
    for weighted in (False, True):
        folder = tmp_path_factory.mktemp("weighted" if weighted else "plain")
        header = ",".join([*NAMES, "y", *(["w"] if weighted else [])])
        body = lines_of(scores, labels, weights if weighted else None)
        found[weighted] = _shards(folder, header, body)
    return found


@pytest.fixture(scope="module")
def files(data_files) -> tuple[Path, list[Path]]:
    return data_files[True]


def numbers_close(merged, single, path="") -> None:
    """Equal structure, equal text, numbers equal to 1e-12 relative."""
    if isinstance(single, dict):
        assert isinstance(merged, dict) and merged.keys() == single.keys(), path
        for key in single:
            numbers_close(merged[key], single[key], f"{path}.{key}")
    elif isinstance(single, list):
        assert isinstance(merged, list) and len(merged) == len(single), path
        for index, (a, b) in enumerate(zip(merged, single, strict=True)):
            numbers_close(a, b, f"{path}[{index}]")
    elif isinstance(single, float) and not isinstance(single, bool):
        assert isinstance(merged, (int, float)), path
        assert math.isclose(merged, single, rel_tol=1e-12, abs_tol=1e-15), (path, merged, single)
    else:
        assert merged == single, path


def partial_of(*args: str) -> str:
    result = run(*args, "--partial")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    return result.stdout


def merged_and_single(command: list[str], data_files, output: str):
    """Merged shard partials and the single run, for the data with weights when asked."""
    whole, shards = data_files[any(word.startswith("--sample-weight") for word in command)]
    text = "".join(partial_of(*command, "-i", str(shard)) for shard in shards)
    merged = run("merge", "-o", output, input=text)
    single = run(*command, "-i", str(whole), "-o", output)
    assert merged.exit_code == 0, merged.stderr
    assert single.exit_code == 0, single.stderr
    assert merged.stderr == single.stderr
    return merged.stdout, single.stdout


EVALUATIONS = {
    "plain": [],
    "weighted": ["--sample-weight-column", "w"],
    "report": ["--report"],
    "classwise": ["--classwise", "--ece-norm", "l2"],
    "weighted report classwise": ["--sample-weight-column", "w", "--report", "--classwise"],
    "top-k and bins": ["--top-k", "1,2,3", "--bins", "7", "-t", "1.7"],
    "ignored label": ["--ignore-label", "3", "--report"],
}


@pytest.mark.parametrize("extra", EVALUATIONS.values(), ids=EVALUATIONS.keys())
def test_seven_unequal_shards_merge_to_the_single_evaluation(data_files, extra) -> None:
    command = ["evaluate", "--label-column", "y", *extra]
    merged, single = merged_and_single(command, data_files, "json")
    numbers_close(json.loads(merged), json.loads(single))


def test_merged_evaluation_is_the_nll_computed_independently(data_files) -> None:
    scores, labels, weights = dataset()
    command = ["evaluate", "--label-column", "y", "--sample-weight-column", "w"]
    merged, _ = merged_and_single(command, data_files, "json")
    losses = -special.log_softmax(scores, axis=1)[np.arange(ROWS), labels]
    expected = math.fsum(losses * weights) / math.fsum(weights)
    assert math.isclose(json.loads(merged)["nll"], expected, rel_tol=1e-13)


@pytest.mark.parametrize("output", ["csv", "tsv", "ndjson", "table"])
def test_merged_evaluation_in_every_format_is_the_single_runs(data_files, output) -> None:
    command = ["evaluate", "--label-column", "y", "--sample-weight-column", "w", "--report"]
    merged, single = merged_and_single(command, data_files, output)
    if output == "table":
        assert merged == single  # four decimals: the rounding of the sums cannot show
        return
    rows_merged = [line.split(",\t"[output == "tsv"]) for line in merged.splitlines()]
    rows_single = [line.split(",\t"[output == "tsv"]) for line in single.splitlines()]
    if output == "ndjson":
        numbers_close(json.loads(merged), json.loads(single))
        return
    assert len(rows_merged) == len(rows_single)
    for mine, theirs in zip(rows_merged, rows_single, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            try:
                assert math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-15)
            except ValueError:
                assert a == b


LOSSES = {
    "mean": ["--reduction", "mean"],
    "sum": ["--reduction", "sum"],
    "weighted mean": ["--reduction", "mean", "--sample-weight-column", "w"],
    "smoothed, class weights, sum": [
        "--reduction",
        "sum",
        "--label-smoothing",
        "0.1",
        "--weights",
        "1,2,0.5,1",
        "--sample-weight-column",
        "w",
    ],
    "float32 mean, ignored label": ["--dtype", "float32", "--ignore-label", "2"],
}


@pytest.mark.parametrize("extra", LOSSES.values(), ids=LOSSES.keys())
def test_seven_unequal_shards_merge_to_the_single_cross_entropy(data_files, extra) -> None:
    command = ["cross-entropy", "--label-column", "y", *extra]
    merged, single = merged_and_single(command, data_files, "ndjson")
    numbers_close(json.loads(merged), json.loads(single))
    csv_merged, csv_single = merged_and_single(command, data_files, "csv")
    assert math.isclose(float(csv_merged), float(csv_single), rel_tol=1e-12)


def test_merged_cross_entropy_json_has_the_totals_but_no_per_row_losses(data_files) -> None:
    command = ["xent", "--label-column", "y"]
    merged, single = merged_and_single(command, data_files, "json")
    mine, theirs = json.loads(merged), json.loads(single)
    assert mine.pop("losses") == [] and len(theirs.pop("losses")) == ROWS
    theirs.pop("kept", None)
    theirs.pop("kept_columns", None)
    numbers_close(mine, theirs)


def test_merged_cross_entropy_sum_is_the_sum_computed_independently(data_files) -> None:
    scores, labels, _ = dataset()
    merged, _ = merged_and_single(
        ["xent", "--label-column", "y", "--reduction", "sum"], data_files, "csv"
    )
    losses = -special.log_softmax(scores, axis=1)[np.arange(ROWS), labels]
    assert math.isclose(float(merged), math.fsum(losses), rel_tol=1e-13)


# --- random splits, in the core ---------------------------------------------------------


def _through_json(accumulator: metrics.Accumulator) -> partials.Partial:
    out = io.BytesIO()
    partials.write(out, "evaluate", partials.evaluation_options(accumulator), accumulator.state())
    [(name, document)] = list(partials.documents(out.getvalue().decode(), "shard"))
    return partials.checked(document, name)


@given(
    cuts=st.lists(st.integers(0, 120), max_size=8),
    weighted=st.booleans(),
    classwise=st.booleans(),
)
def test_any_split_merges_to_the_single_pass(cuts, weighted, classwise) -> None:
    rng = np.random.default_rng(len(cuts))
    scores = rng.normal(0, 3, (120, 5))
    labels = rng.integers(0, 5, 120)
    weights = rng.random(120) if weighted else None
    settings = {"bins": 6, "top_k": (1, 2), "classwise": classwise, "confusion": True}
    single = metrics.Accumulator(**settings)
    single.add(scores, labels, weights)
    found = []
    edges = [0, *sorted(cuts), 120]
    for start, stop in zip(edges, edges[1:], strict=False):
        shard = metrics.Accumulator(**settings)
        shard.add(
            scores[start:stop], labels[start:stop], None if weights is None else weights[start:stop]
        )
        found.append(_through_json(shard))
    accumulator, _ = partials.merged_evaluation(found)
    accumulator.weighted = weighted
    a, b = accumulator.report(), single.report()
    for name in (
        "nll",
        "accuracy",
        "brier",
        "ece",
        "mce",
        "rmsce",
        "mean_entropy",
        "calibration_error",
    ):
        assert math.isclose(getattr(a, name), getattr(b, name), rel_tol=1e-12, abs_tol=1e-15), name
    assert a.rows == b.rows == 120
    assert np.allclose(a.confusion.matrix(), b.confusion.matrix(), rtol=1e-12)


# --- bad partials and refused options ---------------------------------------------


def good_partial(files) -> str:
    return partial_of("evaluate", "--label-column", "y", "-i", str(files[1][0]))


def refused(result, code: int, *words: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Try '")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_merge_refuses_text_that_is_not_json(files) -> None:
    refused(run("merge", input="rows,of,csv\n1,2,3\n"), 1, "stdin", "not a softmax partial")


def test_merge_refuses_a_truncated_partial(files) -> None:
    text = good_partial(files)
    refused(run("merge", input=text[: len(text) // 2]), 1, "stdin", "truncated")


def test_merge_refuses_another_format_version(files) -> None:
    document = json.loads(good_partial(files))
    document["softmax_partial"] = 99
    refused(run("merge", input=json.dumps(document)), 1, "version 99")


def test_merge_refuses_json_that_is_not_a_partial() -> None:
    refused(run("merge", input='{"loss": 1.5}\n'), 1, "not a softmax partial")


def test_merge_refuses_a_partial_with_sums_missing(files) -> None:
    document = json.loads(good_partial(files))
    del document["state"]["bin_weight"]
    refused(run("merge", input=json.dumps(document)), 1, "not a complete", "bin_weight")


def test_merge_names_the_file_and_the_option_that_disagree(files, tmp_path) -> None:
    shard = str(files[1][2])
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(partial_of("evaluate", "--label-column", "y", "-i", shard))
    second.write_text(partial_of("evaluate", "--label-column", "y", "-i", shard, "--bins", "10"))
    refused(run("merge", str(first), str(second)), 1, str(second), "--bins", "10", "15")


def test_merge_refuses_partials_of_different_commands(files) -> None:
    shard = str(files[1][2])
    text = good_partial(files) + partial_of("xent", "--label-column", "y", "-i", shard)
    refused(run("merge", input=text), 1, "document 2", "cross-entropy")


def test_a_shard_of_only_ignored_rows_merges_as_nothing(files) -> None:
    only_ignored = partial_of("evaluate", "0,0,1;1,0,0", "--labels", "2,2", "--ignore-label", "2")
    other = partial_of("evaluate", "0,0,1", "--labels", "0", "--ignore-label", "2")
    merged = run("merge", "-o", "json", input=only_ignored + other)
    assert merged.exit_code == 0, merged.stderr
    report = json.loads(merged.stdout)
    assert (report["rows"], report["ignored_rows"]) == (1, 2)
    assert math.isclose(report["nll"], math.log(2 + math.e))  # -log(e^0 / (1 + 1 + e))
    refused(run("merge", input=only_ignored), 1, "every row has the ignored label")


def test_merge_refuses_an_empty_input() -> None:
    refused(run("merge", input=""), 1, "no partials")


def test_merge_refuses_a_missing_file(tmp_path) -> None:
    refused(run("merge", str(tmp_path / "nope.json")), 2, "cannot read")


def test_partial_refuses_equal_mass_bins(files) -> None:
    refused(
        run(
            "evaluate", "--label-column", "y", "-i", str(files[0]), "--binning", "mass", "--partial"
        ),
        2,
        "--binning mass",
    )


def test_partial_refuses_per_row_losses(files) -> None:
    refused(
        run("xent", "--label-column", "y", "-i", str(files[0]), "--reduction", "none", "--partial"),
        2,
        "--reduction mean or sum",
    )


def test_partial_refuses_an_output_format(files) -> None:
    refused(
        run("evaluate", "--label-column", "y", "-i", str(files[0]), "-o", "csv", "--partial"),
        2,
        "softmax merge",
    )


def test_an_infinite_loss_survives_the_json_of_a_partial() -> None:
    text = partial_of("xent", "0,-inf", "--labels", "1", "--reduction", "sum")
    assert '"inf"' in text
    result = run("merge", "-o", "csv", input=text + text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "inf\n"


def test_merge_refuses_cross_entropy_partials_of_different_class_counts(tmp_path) -> None:
    three, two = tmp_path / "three.json", tmp_path / "two.json"
    three.write_text(partial_of("xent", "2,1,0.1", "-l", "0"))
    two.write_text(partial_of("xent", "2,1", "-l", "0"))
    refused(run("merge", str(three), str(two)), 1, str(three), str(two), "2 classes", "3 in")
    refused(run("merge", str(two), str(three)), 1, "3 classes", "2 in")


def test_a_cross_entropy_partial_without_a_class_count_merges_with_any(tmp_path) -> None:
    """Partials written before the count was kept have none to compare: they are not refused."""
    older = json.loads(partial_of("xent", "2,1", "-l", "0"))
    del older["state"]["classes"]
    text = json.dumps(older) + "\n" + partial_of("xent", "2,1,0.1", "-l", "0")
    result = run("merge", "-o", "csv", input=text)
    assert result.exit_code == 0, result.stderr
    losses = [-special.log_softmax([2, 1])[0], -special.log_softmax([2, 1, 0.1])[0]]
    assert math.isclose(float(result.stdout), sum(losses) / 2, rel_tol=1e-14)


def _damaged(text: str, where: str, key: str, value) -> str:
    """The partial with one field replaced; a string value is put in as JSON text (1e400)."""
    document = json.loads(text)
    document[where][key] = "MARK"
    return json.dumps(document).replace(
        '"MARK"', value if isinstance(value, str) else json.dumps(value)
    )


LOSS_DAMAGE = {
    "rows too large": ("rows", "1e400"),
    "rows negative": ("rows", -5),
    "rows not whole": ("rows", 2.5),
    "rows a string": ("rows", '"5"'),
    "counted true": ("counted", True),
    "loss sum nan": ("loss_sum", ["nan", 0]),
    "loss sum a number": ("loss_sum", 3),
    "loss sum of three": ("loss_sum", [1, 0, 0]),
    "weight sum infinite": ("weight_sum", ["inf", 0]),
    "sample weight sum nan": ("sample_weight_sum", '"nan"'),
    "classes negative": ("classes", -3),
}


@pytest.mark.parametrize("key, value", LOSS_DAMAGE.values(), ids=LOSS_DAMAGE.keys())
def test_merge_names_the_file_and_field_of_a_damaged_cross_entropy_partial(
    tmp_path, key, value
) -> None:
    damaged = tmp_path / "shard.json"
    damaged.write_text(_damaged(partial_of("xent", "2,1,0.1", "-l", "0"), "state", key, value))
    refused(run("merge", str(damaged)), 1, str(damaged), f"state.{key}", "damaged")


EVALUATION_DAMAGE = {
    "top hits not pairs": ("state", "top_hits", [1, 5]),
    "bins too large": ("options", "bins", "1e400"),
    "a bin count negative": ("state", "bin_count", [-1] + [0] * 14),
    "too few bins": ("state", "bin_weight", [0.0] * 3),
    "weight sum nan": ("state", "weight_sum", '"nan"'),
    "confusion not three lists": ("state", "confusion", [[0]]),
    "nll sum a string": ("state", "sums", '{"nll": "x", "brier": [0, 0], "entropy": [0, 0]}'),
    "ignored negative": ("state", "ignored", -1),
}


@pytest.mark.parametrize("where, key, value", EVALUATION_DAMAGE.values(), ids=EVALUATION_DAMAGE)
def test_merge_names_the_file_and_field_of_a_damaged_evaluation_partial(
    tmp_path, where, key, value
) -> None:
    damaged = tmp_path / "shard.json"
    text = partial_of("evaluate", "1,2,3;0,1,0", "-l", "0,2", "--report")
    damaged.write_text(_damaged(text, where, key, value))
    refused(run("merge", str(damaged)), 1, str(damaged), f"{where}.{key}", "damaged")


def test_a_json_error_says_at_character_once() -> None:
    result = run("merge", input='{"softmax_partial": 1, "command": "cross')
    refused(result, 1, "stdin", "Unterminated string starting at character 35")
    assert " at at " not in result.stderr


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_merge_reads_a_partial_with_a_bom_as_every_input_is_read(tmp_path, encoding) -> None:
    text = partial_of("xent", "2,1,0.1", "-l", "0")
    encoded = tmp_path / "shard.json"
    encoded.write_text(text, encoding=encoding)
    result = run("merge", "-o", "csv", str(encoded), str(encoded))
    assert result.exit_code == 0, result.stderr
    assert math.isclose(float(result.stdout), -special.log_softmax([2, 1, 0.1])[0], rel_tol=1e-14)


def test_merge_with_stdin_closed_names_what_merge_takes(tmp_path) -> None:
    done = _shell("softmax merge <&-", tmp_path)
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert "name the partials' files" in first and "--input" not in first, first
    assert "Traceback" not in done.stderr


def test_a_confusion_matrix_too_large_to_show_names_no_option_merge_lacks() -> None:
    wide = partial_of("evaluate", ",".join(["0"] * 1200), "-l", "7", "--report")
    result = run("merge", input=wide)
    refused(result, 2, "1,200 classes", "-o json")
    assert "--report:" not in result.stderr and "merge: the partials" in result.stderr
    refused(run("merge", "-o", "csv", input=wide), 2, "merge: -o: the partials", "1,200 classes")
    assert run("merge", "-o", "json", input=wide).exit_code == 0


# --- a real pipeline: GNU parallel when installed, xargs -P always ----------------


def _shell(command: str, folder: Path) -> subprocess.CompletedProcess:
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "softmax"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m softmax_cli "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_xargs_over_shard_files_merges_to_the_single_run(files, tmp_path) -> None:
    whole, shards = files
    for shard in shards:
        shutil.copy(shard, tmp_path / shard.name)
    done = _shell(
        "ls shard*.csv | xargs -P 2 -I{} softmax evaluate -i {} --label-column y "
        "--sample-weight-column w --partial | softmax merge -o json",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    single = run(
        "evaluate",
        "-i",
        str(whole),
        "--label-column",
        "y",
        "--sample-weight-column",
        "w",
        "-o",
        "json",
    )
    numbers_close(json.loads(done.stdout), json.loads(single.stdout))


@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel is not installed")
def test_the_readme_gnu_parallel_recipe_merges_to_the_single_run(files, tmp_path) -> None:
    whole, _ = files
    shutil.copy(whole, tmp_path / "preds.csv")
    done = _shell(
        "parallel --will-cite --pipe --header : --block 4k -j 2 --halt now,fail=1 "
        "softmax evaluate --label-column y --sample-weight-column w --partial < preds.csv "
        "> parts.json && softmax merge parts.json -o json",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    single = run(
        "evaluate",
        "-i",
        str(whole),
        "--label-column",
        "y",
        "--sample-weight-column",
        "w",
        "-o",
        "json",
    )
    numbers_close(json.loads(done.stdout), json.loads(single.stdout))


def test_the_shards_hold_exactly_the_whole_files_rows(data_files) -> None:
    """So the comparisons above compare like with like."""
    for whole, shards in data_files.values():
        rows = [row for shard in shards for row in list(csv.reader(shard.open()))[1:]]
        assert rows == list(csv.reader(whole.open()))[1:]
        assert [len(list(csv.reader(shard.open()))) - 1 for shard in shards] == list(SHARD_SIZES)


@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel is not installed")
def test_the_readme_gnu_parallel_recipe_fails_when_a_shard_fails(files, tmp_path) -> None:
    """Without --halt and &&, the merge of the other shards exited 0 with fewer rows."""
    lines = files[0].read_text().splitlines()
    lines[300] = "x" + lines[300]  # one bad line, in one shard
    (tmp_path / "preds.csv").write_text("\n".join(lines) + "\n")
    done = _shell(
        "parallel --will-cite --pipe --header : --block 4k -j 2 --halt now,fail=1 "
        "softmax evaluate --label-column y --sample-weight-column w --partial < preds.csv "
        "> parts.json && softmax merge parts.json -o json",
        tmp_path,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert "is not a number" in done.stderr


def test_the_readme_gnu_parallel_recipe_is_the_one_tested() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "--halt now,fail=1" in readme
    assert (
        "--partial < preds.csv > parts.json" in readme and "&& softmax merge parts.json" in readme
    )
