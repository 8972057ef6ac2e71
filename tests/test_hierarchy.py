"""Hierarchical softmax: leaves sum to 1, products of sigmoids in mpmath, bad trees named
by their line, and Huffman trees built from counts."""

from __future__ import annotations

import heapq

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from softmax_cli import hierarchy
from softmax_cli.errors import DataError, RowError

rng = np.random.default_rng(61)


def balanced(depth: int) -> str:
    """A complete tree with 2**depth leaves; node numbers in breadth-first order."""
    lines = []
    for leaf in range(2**depth):
        bits = [(leaf >> (depth - 1 - level)) & 1 for level in range(depth)]
        node, steps = 0, []
        for bit in bits:
            steps.append(f"{node}:{bit}")
            node = 2 * node + 1 + bit
        lines.append(f"c{leaf} " + " ".join(steps))
    return "\n".join(lines) + "\n"


def mp_probs(scores: list[float], tree: hierarchy.Tree) -> list[mpmath.mpf]:
    with mpmath.workdps(40):
        out = []
        for path in tree.paths:
            product = mpmath.mpf(1)
            for node, code in path:
                s = mpmath.mpf(scores[node])
                product *= 1 / (1 + mpmath.exp(-s if code == 0 else s))
            out.append(product)
        return out


def test_a_balanced_tree_sums_to_one_and_matches_mpmath() -> None:
    tree = hierarchy.parse_tree(balanced(4), "balanced.tree")
    assert tree.nodes == 15 and len(tree.classes) == 16
    scores = rng.normal(0, 3, (50, 15))
    p = hierarchy.probs(scores, tree)
    assert np.abs(p.sum(axis=1) - 1).max() <= 1e-13
    for row in scores[:10]:
        expected = mp_probs(row.tolist(), tree)
        assert_allclose(
            hierarchy.log_probs(row[None, :], tree)[0],
            [float(mpmath.log(v)) for v in expected],
            rtol=1e-13,
        )


def test_all_zero_scores_give_two_to_the_minus_depth() -> None:
    text = hierarchy.tree_text(["a", "b", "c", "d", "e"], hierarchy.huffman_paths([10, 1, 1, 3, 5]))
    tree = hierarchy.parse_tree(text, "h.tree")
    p = hierarchy.probs(np.zeros((1, tree.nodes)), tree)[0]
    assert_allclose(p, 2.0 ** -tree.depths.astype(float), rtol=1e-15)


def test_two_classes_and_one_node_is_the_sigmoid() -> None:
    tree = hierarchy.parse_tree("yes 0:0\nno 0:1\n", "two.tree")
    s = np.array([[-3.0], [0.0], [2.5], [40.0]])
    p = hierarchy.probs(s, tree)
    assert_allclose(p[:, 0], 1 / (1 + np.exp(-s[:, 0])), rtol=1e-15)
    assert_allclose(p[:, 1], 1 / (1 + np.exp(s[:, 0])), rtol=1e-15)


def test_log_probabilities_stay_finite_and_exact_for_huge_scores() -> None:
    tree = hierarchy.parse_tree("yes 0:0\nno 0:1\n", "two.tree")
    log_p = hierarchy.log_probs(np.array([[1000.0], [-1000.0]]), tree)
    assert log_p.tolist() == [[0.0, -1000.0], [-1000.0, 0.0]]
    assert hierarchy.log_probs(np.array([[np.inf]]), tree).tolist() == [[0.0, -np.inf]]


def test_the_label_path_alone_gives_the_same_log_probability() -> None:
    tree = hierarchy.parse_tree(balanced(3), "b.tree")
    scores = rng.normal(0, 4, (40, tree.nodes))
    labels = rng.integers(0, len(tree.classes), 40)
    full = hierarchy.log_probs(scores, tree)[np.arange(40), labels]
    assert_allclose(hierarchy.label_log_probs(scores, tree, labels), full, rtol=1e-14)
    assert_allclose(
        hierarchy.label_log_probs(scores, tree, labels, 2.0),
        hierarchy.log_probs(scores / 2.0, tree)[np.arange(40), labels],
        rtol=1e-14,
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=40), st.integers(0, 2**32 - 1))
def test_a_huffman_tree_of_any_counts_is_a_proper_tree_summing_to_one(counts, seed) -> None:
    names = [f"w{i}" for i in range(len(counts))]
    tree = hierarchy.parse_tree(hierarchy.tree_text(names, hierarchy.huffman_paths(counts)), "h")
    scores = np.random.default_rng(seed).normal(0, 3, (5, tree.nodes))
    assert np.abs(hierarchy.probs(scores, tree).sum(axis=1) - 1).max() <= 1e-13


def test_huffman_paths_have_the_optimal_weighted_length() -> None:
    counts = [120, 70, 9, 6, 4, 30, 1, 1]
    paths = hierarchy.huffman_paths(counts)
    # The optimum: the sum of every merge's weight (independent textbook construction).
    heap = list(map(float, counts))
    heapq.heapify(heap)
    optimum = 0.0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        optimum += merged
        heapq.heappush(heap, merged)
    assert sum(c * len(p) for c, p in zip(counts, paths, strict=True)) == optimum
    assert all(path[0][0] == 0 for path in paths)  # the root is node 0


BAD_TREES = [
    ("a 0:0\nb\n", "line 2: class 'b' has no path"),
    ("a 0:0 1:0 0:1\nb 0:1\n", "line 1: node 0 is used twice in the path of 'a'"),
    ("a 0:0\nb 0:2\n", "line 2: '0:2' is not node:code"),
    ("a 0:0\na 0:1\n", "line 2: class 'a' is already on line 1"),
    ("a 0:0\nb 0:0\n", "line 2: class 'b' has the same path as 'a'"),
    ("a 0:0 1:0\nb 0:0 1:1\nc 0:0\n", "line 3: the path of 'c' ends at node 1"),
    ("a 0:0\nb 0:0 1:0\n", "line 2: the path of 'b' goes on past the leaf 'a'"),
    ("a 0:0 1:0\nb 0:0 1:1\n", "line 1: node 0 has no path with code 1"),
    ("a 0:0\nb 1:1\n", "line 2: node 1 is where line 1 has node 0"),
    ("a 0:0 1:0\nb 0:0 1:1\nc 0:1 1:0\nd 0:1 1:1\n", "line 3: node 1 is in two places"),
    ("a 0:0 5:0\nb 0:0 5:1\nc 0:1\n", "line 1: node 5: the 2 nodes must be numbered 0 to 1"),
    ("# only a comment\na 0:0\n", "a tree needs at least 2 classes, not 1"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TREES)
def test_a_tree_that_is_not_a_proper_binary_tree_names_its_line(text, message) -> None:
    with pytest.raises(DataError) as found:
        hierarchy.parse_tree(text, "my.tree")
    assert str(found.value).startswith("my.tree")
    assert message in str(found.value)


def test_a_row_of_the_wrong_width_or_with_nan_is_a_row_error() -> None:
    tree = hierarchy.parse_tree("a 0:0\nb 0:1\n", "t")
    with pytest.raises(RowError, match="the row has 2 scores, the tree has 1 node \\("):
        hierarchy.probs(np.zeros((1, 2)), tree)
    with pytest.raises(RowError) as found:
        hierarchy.probs(np.array([[0.0], [np.nan]]), tree)
    assert found.value.row == 1


COUNT_ERRORS = [
    ("a,1\nb,x\n", "counts.csv line 2: 'x' is not a count"),
    ("a,1\nb,-2\n", "counts.csv line 2: a count must be a finite number >= 0"),
    ("a,1\na,2\n", "counts.csv line 2: class 'a' is already on line 1"),
    ("a,1,2\n", "counts.csv line 1: expected 'class,count', found 3 fields"),
    ("word,count\na,1\n", "counts.csv: a tree needs at least 2 classes, not 1"),
    ("a b,1\nc,2\n", "counts.csv line 1: 'a b' cannot be a class"),
]


@pytest.mark.parametrize(("text", "message"), COUNT_ERRORS)
def test_bad_counts_are_errors_naming_their_line(text, message) -> None:
    with pytest.raises(DataError, match=message):
        hierarchy.parse_counts(text, "counts.csv")


def test_counts_read_commas_tabs_spaces_and_a_header() -> None:
    assert hierarchy.parse_counts("word,count\nthe,3\nof\t2\ncat 1\n", "c") == (
        ["the", "of", "cat"],
        [3.0, 2.0, 1.0],
    )
