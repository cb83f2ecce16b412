"""GraphML files: the exchange format for structures (``sparsewire graph prior/describe/draw``)."""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx

from sparsewire.graphs.errors import GraphError, GraphWarning

#: Largest graph (nodes) read by default: the features of bigger graphs take minutes to hours (betweenness,
#: all shortest paths). Raise it with ``max_nodes=``, ``--max-nodes`` or ``$SPARSEWIRE_MAX_NODES``.
MAX_NODES = 10_000
MAX_NODES_ENV = "SPARSEWIRE_MAX_NODES"


def node_limit(max_nodes: int | None = None) -> int:
    """``max_nodes``, else ``$SPARSEWIRE_MAX_NODES``, else :data:`MAX_NODES`."""
    if max_nodes is not None:
        return int(max_nodes)
    raw = os.environ.get(MAX_NODES_ENV, "").strip()
    if not raw:
        return MAX_NODES
    try:
        return int(raw)
    except ValueError:
        raise GraphError(f"${MAX_NODES_ENV} must be an integer, got {raw!r}") from None


def check_size(graph: nx.Graph, source: object, max_nodes: int | None = None) -> None:
    """Raise :class:`GraphError` if ``graph`` has more nodes than :func:`node_limit` allows."""
    limit = node_limit(max_nodes)
    n = graph.number_of_nodes()
    if n > limit:
        raise GraphError(f"{source} has {n} nodes, more than the limit of {limit} (structural features of "
                         f"graphs this large take very long); raise it with --max-nodes or ${MAX_NODES_ENV}")


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


def load_graphml(path: str | Path, *, max_nodes: int | None = None) -> nx.Graph:
    """Read a GraphML file; node ids that are all decimal integers become ``int`` (as generators make them).

    Parallel edges (a multigraph) are collapsed into one edge each, keeping the first edge's attributes,
    with a :class:`GraphWarning`. Raises :class:`FileNotFoundError` for a missing file and
    :class:`GraphError` for a file that is not GraphML, holds no graph, or has more nodes than
    :func:`node_limit` (``max_nodes``, ``$SPARSEWIRE_MAX_NODES``, default :data:`MAX_NODES`).
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
    check_size(graph, path, max_nodes)
    if graph.is_multigraph():
        graph = _collapse(graph, path)
    labels = list(graph.nodes)
    if labels and all(isinstance(n, str) and n.lstrip("-").isdigit() for n in labels):
        graph = nx.relabel_nodes(graph, {n: int(n) for n in labels}, copy=True)
    return graph


def _collapse(graph: nx.MultiGraph, source: object) -> nx.Graph:
    """The simple graph of a multigraph: one edge per connected pair (the first one's attributes)."""
    simple = nx.DiGraph() if graph.is_directed() else nx.Graph()
    simple.graph.update(graph.graph)
    simple.add_nodes_from(graph.nodes(data=True))
    for u, v, data in graph.edges(data=True):
        if not simple.has_edge(u, v):
            simple.add_edge(u, v, **data)
    dropped = graph.number_of_edges() - simple.number_of_edges()
    if dropped:
        warnings.warn(f"{source}: {dropped} parallel edges collapsed (a structure graph has at most one edge "
                      "per pair of nodes)", GraphWarning, stacklevel=3)
    return simple
