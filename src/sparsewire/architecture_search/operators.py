"""Variation operators on DAG genomes: a network's structure as a graph whose edges run from lower to
higher node index (nodes ``0 … n−1``), so every genome is acyclic by construction and the index order is
a topological order. Used by :mod:`sparsewire.architecture_search.genetic`.

Mutations add or remove an edge, insert a node (wired to random earlier and later nodes) or delete one;
crossover aligns two parents by node index. All operators are pure (new graphs) and draw from a
:class:`numpy.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

MUTATIONS = ("add-edge", "remove-edge", "add-node", "remove-node")


def canonical(graph: nx.Graph, *, seed: int | None = 0) -> nx.DiGraph:
    """A DAG genome from any graph: oriented by :func:`sparsewire.graphs.build.to_dag` (undirected graphs,
    with ``seed``) and relabelled ``0 … n−1`` in a topological order, edges from lower to higher index."""
    from sparsewire.graphs.build import to_dag

    dag = to_dag(graph, seed=seed)
    return _relabel(dag, list(nx.lexicographical_topological_sort(dag, key=str)))


def _relabel(graph: nx.DiGraph, order: list | None = None) -> nx.DiGraph:
    """``graph`` with its nodes renamed ``0 … n−1`` in ``order`` (default: sorted)."""
    index = {node: i for i, node in enumerate(sorted(graph.nodes) if order is None else order)}
    out = nx.DiGraph()
    out.add_nodes_from(range(len(index)))
    out.add_edges_from((index[u], index[v]) for u, v in graph.edges)
    return out


def add_edge(graph: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
    """A new edge ``i → j`` (``i < j``) between two unconnected nodes (unchanged if the DAG is complete)."""
    n = graph.number_of_nodes()
    out = graph.copy()
    if graph.number_of_edges() >= n * (n - 1) // 2:
        return out
    while True:
        i, j = sorted(rng.choice(n, size=2, replace=False).tolist())
        if not out.has_edge(i, j):
            out.add_edge(i, j)
            return out


def remove_edge(graph: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
    """One edge fewer (unchanged if there is none)."""
    out = graph.copy()
    edges = list(out.edges)
    if edges:
        out.remove_edge(*edges[int(rng.integers(len(edges)))])
    return out


def add_node(graph: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
    """Insert a node at a random position, fed by one or two earlier nodes and feeding one or two later ones
    (where there are any)."""
    n = graph.number_of_nodes()
    at = int(rng.integers(n + 1))
    shifted = nx.relabel_nodes(graph, {v: v + 1 if v >= at else v for v in graph.nodes}, copy=True)
    shifted.add_node(at)
    for pool, towards in ((list(range(at)), "in"), (list(range(at + 1, n + 1)), "out")):
        if pool:
            for other in rng.choice(pool, size=min(len(pool), int(rng.integers(1, 3))), replace=False).tolist():
                shifted.add_edge(*((other, at) if towards == "in" else (at, other)))
    return _relabel(shifted)


def remove_node(graph: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
    """Delete a random node and its edges (unchanged for a single node)."""
    if graph.number_of_nodes() <= 1:
        return graph.copy()
    out = graph.copy()
    out.remove_node(int(rng.integers(graph.number_of_nodes())))
    return _relabel(out)


OPERATORS = {"add-edge": add_edge, "remove-edge": remove_edge, "add-node": add_node, "remove-node": remove_node}


def mutate(graph: nx.DiGraph, rng: np.random.Generator, *, steps: int = 1, min_nodes: int = 1,
           max_nodes: int | None = None) -> nx.DiGraph:
    """``steps`` random mutations; node insertions/deletions that would leave ``[min_nodes, max_nodes]``
    are replaced by edge mutations."""
    out = graph
    for _ in range(steps):
        name = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        n = out.number_of_nodes()
        if name == "add-node" and max_nodes is not None and n >= max_nodes:
            name = "add-edge"
        if name == "remove-node" and n <= min_nodes:
            name = "remove-edge"
        out = OPERATORS[name](out, rng)
    return out


def crossover(a: nx.DiGraph, b: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
    """A child aligned by node index: its size is one parent's (chosen at random); edges both parents have
    (within that size) are kept, edges only one has are inherited with probability 1/2."""
    n = (a if rng.random() < 0.5 else b).number_of_nodes()
    child = nx.DiGraph()
    child.add_nodes_from(range(n))
    ea = {e for e in a.edges if e[1] < n}
    eb = {e for e in b.edges if e[1] < n}
    child.add_edges_from(ea & eb)
    for edge in sorted(ea ^ eb):
        if rng.random() < 0.5:
            child.add_edge(*edge)
    return child


def tournament(rng: np.random.Generator, fitness: Sequence[float], size: int) -> int:
    """Index of the fittest of ``size`` entries drawn without replacement (at most all of them)."""
    picks = rng.choice(len(fitness), size=min(size, len(fitness)), replace=False)
    return max(picks.tolist(), key=lambda i: fitness[i])
