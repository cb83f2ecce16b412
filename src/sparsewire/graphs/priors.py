"""Random-graph priors for sparse networks (Stier, Darji & Granitzer 2021, Sec. 3: "prior initialisation").

``generate("watts-strogatz", 100, k=4, p=0.3, seed=1)`` returns an undirected :class:`networkx.Graph` with
integer nodes ``0..nodes-1``. Turn it into a network with :class:`sparsewire.graphs.feedforward.GraphNetwork`
(which orients it into a DAG with :func:`sparsewire.graphs.build.to_dag`).

Generators and their parameters (all from networkx, seeded):

================================  ==========================================================
``erdos-renyi``                   ``p``: edge probability (Erdős & Rényi 1959, G(n, p))
``watts-strogatz``                ``k``: ring neighbours, ``p``: rewiring probability (Watts & Strogatz 1998)
``connected-watts-strogatz``      as above, re-drawn until connected (``tries``, default 100)
``barabasi-albert``               ``m``: edges attached from each new node (Barabási & Albert 1999)
================================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.io import node_limit
from sparsewire.masks.fractions import check_fraction


def _erdos_renyi(nodes: int, seed: int, p: float = 0.1) -> nx.Graph:
    _check_probability("p", p)
    return nx.gnp_random_graph(nodes, p, seed=seed)


def _watts_strogatz(nodes: int, seed: int, k: int = 4, p: float = 0.1) -> nx.Graph:
    _check_ring(nodes, k)
    _check_probability("p", p)
    return nx.watts_strogatz_graph(nodes, int(k), p, seed=seed)


def _connected_watts_strogatz(nodes: int, seed: int, k: int = 4, p: float = 0.1, tries: int = 100) -> nx.Graph:
    _check_ring(nodes, k)
    _check_probability("p", p)
    try:
        return nx.connected_watts_strogatz_graph(nodes, int(k), p, tries=int(tries), seed=seed)
    except nx.NetworkXError as err:
        raise GraphError(f"connected-watts-strogatz: {err} (nodes={nodes}, k={k}, p={p})") from err


def _barabasi_albert(nodes: int, seed: int, m: int = 2) -> nx.Graph:
    if not 1 <= int(m) < nodes:
        raise GraphError(f"barabasi-albert needs 1 <= m < nodes, got m={m}, nodes={nodes}")
    return nx.barabasi_albert_graph(nodes, int(m), seed=seed)


def _check_probability(name: str, value: float) -> None:
    check_fraction(value, "[0, 1]", name, "a probability", GraphError)


def _check_ring(nodes: int, k: int) -> None:
    if int(k) != k or not 1 <= int(k) < nodes:
        raise GraphError(f"watts-strogatz needs an integer 1 <= k < nodes, got k={k}, nodes={nodes}")


GENERATORS: dict[str, Callable[..., nx.Graph]] = {
    "erdos-renyi": _erdos_renyi,
    "watts-strogatz": _watts_strogatz,
    "connected-watts-strogatz": _connected_watts_strogatz,
    "barabasi-albert": _barabasi_albert,
}
"""Generator name -> ``f(nodes, seed, **params)``."""


def generate(generator: str, nodes: int, *, seed: int = 0, max_nodes: int | None = None, **params: float) -> nx.Graph:
    """An undirected random graph with ``nodes`` integer nodes from ``generator`` (see the module table).

    Raises :class:`GraphError` for an unknown generator, a bad size or parameter (the message lists the
    accepted ones), or more nodes than :func:`~sparsewire.graphs.io.node_limit` allows (``max_nodes``,
    ``$SPARSEWIRE_MAX_NODES``, default 10000). The same ``(generator, nodes, seed, params)`` always gives
    the same graph.
    """
    if generator not in GENERATORS:
        raise GraphError(f"unknown generator {generator!r}; choose from {sorted(GENERATORS)}")
    if int(nodes) != nodes or nodes < 1:
        raise GraphError(f"nodes must be a positive integer, got {nodes!r}")
    if nodes > node_limit(max_nodes):
        raise GraphError(f"{nodes} nodes is more than the limit of {node_limit(max_nodes)} (structural features of "
                         "graphs this large take very long); raise it with --max-nodes or $SPARSEWIRE_MAX_NODES")
    try:
        graph = GENERATORS[generator](int(nodes), int(seed), **params)
    except TypeError as err:
        raise GraphError(f"bad parameters {params} for {generator!r}: {err}") from err
    graph.graph.update({"generator": generator, "seed": int(seed), **{f"param_{k}": v for k, v in params.items()}})
    return graph
