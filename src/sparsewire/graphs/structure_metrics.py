"""Metrics of layered networks read from their masks: what the structure leaves of the network.

- ``block_density``: fraction of possible connections kept in every block of consecutive (or skipping)
  layers, ``"i->j"`` keyed by layer index (Van Gelder et al. 2020 compare these per layer);
- in/out-degree distributions of the hidden units (mean, std, max and the histogram);
- ``dead_units``: hidden units on no input→output path (they cannot affect the output; Frankle & Carbin
  2019 and Van Gelder et al. 2020 discuss such units left behind by pruning);
- ``log10_paths``: log10 of the number of distinct input→output paths, counted exactly (integer dynamic
  programming over a topological order);
- ``effective_parameters``: kept weights between live units (on some input→output path) — the weights
  that can still matter; biases are not counted.

Inputs and outputs are the nodes with ``kind`` ``"input"``/``"output"`` (structure graphs of
:func:`~sparsewire.graphs.extract.to_graph`), else the graph's sources and sinks. Recurrent
(within-layer) edges are ignored: the metrics describe the feed-forward paths.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TypedDict

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from torch import nn

from sparsewire.graphs.build import reachable, to_dag
from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.extract import to_graph


def _feedforward(graph: nx.Graph) -> nx.DiGraph:
    if not graph.is_directed():
        return to_dag(graph)  # edge order, as prior-built networks by default
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes(data=True))
    dag.add_edges_from((u, v) for u, v, rec in graph.edges(data="recurrent") if not rec and u != v)
    if not nx.is_directed_acyclic_graph(dag):
        raise GraphError("layered metrics need a feed-forward (acyclic) structure graph")
    return dag


def _ends(dag: nx.DiGraph) -> tuple[list[Hashable], list[Hashable]]:
    kinds = nx.get_node_attributes(dag, "kind")
    if len(kinds) == dag.number_of_nodes() and "input" in kinds.values() and "output" in kinds.values():
        return ([n for n, k in kinds.items() if k == "input"], [n for n, k in kinds.items() if k == "output"])
    return ([n for n in dag if dag.in_degree(n) == 0], [n for n in dag if dag.out_degree(n) == 0])


def count_paths(dag: nx.DiGraph, inputs: list[Hashable], outputs: list[Hashable]) -> int:
    """Exact number of directed paths from any node of ``inputs`` to any node of ``outputs``."""
    start = set(inputs)
    paths: dict[Hashable, int] = {}
    for node in nx.topological_sort(dag):
        paths[node] = (1 if node in start else 0) + sum(paths[p] for p in dag.predecessors(node))
    return sum(paths[n] for n in outputs)


class DegreeSummary(TypedDict):
    """A degree distribution: mean, standard deviation, largest degree, count of every degree ``0..max``."""

    mean: float
    std: float
    max: int
    histogram: list[int]


class StructureMetrics(TypedDict):
    """What :func:`structure_metrics` reports about a feed-forward structure."""

    units: int  # hidden units
    weights: int  # edges
    block_density: dict[str, float]  # "i->j": kept fraction of the block from layer i to layer j
    in_degree: DegreeSummary  # of the hidden units
    out_degree: DegreeSummary
    dead_units: int  # hidden units on no input → output path
    dead_fraction: float
    log10_paths: float  # log10 of the number of input → output paths (-inf: none)
    effective_parameters: int  # edges between live units


def _degree_summary(values: NDArray[np.int64]) -> DegreeSummary:
    if values.size == 0:
        return {"mean": 0.0, "std": 0.0, "max": 0, "histogram": []}
    return {"mean": float(values.mean()), "std": float(values.std()), "max": int(values.max()),
            "histogram": np.bincount(values).tolist()}


def structure_metrics(source: nn.Module | nx.Graph) -> StructureMetrics:
    """Density per block, degree distributions, dead units, log10 path count and effective parameters.

    ``source`` is a model (read with :func:`~sparsewire.graphs.extract.to_graph`) or a graph.
    """
    if isinstance(source, nn.Module):
        source = to_graph(source)
    if source.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes)")
    dag = _feedforward(source)
    inputs, outputs = _ends(dag)
    ends = set(inputs) | set(outputs)
    live = reachable(dag, inputs) & reachable(dag, outputs, backward=True)
    hidden = [n for n in dag if n not in ends]
    dead = [n for n in hidden if n not in live]
    effective = sum(1 for u, v in dag.edges if u in live and v in live)
    paths = count_paths(dag, inputs, outputs)

    layer = nx.get_node_attributes(dag, "layer")
    blocks: dict[str, float] = {}
    if len(layer) == dag.number_of_nodes():
        sizes: dict[int, int] = {}
        for value in layer.values():
            sizes[value] = sizes.get(value, 0) + 1
        kept: dict[tuple[int, int], int] = {}
        for u, v in dag.edges:
            key = (layer[u], layer[v])
            kept[key] = kept.get(key, 0) + 1
        pairs = set(kept) | {(i, i + 1) for i in sizes if i + 1 in sizes}
        blocks = {f"{i}->{j}": kept.get((i, j), 0) / (sizes[i] * sizes[j]) for i, j in sorted(pairs)}
    return {
        "units": len(hidden),
        "weights": dag.number_of_edges(),
        "block_density": blocks,
        "in_degree": _degree_summary(np.array([dag.in_degree(n) for n in hidden], dtype=np.int64)),
        "out_degree": _degree_summary(np.array([dag.out_degree(n) for n in hidden], dtype=np.int64)),
        "dead_units": len(dead),
        "dead_fraction": len(dead) / len(hidden) if hidden else 0.0,
        "log10_paths": math.log10(paths) if paths > 0 else float("-inf"),
        "effective_parameters": effective,
    }
