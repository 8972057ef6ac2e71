"""explain's views: the softmax derivation, the sampling filters, sparsemax/entmax/tree.

Each view writes its own table; options and formats of another view are refused
with one usage error instead of being silently ignored.
"""

from __future__ import annotations

import json

import pytest

from tests.test_frontend import assert_usage_error, run

VECTOR = ("2", "1", "0.1")


@pytest.mark.parametrize(
    ("view", "other"),
    [
        (["--top-p", "0.8"], ["--sparsemax"]),
        (["--top-k", "2"], ["--entmax", "1.5"]),
        (["--min-p", "0.1"], ["--tree", "examples/animals.tree"]),
    ],
)
def test_two_views_at_once_are_refused(view: list[str], other: list[str]) -> None:
    result = run("explain", *VECTOR, *view, *other)
    assert_usage_error(result)
    assert "one thing at a time" in result.stderr


@pytest.mark.parametrize("view", [["--top-p", "0.8"], ["--sparsemax"], ["--entmax", "1.5"]])
@pytest.mark.parametrize(
    "derivation_only",
    [
        ["--brief"],
        ["--online"],
        ["--step", "0.5"],
        ["--target", "0.7,0.2,0.1"],
        ["--dtype", "float16"],
    ],
)
def test_a_view_refuses_the_derivations_options(
    view: list[str], derivation_only: list[str]
) -> None:
    result = run("explain", *VECTOR, *view, *derivation_only)
    assert_usage_error(result)
    assert derivation_only[0] in result.stderr.splitlines()[0]


@pytest.mark.parametrize("view", [["--top-k", "2"], ["--sparsemax"]])
@pytest.mark.parametrize("slides", ["markdown", "latex"])
def test_a_view_refuses_slide_formats(view: list[str], slides: str) -> None:
    result = run("explain", *VECTOR, *view, "-o", slides)
    assert_usage_error(result)
    assert slides in result.stderr


@pytest.mark.parametrize("view", [["--top-k", "2"], ["--sparsemax"]])
def test_a_view_writes_json(view: list[str]) -> None:
    result = run("explain", *VECTOR, *view, "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert isinstance(json.loads(result.stdout), dict)


@pytest.mark.parametrize("view", [[], ["--top-k", "2"], ["--sparsemax"], ["--entmax", "1.5"]])
def test_every_view_refuses_more_classes_than_a_table_can_show(view: list[str]) -> None:
    result = run("explain", *view, ",".join(["1"] * 10_001))
    assert_usage_error(result)
    assert "10,000" in result.stderr
