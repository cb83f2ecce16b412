"""The 23 structural features of Stier, Darji & Granitzer (2021), Sec. 3.3 / Table 1, of a structure graph.

Every feature is defined as networkx defines it on the **undirected, simple** version ``U`` of the graph
(self-loops dropped), except the three that need directions:

- ``layers``: the number of distinct ``layer`` node attributes if every node has one (structure graphs
  from :func:`~sparsewire.graphs.extract.to_graph`), else the number of longest-path layers of the DAG
  (undirected graphs are oriented with :func:`~sparsewire.graphs.build.to_dag`, ``seed=orientation_seed``,
  default 0; a directed graph with cycles counts the layers of its condensation, one node per strongly
  connected component);
- ``source_nodes`` / ``sink_nodes``: nodes without incoming / outgoing edges of that directed graph
  (self-loops ignored).

``nodes``, ``edges``, ``density`` (``nx.density(U)``), ``degree_centrality``, ``closeness``
(``nx.closeness_centrality``, Wasserman–Faust scaling for disconnected graphs), ``node_betweenness``
(``nx.betweenness_centrality``, normalised) and ``edge_betweenness`` (``nx.edge_betweenness_centrality``,
normalised) use all of ``U``. ``diameter``, ``average_shortest_path_length`` and ``eccentricity`` are
undefined on disconnected graphs in networkx; here they are taken over the **largest connected component**
(ties: the component holding the earliest node in graph order), so no graph makes them fail.
``mean``/``var``/``std`` are population statistics (``ddof=0``) over nodes (edges for edge betweenness);
statistics of an empty set are 0.

Two backends compute the same numbers: ``"networkx"`` (the reference, pure Python) and ``"fast"``
(used by ``"auto"`` when python-igraph is installed): igraph's C betweenness (Brandes 2001) for node and
edge betweenness, and one parallel all-pairs BFS of rustworkx (an ``n × n`` distance matrix, up to 15k
nodes; beyond that igraph BFS per quantity) for eccentricity, closeness and path length.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Literal

import networkx as nx
import numpy as np

from sparsewire.graphs.build import layered, to_dag
from sparsewire.graphs.errors import GraphError

COUNT_FEATURES: list[str] = ["layers", "nodes", "edges", "source_nodes", "sink_nodes"]
"""Features that only count things (ablation baseline of the structure → accuracy predictors)."""

_DISTRIBUTIONS = ["eccentricity", "degree_centrality", "closeness", "node_betweenness", "edge_betweenness"]
FEATURE_NAMES: list[str] = [
    *COUNT_FEATURES,
    "diameter",
    "density",
    "average_shortest_path_length",
    *[f"{name}_{stat}" for name in _DISTRIBUTIONS for stat in ("mean", "var", "std")],
]
"""The 23 feature names, in the order of every feature vector."""

Backend = Literal["auto", "networkx", "fast"]

DISTANCE_MATRIX_MAX_NODES = 15000
"""Above this many nodes the fast backend avoids the ``n × n`` distance matrix (memory) and uses igraph BFS."""


def _stats(prefix: str, values: Iterable[float]) -> dict[str, float]:
    arr = np.fromiter(values, dtype=np.float64)
    if arr.size == 0:
        return {f"{prefix}_mean": 0.0, f"{prefix}_var": 0.0, f"{prefix}_std": 0.0}
    var = float(arr.var())
    return {f"{prefix}_mean": float(arr.mean()), f"{prefix}_var": var, f"{prefix}_std": float(np.sqrt(var))}


def undirected(graph: nx.Graph) -> nx.Graph:
    """The simple undirected graph the features are defined on (self-loops and edge directions dropped)."""
    simple = nx.Graph()
    simple.add_nodes_from(graph.nodes)
    simple.add_edges_from((u, v) for u, v in graph.edges if u != v)
    return simple


def directed_counts(graph: nx.Graph, *, orientation_seed: int | None = 0) -> dict[str, float]:
    """``layers``, ``source_nodes`` and ``sink_nodes`` (see the module doc for the rules)."""
    if graph.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes): it has no structural features")
    dag = graph if graph.is_directed() else to_dag(graph, seed=orientation_seed)
    layer_attr = nx.get_node_attributes(graph, "layer")
    if len(layer_attr) == graph.number_of_nodes():
        layers = len(set(layer_attr.values()))
    elif nx.is_directed_acyclic_graph(dag):
        layers = len(layered(dag))
    else:  # cycles (e.g. recurrent edges): layers of the DAG of strongly connected components
        layers = len(layered(nx.condensation(dag)))
    indeg = {n: 0 for n in dag.nodes}
    outdeg = {n: 0 for n in dag.nodes}
    for u, v in dag.edges:
        if u != v:
            outdeg[u] += 1
            indeg[v] += 1
    return {"layers": float(layers), "source_nodes": float(sum(d == 0 for d in indeg.values())),
            "sink_nodes": float(sum(d == 0 for d in outdeg.values()))}


def _largest_component(components: list[set[Hashable]], order: dict[Hashable, int]) -> set[Hashable]:
    return max(components, key=lambda c: (len(c), -min(order[n] for n in c)))


def _networkx(graph: nx.Graph) -> dict[str, float]:
    u = undirected(graph)
    n = u.number_of_nodes()
    order = {node: i for i, node in enumerate(u.nodes)}
    lcc = u.subgraph(_largest_component(list(nx.connected_components(u)), order)).copy()  # a view is slow
    ecc = nx.eccentricity(lcc)
    out = {
        "nodes": float(n),
        "edges": float(u.number_of_edges()),
        "diameter": float(max(ecc.values())),
        "density": float(nx.density(u)),
        "average_shortest_path_length": float(nx.average_shortest_path_length(lcc)),
    }
    out |= _stats("eccentricity", ecc.values())
    out |= _stats("degree_centrality", nx.degree_centrality(u).values() if n > 1 else [1.0])
    out |= _stats("closeness", nx.closeness_centrality(u).values())
    out |= _stats("node_betweenness", nx.betweenness_centrality(u).values())
    out |= _stats("edge_betweenness", nx.edge_betweenness_centrality(u).values())
    return out


def _index_edges(graph: nx.Graph) -> tuple[int, np.ndarray]:
    index = {node: i for i, node in enumerate(graph.nodes)}
    pairs = {(min(a, b), max(a, b)) for a, b in ((index[u], index[v]) for u, v in graph.edges) if a != b}
    return len(index), np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _distance_features(n: int, edges: np.ndarray, lcc: np.ndarray, g: object) -> dict[str, np.ndarray | float]:
    """Eccentricity (largest component), closeness and ASPL from one all-pairs BFS pass."""
    try:
        import rustworkx as rx
    except ImportError:
        rx = None
    if rx is None or n > DISTANCE_MATRIX_MAX_NODES:  # igraph: one BFS pass per quantity, but no n×n matrix in memory
        sub = g.induced_subgraph(lcc.tolist())  # type: ignore[attr-defined]
        ecc = np.asarray(sub.eccentricity(), dtype=np.float64)
        aspl = sub.average_path_length(directed=False) if len(lcc) > 1 else 0.0
        closeness = np.nan_to_num(np.asarray(g.closeness(normalized=True), dtype=np.float64))  # type: ignore[attr-defined]
        components = g.connected_components()  # type: ignore[attr-defined]
        reach = np.asarray(components.sizes(), dtype=np.float64)[components.membership]
        if n > 1:
            closeness *= (reach - 1) / (n - 1)
        return {"ecc": ecc, "aspl": float(aspl), "closeness": closeness}
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


def _fast(graph: nx.Graph) -> dict[str, float]:
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
    out = {
        "nodes": float(n),
        "edges": float(m),
        "diameter": float(np.max(ecc)),
        "density": 2.0 * m / (n * (n - 1)) if n > 1 else 0.0,
        "average_shortest_path_length": float(distance["aspl"]),
    }
    out |= _stats("eccentricity", ecc)
    out |= _stats("degree_centrality", degree / (n - 1) if n > 1 else [1.0])
    out |= _stats("closeness", distance["closeness"])
    out |= _stats("node_betweenness", betweenness)
    out |= _stats("edge_betweenness", edge_betweenness)
    return out


def _have_igraph() -> bool:
    try:
        import igraph  # noqa: F401
    except ImportError:
        return False
    return True


BACKENDS: dict[str, Callable[[nx.Graph], dict[str, float]]] = {"networkx": _networkx, "fast": _fast}


def structural_features(graph: nx.Graph, *, backend: Backend = "auto", orientation_seed: int | None = 0) -> dict[str, float]:
    """The 23 features of ``graph`` as ``{name: value}`` in :data:`FEATURE_NAMES` order.

    For an undirected graph, ``layers``/``source_nodes``/``sink_nodes`` are those of
    ``to_dag(graph, seed=orientation_seed)`` — pass the seed the network was built with (or its ``dag``)
    to describe that network's own layering.

    ``backend="auto"`` uses ``"fast"`` when python-igraph is installed, else networkx (same values up to float rounding).
    Raises :class:`GraphError` for an empty graph (no nodes).
    """
    if graph.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes): it has no structural features")
    if backend == "auto":
        backend = "fast" if _have_igraph() else "networkx"
    if backend not in BACKENDS:
        raise GraphError(f"unknown backend {backend!r}; choose from {['auto', *BACKENDS]}")
    values = directed_counts(graph, orientation_seed=orientation_seed) | BACKENDS[backend](graph)
    return {name: values[name] for name in FEATURE_NAMES}


def feature_vector(graph: nx.Graph, *, backend: Backend = "auto") -> np.ndarray:
    """:func:`structural_features` as a float array in :data:`FEATURE_NAMES` order."""
    return np.array(list(structural_features(graph, backend=backend).values()))
