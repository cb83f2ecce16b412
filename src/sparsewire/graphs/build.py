"""From any graph to a layered DAG: orientation of undirected graphs and layering by longest path.

This is the common first step of graph → network (:mod:`sparsewire.graphs.feedforward`,
:mod:`sparsewire.graphs.recurrent`), following the construction of Stier, Darji & Granitzer (2021),
Sec. 3: every node is a neuron, nodes are layered by the length of the longest path reaching them from a
source, edges between consecutive layers are weights and edges across several layers are skip connections.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Hashable, Iterable
from typing import Literal

import networkx as nx

from sparsewire.graphs.errors import GraphError, GraphWarning


def to_dag(graph: nx.Graph, *, seed: int | None = None) -> nx.DiGraph:
    """Orient ``graph`` into a directed acyclic graph (a new :class:`networkx.DiGraph`; attributes kept).

    Orientation of undirected graphs:

    - ``seed=None`` (default; Stier, Darji & Granitzer's construction): every edge ``(u, v)`` becomes
      ``u → v`` in the order networkx lists it (``graph.edges``). networkx lists each edge of a
      :class:`networkx.Graph` from the node that comes first in the node order, so this points every edge
      from the earlier to the later node: acyclic, and for the integer-labelled priors of
      :mod:`sparsewire.graphs.priors` the edges run from lower to higher label.
    - ``seed=<int>``: the nodes are ranked by a random permutation drawn from ``seed``, and every edge
      points from the lower- to the higher-ranked node (the same seed gives the same DAG).

    Directed graphs are kept as they are and must be acyclic: a cycle raises :class:`GraphError` naming
    it (orient an undirected copy with ``to_dag(graph.to_undirected())`` if that is what you want).
    Self-loops are dropped with a :class:`GraphWarning`; multigraphs are collapsed to simple graphs.
    An empty graph (no nodes) raises :class:`GraphError`. ``dag.graph["orientation_seed"]`` records the
    orientation (``-1`` for edge order).
    """
    if graph.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes): a network needs at least one neuron")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        warnings.warn(f"dropping {len(loops)} self-loop(s), e.g. {loops[0]}: a feed-forward neuron cannot feed itself",
                      GraphWarning, stacklevel=2)
    if graph.is_directed():
        dag = nx.DiGraph(graph)
        dag.remove_edges_from(loops)
        _check_acyclic(dag)
        return dag
    dag = nx.DiGraph()
    dag.graph.update(graph.graph)
    dag.graph["orientation_seed"] = -1 if seed is None else int(seed)
    dag.add_nodes_from(graph.nodes(data=True))
    if seed is None:
        dag.add_edges_from((u, v, data) for u, v, data in graph.edges(data=True) if u != v)
        _check_acyclic(dag)  # holds for every networkx graph; checked for exotic subclasses
        return dag
    nodes = list(graph.nodes)
    random.Random(seed).shuffle(nodes)
    rank = {node: i for i, node in enumerate(nodes)}
    for u, v, data in graph.edges(data=True):
        if u == v:
            continue
        a, b = (u, v) if rank[u] < rank[v] else (v, u)
        dag.add_edge(a, b, **data)
    return dag


Orientation = Literal["edge-order", "random"]
ORIENTATIONS: tuple[str, ...] = ("edge-order", "random")
"""How prior-built networks orient an undirected graph: ``"edge-order"`` (default, the authors') or
``"random"`` (a seeded random node ranking, this toolkit's earlier default)."""


def orient(graph: nx.Graph, orientation: str = "edge-order", seed: int = 0) -> nx.DiGraph:
    """:func:`to_dag` by name: ``"edge-order"`` is ``to_dag(graph)``, ``"random"`` is ``to_dag(graph, seed=seed)``."""
    if orientation not in ORIENTATIONS:
        raise GraphError(f"unknown orientation {orientation!r}; choose from {list(ORIENTATIONS)}")
    return to_dag(graph, seed=None if orientation == "edge-order" else seed)


def _check_acyclic(dag: nx.DiGraph) -> None:
    if not nx.is_directed_acyclic_graph(dag):
        cycle = nx.find_cycle(dag)
        raise GraphError(f"the directed graph has a cycle {cycle[:6]}{'...' if len(cycle) > 6 else ''}; "
                         "a feed-forward network needs a DAG (orient the undirected version with to_dag)")


def reachable(dag: nx.DiGraph, starts: Iterable[Hashable], *, backward: bool = False) -> set[Hashable]:
    """Nodes reachable from any of ``starts`` (themselves included), along the edges or against them
    (``backward=True``): one traversal for all starts, O(V + E)."""
    adjacency = dag.pred if backward else dag.succ
    seen = set(starts)
    stack = list(seen)
    while stack:
        for nxt in adjacency[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def layer_index(dag: nx.DiGraph) -> dict[Hashable, int]:
    """``node -> layer``: the number of edges on the longest path from any source to the node.

    Sources are layer 0; every node of layer ``j >= 1`` has a predecessor in layer ``j - 1``.
    """
    if not dag.is_directed() or not nx.is_directed_acyclic_graph(dag):
        raise GraphError("layering needs a directed acyclic graph; orient it first with to_dag")
    depth: dict[Hashable, int] = {}
    for node in nx.topological_sort(dag):
        depth[node] = max((depth[p] + 1 for p in dag.predecessors(node)), default=0)
    return depth


def longest_path_layers(dag: nx.DiGraph) -> list[list[Hashable]]:
    """Nodes grouped into layers by longest path from the sources (layer 0 = the sources).

    Within a layer, nodes keep the graph's node order, so the layering is deterministic.
    """
    if dag.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes)")
    depth = layer_index(dag)
    layers: list[list[Hashable]] = [[] for _ in range(max(depth.values()) + 1)]
    for node in dag.nodes:
        layers[depth[node]].append(node)
    return layers


class GraphLayout:
    """A DAG laid out in layers, with every edge as a ``(target unit, source unit)`` pair of a layer block.

    ``layers[j]`` lists the nodes of layer ``j``; ``position[node] = (layer, unit)``;
    ``blocks[(i, j)]`` (``i < j``) lists the edges from layer ``i`` to layer ``j`` as index pairs
    ``(unit in j, unit in i)``; ``i == j - 1`` are consecutive-layer weights, the rest skip connections.
    """

    def __init__(self, dag: nx.DiGraph) -> None:
        self.dag = dag
        self.layers = longest_path_layers(dag)
        self.position = {node: (j, u) for j, layer in enumerate(self.layers) for u, node in enumerate(layer)}
        blocks: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for a, b in dag.edges:
            (i, ua), (j, ub) = self.position[a], self.position[b]
            blocks.setdefault((i, j), []).append((ub, ua))
        self.blocks = {key: sorted(blocks[key]) for key in sorted(blocks)}

    @property
    def sizes(self) -> list[int]:
        """Number of nodes per layer."""
        return [len(layer) for layer in self.layers]

    def select(self, spec: str | Iterable[Hashable] | None, default: str) -> dict[int, list[int]]:
        """Units chosen by ``spec`` per layer: ``"sources"``, ``"sinks"``, ``"first-layer"``, ``"last-layer"``
        or an iterable of nodes (``None`` means ``default``)."""
        spec = default if spec is None else spec
        if isinstance(spec, str):
            if spec in ("sources", "first-layer"):
                nodes = self.layers[0]
            elif spec == "last-layer":
                nodes = self.layers[-1]
            elif spec == "sinks":
                nodes = [n for n in self.dag.nodes if self.dag.out_degree(n) == 0]
            else:
                raise GraphError(f"unknown node selection {spec!r}; use 'sources', 'sinks', 'first-layer', "
                                 "'last-layer' or a list of nodes")
        else:
            nodes = list(spec)
            missing = [n for n in nodes if n not in self.position]
            if missing:
                raise GraphError(f"nodes {missing[:5]} are not in the graph")
            if not nodes:
                raise GraphError("an empty node selection attaches nothing")
        chosen: dict[int, list[int]] = {}
        for node in nodes:
            j, u = self.position[node]
            chosen.setdefault(j, []).append(u)
        return {j: sorted(set(units)) for j, units in sorted(chosen.items())}

    def live(self, inputs: dict[int, list[int]], outputs: dict[int, list[int]]) -> set[Hashable]:
        """Nodes on some path from an input-attached node to an output-attached node."""
        start = {self.layers[j][u] for j, units in inputs.items() for u in units}
        end = {self.layers[j][u] for j, units in outputs.items() for u in units}
        return reachable(self.dag, start) & reachable(self.dag, end, backward=True)
