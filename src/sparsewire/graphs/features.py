"""The 23 structural features of a structure graph, as Stier, Darji & Granitzer computed them.

Stier, J., Darji, H. & Granitzer, M. (2021), *Experiments on Properties of Hidden Structures of Sparse
Neural Networks*, Sec. 3.3 / Table 1; the definitions below follow the authors' published code (the
random-prior Reber experiment of ``innvariant/sparsity-experiments-2021``, ``rnn/``), checked line by line.

Default ``convention="stier2021"`` (the authors' definitions). With ``U`` the simple undirected version
of the graph (self-loops and directions dropped), ``N`` its nodes and ``E`` its edges:

- **Orientation and layers.** An undirected graph is oriented edge by edge: each edge ``(u, v)`` as
  networkx lists it becomes ``u → v`` (:func:`~sparsewire.graphs.build.to_dag` with ``seed=None``; for a
  :class:`networkx.Graph` this points every edge from the earlier to the later node in node order, so the
  result is acyclic). Pass ``orientation_seed`` to describe a network built with a seeded random
  orientation instead. A directed graph is taken as it is (a directed graph with cycles is layered as the
  DAG of its strongly connected components, each counted with its nodes). The layers are the
  **longest-path layering** of that DAG (layer 0 = the nodes without predecessors, a node's layer = the
  number of edges on the longest path reaching it). When every node carries a ``layer`` attribute (structure
  graphs of trained networks from :func:`~sparsewire.graphs.extract.to_graph`), those network layers are used.
- ``layers``: the number of layers; ``nodes`` = ``N``; ``edges`` = ``E``.
- ``source_nodes``: the size of the **first layer**; ``sink_nodes``: the size of the **last layer**
  (not every node without in- or out-edges: a node without successors in a middle layer is no sink here).
- ``density`` = ``E / (N (N − 1))`` (half of networkx's undirected density; 0 for ``N < 2``).
- On ``U``: ``diameter`` (largest eccentricity), ``average_shortest_path_length``, ``eccentricity``,
  ``degree_centrality`` (degree / (N − 1); 1 for a single node), ``closeness``
  (``nx.closeness_centrality``, Wasserman–Faust scaling on disconnected graphs), ``node_betweenness``
  (``nx.betweenness_centrality``, normalised) and ``edge_betweenness`` (``nx.edge_betweenness_centrality``,
  normalised). The authors' graphs were always connected; on a disconnected graph diameter, average
  shortest path length and eccentricity are taken over the **largest connected component** (ties: the
  component holding the earliest node in graph order), so no graph makes them fail.
- ``<x>_mean``, ``<x>_var``, ``<x>_std`` over the nodes (edges for ``edge_betweenness``): the mean and the
  **sample** variance and standard deviation (``n − 1`` in the denominator, as Python's
  ``statistics.variance``/``stdev``); with fewer than two values the variance and std are 0 (undefined
  in ``statistics``), and every statistic of an empty set is 0.

``average_shortest_path_length`` completes the paper's 23 features; the authors' Reber script writes the
other 22 (:data:`AUTHORS_FEATURES`) and not this one.

``convention="sparsewire-v1"``: the definitions of the rows this toolkit recorded before issue 11 (kept
to read and reproduce them): ``source_nodes`` / ``sink_nodes`` count every node without incoming / outgoing
edges of the DAG, ``density`` is networkx's ``2E / (N (N − 1))`` and every ``_var`` / ``_std`` is the
population statistic (``ddof=0``); everything else as above. Rows written by the studies carry a
``feature_convention`` column from now on; rows without it carry ``sparsewire-v1``.

Two backends compute the same numbers: ``"networkx"`` (the reference, pure Python) and ``"fast"``
(used by ``"auto"`` when python-igraph is installed): igraph's C betweenness (Brandes 2001) for node and
edge betweenness, and one parallel all-pairs BFS of rustworkx (an ``n × n`` distance matrix, up to 15k
nodes; beyond that igraph BFS per quantity) for eccentricity, closeness and path length.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Literal, TypedDict

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from sparsewire.graphs.build import longest_path_layers, to_dag
from sparsewire.graphs.errors import GraphError

if TYPE_CHECKING:
    import igraph as ig
    import pandas as pd

COUNT_FEATURES: list[str] = ["layers", "nodes", "edges", "source_nodes", "sink_nodes"]
"""Features that only count things (ablation baseline of the structure → accuracy predictors)."""

Distribution = Literal["eccentricity", "degree_centrality", "closeness", "node_betweenness", "edge_betweenness"]
_DISTRIBUTIONS: list[Distribution] = ["eccentricity", "degree_centrality", "closeness", "node_betweenness",
                                      "edge_betweenness"]
FEATURE_NAMES: list[str] = [
    *COUNT_FEATURES,
    "diameter",
    "density",
    "average_shortest_path_length",
    *[f"{name}_{stat}" for name in _DISTRIBUTIONS for stat in ("mean", "var", "std")],
]
"""The 23 feature names, in the order of every feature vector."""

AUTHORS_FEATURES: list[str] = [f for f in FEATURE_NAMES if f != "average_shortest_path_length"]
"""The 22 features the authors' Reber script records (all of :data:`FEATURE_NAMES` but the path length)."""

Backend = Literal["auto", "networkx", "fast"]
Convention = Literal["stier2021", "sparsewire-v1"]
CONVENTIONS: tuple[Convention, ...] = ("stier2021", "sparsewire-v1")
_CONVENTION_BY_NAME: dict[str, Convention] = {c: c for c in CONVENTIONS}
"""Feature conventions (see the module doc); the first is the default."""

DISTANCE_MATRIX_MAX_NODES = 15000
"""Above this many nodes the fast backend avoids the ``n × n`` distance matrix (memory) and uses igraph BFS."""


def _stats(prefix: str, values: Iterable[float], convention: str) -> dict[str, float]:
    arr = np.fromiter(values, dtype=np.float64)
    ddof = 0 if convention == "sparsewire-v1" else 1
    if arr.size == 0:
        return {f"{prefix}_mean": 0.0, f"{prefix}_var": 0.0, f"{prefix}_std": 0.0}
    var = float(arr.var(ddof=ddof)) if arr.size > ddof else 0.0
    return {f"{prefix}_mean": float(arr.mean()), f"{prefix}_var": var, f"{prefix}_std": float(np.sqrt(var))}


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise GraphError(f"unknown feature convention {convention!r}; choose from {list(CONVENTIONS)}")


def undirected(graph: nx.Graph) -> nx.Graph:
    """The simple undirected graph the features are defined on (self-loops and edge directions dropped)."""
    simple = nx.Graph()
    simple.add_nodes_from(graph.nodes)
    simple.add_edges_from((u, v) for u, v in graph.edges if u != v)
    return simple


def feature_layers(graph: nx.Graph, *, orientation_seed: int | None = None) -> list[list[Hashable]]:
    """The layers (node lists, first to last) the directed features count (see the module doc)."""
    if graph.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes): it has no structural features")
    layer_attr = nx.get_node_attributes(graph, "layer")
    if len(layer_attr) == graph.number_of_nodes():
        values = sorted(set(layer_attr.values()))
        return [[n for n in graph.nodes if layer_attr[n] == value] for value in values]
    if graph.is_directed():
        dag = nx.DiGraph(graph)
        dag.remove_edges_from(list(nx.selfloop_edges(dag)))
    else:
        dag = to_dag(graph, seed=orientation_seed)
    if nx.is_directed_acyclic_graph(dag):
        return longest_path_layers(dag)
    # cycles (e.g. recurrent edges): layers of the DAG of strongly connected components, in graph nodes
    condensed = nx.condensation(dag)
    return [[n for c in layer for n in condensed.nodes[c]["members"]] for layer in longest_path_layers(condensed)]


def directed_counts(graph: nx.Graph, *, orientation_seed: int | None = None,
                    convention: Convention = "stier2021") -> dict[str, float]:
    """``layers``, ``source_nodes`` and ``sink_nodes`` (see the module doc for the rules)."""
    _check_convention(convention)
    layers = feature_layers(graph, orientation_seed=orientation_seed)
    if convention == "stier2021":
        return {"layers": float(len(layers)), "source_nodes": float(len(layers[0])),
                "sink_nodes": float(len(layers[-1]))}
    dag = graph if graph.is_directed() else to_dag(graph, seed=orientation_seed)
    indeg = {n: 0 for n in dag.nodes}
    outdeg = {n: 0 for n in dag.nodes}
    for u, v in dag.edges:
        if u != v:
            outdeg[u] += 1
            indeg[v] += 1
    return {"layers": float(len(layers)), "source_nodes": float(sum(d == 0 for d in indeg.values())),
            "sink_nodes": float(sum(d == 0 for d in outdeg.values()))}


def _largest_component(components: list[set[Hashable]], order: dict[Hashable, int]) -> set[Hashable]:
    return max(components, key=lambda c: (len(c), -min(order[n] for n in c)))


class Raw(TypedDict):
    """What a backend returns: four numbers and the five distributions (arrays) of the module doc; the
    convention turns it into the 23 numbers."""

    nodes: float
    edges: float
    diameter: float
    average_shortest_path_length: float
    eccentricity: NDArray[np.float64]
    degree_centrality: NDArray[np.float64]
    closeness: NDArray[np.float64]
    node_betweenness: NDArray[np.float64]
    edge_betweenness: NDArray[np.float64]


def _networkx(graph: nx.Graph) -> Raw:
    u = undirected(graph)
    n = u.number_of_nodes()
    order = {node: i for i, node in enumerate(u.nodes)}
    lcc = u.subgraph(_largest_component(list(nx.connected_components(u)), order)).copy()  # a view is slow
    ecc = nx.eccentricity(lcc)
    return {
        "nodes": float(n),
        "edges": float(u.number_of_edges()),
        "diameter": float(max(ecc.values())),
        "average_shortest_path_length": float(nx.average_shortest_path_length(lcc)),
        "eccentricity": np.fromiter(ecc.values(), float),
        "degree_centrality": np.fromiter(nx.degree_centrality(u).values(), float) if n > 1 else np.ones(1),
        "closeness": np.fromiter(nx.closeness_centrality(u).values(), float),
        "node_betweenness": np.fromiter(nx.betweenness_centrality(u).values(), float),
        "edge_betweenness": np.fromiter(nx.edge_betweenness_centrality(u).values(), float),
    }


def _index_edges(graph: nx.Graph) -> tuple[int, NDArray[np.int64]]:
    index = {node: i for i, node in enumerate(graph.nodes)}
    pairs = {(min(a, b), max(a, b)) for a, b in ((index[u], index[v]) for u, v in graph.edges) if a != b}
    return len(index), np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


class _Distances(TypedDict):
    ecc: NDArray[np.float64]  # eccentricity of the largest component's nodes
    aspl: float  # average shortest path length in the largest component
    closeness: NDArray[np.float64]


def _distance_features(n: int, edges: NDArray[np.int64], lcc: NDArray[np.intp], g: ig.Graph) -> _Distances:
    """Eccentricity (largest component), closeness and ASPL from one all-pairs BFS pass."""
    if not _importable("rustworkx") or n > DISTANCE_MATRIX_MAX_NODES:
        return _igraph_distances(n, lcc, g)  # one BFS pass per quantity, but no n×n matrix in memory
    return _rustworkx_distances(n, edges, lcc)


def _igraph_distances(n: int, lcc: NDArray[np.intp], g: ig.Graph) -> _Distances:
    sub = g.induced_subgraph(lcc.tolist())
    ecc = np.asarray(sub.eccentricity(), dtype=np.float64)
    aspl = sub.average_path_length(directed=False) if len(lcc) > 1 else 0.0
    closeness = np.nan_to_num(np.asarray(g.closeness(normalized=True), dtype=np.float64))
    components = g.connected_components()
    reach = np.asarray(components.sizes(), dtype=np.float64)[components.membership]
    if n > 1:
        closeness *= (reach - 1) / (n - 1)
    return {"ecc": ecc, "aspl": float(aspl), "closeness": closeness}


def _rustworkx_distances(n: int, edges: NDArray[np.int64], lcc: NDArray[np.intp]) -> _Distances:
    import rustworkx as rx

    r = rx.PyGraph(multigraph=False)
    r.add_nodes_from(range(n))
    r.add_edges_from_no_data([tuple(e) for e in edges.tolist()])
    dist = rx.graph_distance_matrix(r, parallel_threshold=300, null_value=np.inf)
    np.fill_diagonal(dist, 0.0)
    finite = np.isfinite(dist)
    reach = finite.sum(1).astype(np.float64)
    total = np.where(finite, dist, 0.0).sum(1)
    closeness = np.zeros(n)
    ok = total > 0
    closeness[ok] = (reach[ok] - 1) / total[ok] * ((reach[ok] - 1) / (n - 1))
    sub = dist[np.ix_(lcc, lcc)]
    k = len(lcc)
    return {"ecc": sub.max(1), "aspl": float(sub.sum() / (k * (k - 1))) if k > 1 else 0.0, "closeness": closeness}


def _fast(graph: nx.Graph) -> Raw:
    import igraph as ig

    n, edges = _index_edges(graph)
    g = ig.Graph(n=n, edges=edges.tolist(), directed=False)
    m = g.ecount()
    components = g.connected_components()
    sizes = np.asarray(components.sizes(), dtype=np.float64)
    membership = np.asarray(components.membership)
    first = np.full(len(sizes), n)
    np.minimum.at(first, membership, np.arange(n))
    biggest = int(max(range(len(sizes)), key=lambda c: (sizes[c], -first[c])))
    lcc = np.flatnonzero(membership == biggest)
    distance = _distance_features(n, edges, lcc, g)
    degree = np.asarray(g.degree(), dtype=np.float64)
    betweenness = np.asarray(g.betweenness(directed=False), dtype=np.float64)
    if n > 2:
        betweenness *= 2.0 / ((n - 1) * (n - 2))
    edge_betweenness = np.asarray(g.edge_betweenness(directed=False), dtype=np.float64) if m else np.zeros(0)
    if n > 1:
        edge_betweenness *= 2.0 / (n * (n - 1))
    ecc = distance["ecc"]
    return {
        "nodes": float(n),
        "edges": float(m),
        "diameter": float(np.max(ecc)),
        "average_shortest_path_length": float(distance["aspl"]),
        "eccentricity": ecc,
        "degree_centrality": degree / (n - 1) if n > 1 else np.ones(1),
        "closeness": distance["closeness"],
        "node_betweenness": betweenness,
        "edge_betweenness": edge_betweenness,
    }


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _have_igraph() -> bool:
    return _importable("igraph")


BACKENDS: dict[str, Callable[[nx.Graph], Raw]] = {"networkx": _networkx, "fast": _fast}


def summarise(raw: Raw, convention: Convention = "stier2021") -> dict[str, float]:
    """The undirected features (all but ``layers``, ``source_nodes``, ``sink_nodes``) from a backend's
    :data:`Raw` output under ``convention``."""
    _check_convention(convention)
    n, m = float(raw["nodes"]), float(raw["edges"])
    pairs = n * (n - 1) if n > 1 else 0.0
    out = {"nodes": n, "edges": m, "diameter": float(raw["diameter"]),
           "density": ((2.0 if convention == "sparsewire-v1" else 1.0) * m / pairs) if pairs else 0.0,
           "average_shortest_path_length": float(raw["average_shortest_path_length"])}
    for name in _DISTRIBUTIONS:
        out |= _stats(name, raw[name], convention)
    return out


def structural_features(graph: nx.Graph, *, backend: Backend = "auto", orientation_seed: int | None = None,
                        convention: Convention = "stier2021") -> dict[str, float]:
    """The 23 features of ``graph`` as ``{name: value}`` in :data:`FEATURE_NAMES` order (definitions: the
    module doc; ``convention="stier2021"``, the authors', by default).

    For an undirected graph, ``layers``/``source_nodes``/``sink_nodes`` are those of
    ``to_dag(graph, seed=orientation_seed)``: by default the authors' edge-order orientation, the one
    prior-built networks use by default. For a network built with a seeded random orientation pass its
    ``dag`` (or that seed) to describe that network's own layering.

    ``backend="auto"`` uses ``"fast"`` when python-igraph is installed, else networkx (same values up to float rounding).
    Raises :class:`GraphError` for an empty graph (no nodes), an unknown backend or convention.
    """
    if graph.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes): it has no structural features")
    _check_convention(convention)
    if backend == "auto":
        backend = "fast" if _have_igraph() else "networkx"
    if backend not in BACKENDS:
        raise GraphError(f"unknown backend {backend!r}; choose from {['auto', *BACKENDS]}")
    if backend == "fast" and not _have_igraph():
        raise GraphError("the fast backend needs the [fast] extra: pip install 'sparsewire[fast]' "
                         "(python-igraph, rustworkx); backend 'auto' or 'networkx' works without it")
    values = directed_counts(graph, orientation_seed=orientation_seed, convention=convention)
    values |= summarise(BACKENDS[backend](graph), convention)
    return {name: values[name] for name in FEATURE_NAMES}


def row_conventions(table: pd.DataFrame) -> list[Convention]:
    """The feature convention of every row of a results table (a :class:`pandas.DataFrame`): its
    ``feature_convention`` column, ``"sparsewire-v1"`` where that is missing (rows recorded before it existed)."""
    if "feature_convention" not in table.columns:
        return ["sparsewire-v1"] * len(table)
    return [_CONVENTION_BY_NAME.get(c, "sparsewire-v1") if isinstance(c, str) else "sparsewire-v1"
            for c in table["feature_convention"]]


def table_convention(table: pd.DataFrame) -> Convention:
    """The one feature convention of a results table's rows (see :func:`row_conventions`); a
    :class:`GraphError` if its rows mix conventions (their feature columns do not mean the same thing)."""
    found = sorted(set(row_conventions(table)))
    if len(found) > 1:
        raise GraphError(f"the table mixes feature conventions {found}: recompute the features of one kind "
                         "(e.g. sparsewire.studies.reber_structure.recompute_features) or filter the rows")
    return found[0] if found else CONVENTIONS[0]


def feature_vector(graph: nx.Graph, *, backend: Backend = "auto", convention: Convention = "stier2021") -> NDArray[np.float64]:
    """:func:`structural_features` as a float array in :data:`FEATURE_NAMES` order."""
    return np.array(list(structural_features(graph, backend=backend, convention=convention).values()))
