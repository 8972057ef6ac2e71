"""The package's import graph: no module imports, even indirectly, one that imports it.

An import cycle makes the order of imports matter and hides which module owns
what (``tables`` and ``writers`` once imported each other).  The graph is
read from the source, so it covers every module, whatever a test run imports.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import softmax_cli

PACKAGE = "softmax_cli"
ROOT = Path(softmax_cli.__file__).parent


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(node: ast.stmt, module: str) -> set[str]:
    """The package modules one import statement names."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.startswith(PACKAGE + ".")}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level == 0:
        base = node.module or ""
        if not base.startswith(PACKAGE):
            return set()
    else:
        parent = module.rsplit(".", node.level)[0]
        base = f"{parent}.{node.module}" if node.module else parent
    if base != PACKAGE:
        return {base}
    return {f"{PACKAGE}.{alias.name}" for alias in node.names}  # from . import numerics


def _statements(body: list[ast.stmt], *, nested: bool) -> list[ast.stmt]:
    """Statements run at import (``nested``: also those inside functions and classes)."""
    found: list[ast.stmt] = []
    for node in body:
        if _is_type_checking(node):
            continue
        found.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if nested:
                found += _statements(node.body, nested=True)
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            for child in getattr(node, field, []) or []:
                inner = child.body if isinstance(child, ast.ExceptHandler) else [child]
                found += _statements(inner, nested=nested)
    return found


def import_graph(*, nested: bool) -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports."""
    graph: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages([str(ROOT)], prefix=f"{PACKAGE}."):
        relative = Path(*info.name.split(".")[1:])
        path = ROOT / relative / "__init__.py" if info.ispkg else ROOT / f"{relative}.py"
        if not path.exists():
            continue  # a compiled extension (the native kernel) has no source to read
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Relative imports in a package's __init__ start from the package itself.
        anchor = f"{info.name}.__init__" if info.ispkg else info.name
        edges: set[str] = set()
        for node in _statements(tree.body, nested=nested):
            edges |= _imported(node, anchor)
        graph[info.name] = edges - {info.name, PACKAGE}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_every_module_and_its_imports():
    graph = import_graph(nested=False)
    assert f"{PACKAGE}.writers" in graph
    assert f"{PACKAGE}.formats" in graph[f"{PACKAGE}.writers"]
    assert f"{PACKAGE}.numerics" in graph[f"{PACKAGE}.explain"]  # from . import numerics
    assert f"{PACKAGE}.readers.sniff" in graph[f"{PACKAGE}.readers"]  # a package's modules too


def test_module_level_imports_have_no_cycle():
    assert find_cycle(import_graph(nested=False)) is None


def test_imports_inside_functions_add_no_cycle_either():
    assert find_cycle(import_graph(nested=True)) is None


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_registry_and_the_operations_import_no_other_module_of_ours():
    graph = import_graph(nested=True)
    assert graph[f"{PACKAGE}.formats"] == set()
    assert graph[f"{PACKAGE}.operations"] == set()
