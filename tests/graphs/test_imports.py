"""The graphs package's modules import each other without cycles; trace never imports extract."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import sparsewire.graphs

PACKAGE = "sparsewire.graphs"


def _imported(path: Path) -> set[str]:
    """Every module or name ``path`` imports, at top level or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def _import_graph() -> nx.DiGraph:
    """Which module of the package imports which."""
    files = {f"{PACKAGE}.{p.stem}": p for p in Path(sparsewire.graphs.__file__).parent.glob("*.py")
             if p.stem != "__init__"}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for name, path in files.items():
        graph.add_edges_from((name, other) for other in _imported(path) & files.keys() if other != name)
    return graph


def test_trace_does_not_import_extract():
    assert f"{PACKAGE}.extract" not in nx.descendants(_import_graph(), f"{PACKAGE}.trace")


def test_the_graphs_modules_import_one_another_without_a_cycle():
    graph = _import_graph()
    assert graph.has_edge(f"{PACKAGE}.extract", f"{PACKAGE}.trace")  # the reading is real
    assert list(nx.simple_cycles(graph)) == []
