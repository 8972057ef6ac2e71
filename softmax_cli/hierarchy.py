"""Hierarchical softmax over a binary tree of sigmoid nodes.  Text and NumPy in, NumPy out.

Each class is a leaf; its path from the root is a list of ``node:code`` steps,
word2vec's "points and codes".  Code 0 takes ``σ(s)`` of that node's score ``s``
and code 1 takes ``σ(-s) = 1 - σ(s)``, so the two children of every node share
its mass and the leaves sum to 1.  Probabilities are products along the path,
computed as sums of ``log σ``, which stay finite for any finite score.
"""

from __future__ import annotations

import csv
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import DataError, RowError
from .numerics import FloatArray, IntArray

Step = tuple[int, int]  # (node, code)


@dataclass(frozen=True)
class Tree:
    """A checked tree: one path per class, as padded arrays for vectorised look-ups."""

    classes: list[str]
    paths: list[list[Step]]
    lines: list[int]  # the tree file's line of each class
    nodes: int  # internal nodes: the scores each row must hold
    path_nodes: IntArray  # (classes, depth) node of each step, 0 past the end
    path_codes: IntArray  # (classes, depth) code of each step, 0 past the end
    depths: IntArray  # (classes,) steps in each path

    @property
    def depth(self) -> int:
        return int(self.depths.max())


def _step(token: str) -> Step | None:
    node, colon, code = token.partition(":")
    if not colon or code not in ("0", "1") or not node.isdigit():
        return None
    return int(node), int(code)


def parse_tree(text: str, name: str) -> Tree:
    """The tree in ``text`` (lines ``class node:code node:code ...``), checked to be a
    proper binary tree; a ``DataError`` naming ``name`` and the line otherwise.

    Blank lines and lines starting with ``#`` are skipped.
    """
    classes: list[str] = []
    paths: list[list[Step]] = []
    lines: list[int] = []
    line_of_class: dict[str, int] = {}
    node_at: dict[tuple[int, ...], tuple[int, int]] = {}  # codes so far -> (node, line)
    place_of_node: dict[int, tuple[int, ...]] = {}
    leaf_at: dict[tuple[int, ...], tuple[str, int]] = {}
    branches: dict[tuple[int, ...], set[int]] = {}

    def fail(number: int, message: str) -> DataError:
        return DataError(f"{name} line {number}: {message}", placed=True)

    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        label, tokens = fields[0], fields[1:]
        if label in line_of_class:
            raise fail(number, f"class {label!r} is already on line {line_of_class[label]}")
        if not tokens:
            raise fail(number, f"class {label!r} has no path (node:code ...)")
        path: list[Step] = []
        for token in tokens:
            step = _step(token)
            if step is None:
                raise fail(number, f"{token!r} is not node:code (a node number, ':', 0 or 1)")
            if any(node == step[0] for node, _ in path):
                raise fail(number, f"node {step[0]} is used twice in the path of {label!r}")
            path.append(step)
        codes: tuple[int, ...] = ()
        for node, code in path:
            if codes in leaf_at:
                other, where = leaf_at[codes]
                raise fail(
                    number, f"the path of {label!r} goes on past the leaf {other!r} (line {where})"
                )
            known = node_at.get(codes)
            if known is not None and known[0] != node:
                raise fail(
                    number,
                    f"node {node} is where line {known[1]} has node {known[0]}: "
                    "the paths do not form one tree",
                )
            if known is None:
                if node in place_of_node:
                    raise fail(number, f"node {node} is in two places of the tree")
                node_at[codes] = (node, number)
                place_of_node[node] = codes
            branches.setdefault(codes, set()).add(code)
            codes = (*codes, code)
        if codes in leaf_at:
            other, where = leaf_at[codes]
            raise fail(number, f"class {label!r} has the same path as {other!r} (line {where})")
        if codes in node_at:
            raise fail(
                number,
                f"the path of {label!r} ends at node {node_at[codes][0]} "
                f"(line {node_at[codes][1]}): a class must be a leaf",
            )
        leaf_at[codes] = (label, number)
        line_of_class[label] = number
        classes.append(label)
        paths.append(path)
        lines.append(number)
    if len(classes) < 2:
        raise DataError(f"{name}: a tree needs at least 2 classes, not {len(classes)}", placed=True)
    for codes, seen in branches.items():
        if len(seen) < 2:
            node, number = node_at[codes]
            missing = 1 - next(iter(seen))
            raise fail(
                number,
                f"node {node} has no path with code {missing}, so the leaf probabilities "
                "would sum to less than 1",
            )
    count = len(node_at)  # a full binary tree: one internal node fewer than leaves
    for node, codes in place_of_node.items():
        if node >= count:
            raise fail(
                node_at[codes][1],
                f"node {node}: the {count} nodes must be numbered 0 to {count - 1} "
                "(the score columns)",
            )
    depth = max(len(path) for path in paths)
    path_nodes = np.zeros((len(paths), depth), dtype=np.intp)
    path_codes = np.zeros((len(paths), depth), dtype=np.intp)
    for index, path in enumerate(paths):
        for place, (node, code) in enumerate(path):
            path_nodes[index, place] = node
            path_codes[index, place] = code
    depths = np.array([len(path) for path in paths], dtype=np.intp)
    return Tree(classes, paths, lines, count, path_nodes, path_codes, depths)


def tree_text(classes: Sequence[str], paths: Sequence[Sequence[Step]]) -> str:
    """A tree file: one line ``class node:code ...`` per class."""
    return "".join(
        f"{label} {' '.join(f'{node}:{code}' for node, code in path)}\n"
        for label, path in zip(classes, paths, strict=True)
    )


def huffman_paths(counts: Sequence[float]) -> list[list[Step]]:
    """Each class's path in the Huffman tree of ``counts`` (word2vec's construction).

    The two smallest weights merge first, the smaller taking code 0; ties go to the
    earlier class.  Internal nodes are numbered from the root (0) down, so frequent
    classes have short paths over low node numbers.
    """
    size = len(counts)
    heap = [(float(count), order, order) for order, count in enumerate(counts)]
    heapq.heapify(heap)
    parent: dict[int, tuple[int, int]] = {}  # member -> (internal node made, code)
    made = 0
    while len(heap) > 1:
        first_count, _, first = heapq.heappop(heap)
        second_count, _, second = heapq.heappop(heap)
        node = size + made
        parent[first] = (node, 0)
        parent[second] = (node, 1)
        heapq.heappush(heap, (first_count + second_count, size + made, node))
        made += 1
    root = size + made - 1

    def number(node: int) -> int:
        return root - node  # the root, made last, is node 0

    paths = []
    for leaf in range(size):
        path: list[Step] = []
        member = leaf
        while member in parent:
            node, code = parent[member]
            path.append((number(node), code))
            member = node
        paths.append(path[::-1])
    return paths


def parse_counts(text: str, name: str) -> tuple[list[str], list[float]]:
    """Class names and counts from ``class,count`` lines (comma, tab or spaces; CSV quotes
    honoured); a first line whose count is not a number is a header."""
    classes: list[str] = []
    counts: list[float] = []
    seen: dict[str, int] = {}
    first = True
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        separator = "," if "," in line else ("\t" if "\t" in line else None)
        if separator is None:
            fields = line.split()
        else:  # CSV quoting: "x,y",5 is the class x,y
            fields = [field.strip() for field in next(csv.reader([line], delimiter=separator))]
        if len(fields) != 2:
            raise DataError(
                f"{name} line {number}: expected 'class,count', found {len(fields)} fields",
                placed=True,
            )
        label, count_text = fields
        try:
            count = float(count_text)
        except ValueError:
            if first:
                first = False
                continue  # a header
            raise DataError(
                f"{name} line {number}: {count_text!r} is not a count", placed=True
            ) from None
        first = False
        if not (math.isfinite(count) and count >= 0):
            raise DataError(
                f"{name} line {number}: a count must be a finite number >= 0, not {count_text!r}",
                placed=True,
            )
        if not label or any(ch.isspace() for ch in label) or label.startswith("#"):
            raise DataError(
                f"{name} line {number}: {label!r} cannot be a class in a tree file "
                "(no spaces, not empty, no leading #)",
                placed=True,
            )
        if label in seen:
            raise DataError(
                f"{name} line {number}: class {label!r} is already on line {seen[label]}",
                placed=True,
            )
        seen[label] = number
        classes.append(label)
        counts.append(count)
    if len(classes) < 2:
        raise DataError(f"{name}: a tree needs at least 2 classes, not {len(classes)}", placed=True)
    return classes, counts


def log_sigmoid(x: FloatArray) -> FloatArray:
    """``log σ(x) = min(x, 0) - log1p(exp(-|x|))``: finite for every finite ``x``."""
    with np.errstate(over="ignore", under="ignore"):
        return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def _checked(scores: FloatArray, tree: Tree, temperature: float) -> FloatArray:
    if scores.shape[1] != tree.nodes:
        raise RowError(
            0,
            f"the row has {scores.shape[1]} score{'' if scores.shape[1] == 1 else 's'}, "
            f"the tree has {tree.nodes} node{'' if tree.nodes == 1 else 's'} "
            "(one score per internal node)",
        )
    nan_rows = np.isnan(scores).any(axis=1)
    if nan_rows.any():
        row = int(np.argmax(nan_rows))
        column = int(np.argmax(np.isnan(scores[row])))
        raise RowError(row, "NaN is not a score", column=column + 1)
    return scores / temperature if temperature != 1.0 else scores


def log_probs(scores: FloatArray, tree: Tree, temperature: float = 1.0) -> FloatArray:
    """Log-probabilities of every class: the sum of ``log σ(±s/T)`` along its path."""
    s = _checked(scores, tree, temperature)
    rows, nodes = s.shape
    # Columns: log σ(s) of each node (code 0), then log σ(-s) (code 1), then 0 for padding.
    table = np.empty((rows, 2 * nodes + 1))
    table[:, :nodes] = log_sigmoid(s)
    table[:, nodes : 2 * nodes] = log_sigmoid(-s)
    table[:, 2 * nodes] = 0.0
    columns = tree.path_nodes + nodes * tree.path_codes
    columns[np.arange(tree.depth)[None, :] >= tree.depths[:, None]] = 2 * nodes
    out = np.zeros((rows, len(tree.classes)))
    for place in range(tree.depth):
        out += table[:, columns[:, place]]
    return out


def probs(scores: FloatArray, tree: Tree, temperature: float = 1.0) -> FloatArray:
    """Probabilities of every class: products of ``σ(±s/T)`` along each path."""
    return np.exp(log_probs(scores, tree, temperature))


def label_log_probs(
    scores: FloatArray, tree: Tree, labels: IntArray, temperature: float = 1.0
) -> FloatArray:
    """``log p(label)`` of each row, from the label's path alone: O(depth), not O(classes)."""
    s = _checked(scores, tree, temperature)
    nodes = tree.path_nodes[labels]
    signs = np.where(tree.path_codes[labels] == 0, 1.0, -1.0)
    inside = np.arange(tree.depth)[None, :] < tree.depths[labels][:, None]
    picked = s[np.arange(s.shape[0])[:, None], nodes] * signs
    return np.where(inside, log_sigmoid(picked), 0.0).sum(axis=1)
