"""GraphML files: the exchange format for structures (``sparsewire graph prior/describe/draw``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx

from sparsewire.graphs.errors import GraphError


def save_graphml(graph: nx.Graph, path: str | Path) -> Path:
    """Write ``graph`` (nodes, edges, scalar attributes) to ``path`` as GraphML; returns the path.

    Attribute values that GraphML cannot hold (None, lists, ...) are dropped rather than failing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = graph.copy()
    ok = (bool, int, float, str)
    clean.graph = {k: v for k, v in graph.graph.items() if isinstance(v, ok)}
    for _, data in clean.nodes(data=True):
        for key in [k for k, v in data.items() if not isinstance(v, ok)]:
            del data[key]
    for *_, data in clean.edges(data=True):
        for key in [k for k, v in data.items() if not isinstance(v, ok)]:
            del data[key]
    nx.write_graphml(clean, path)
    return path


def load_graphml(path: str | Path) -> nx.Graph:
    """Read a GraphML file; node ids that are all decimal integers become ``int`` (as generators make them).

    Raises :class:`FileNotFoundError` for a missing file and :class:`GraphError` for a file that is not
    GraphML (or holds no graph).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such graph file: {path}")
    try:
        graph = nx.read_graphml(path)
    except (ET.ParseError, nx.NetworkXError, KeyError, ValueError, IndexError) as err:
        raise GraphError(f"{path} is not a readable GraphML graph: {err}") from err
    if graph is None:
        raise GraphError(f"{path} contains no graph")
    labels = list(graph.nodes)
    if labels and all(isinstance(n, str) and n.lstrip("-").isdigit() for n in labels):
        graph = nx.relabel_nodes(graph, {n: int(n) for n in labels}, copy=True)
    return graph
