"""Draw a structure: layers left to right, units spread vertically, edges as lines (skips in another colour)."""

from __future__ import annotations

import random
from collections.abc import Hashable
from pathlib import Path

import networkx as nx
import numpy as np

from sparsewire.graphs.build import layer_index, to_dag
from sparsewire.graphs.errors import GraphError

KIND_COLOURS = {"input": "#4c72b0", "hidden": "#55a868", "output": "#c44e52"}


def positions(graph: nx.Graph) -> dict[Hashable, tuple[float, float]]:
    """``node -> (x, y)``: ``x`` the layer (``layer`` attribute, else longest-path layer of the DAG; undirected
    graphs oriented by edge order, ``to_dag(graph)``), ``y`` the node's rank within its layer, centred on 0."""
    layer = nx.get_node_attributes(graph, "layer")
    if len(layer) != graph.number_of_nodes():
        dag = graph if graph.is_directed() else to_dag(graph)
        layer = layer_index(dag)
    members: dict[int, list[Hashable]] = {}
    for node in graph.nodes:
        members.setdefault(int(layer[node]), []).append(node)
    tallest = max(len(m) for m in members.values())
    pos = {}
    for x, nodes in members.items():
        for rank, node in enumerate(nodes):
            pos[node] = (float(x), (rank - (len(nodes) - 1) / 2) / max(tallest - 1, 1))
    return pos


def draw_structure(graph: nx.Graph, path: str | Path, *, max_edges: int = 20000, seed: int = 0,
                   title: str | None = None) -> Path:
    """Save a PNG of ``graph``; above ``max_edges`` edges a seeded uniform sample is drawn (said in the title)."""
    from matplotlib.collections import LineCollection

    from sparsewire.results.figures import plt, save

    if graph.number_of_nodes() == 0:
        raise GraphError("the graph is empty (no nodes): nothing to draw")
    pos = positions(graph)
    edges = [(u, v) for u, v in graph.edges if u != v]
    note = ""
    if len(edges) > max_edges:
        edges = random.Random(seed).sample(edges, max_edges)
        note = f" — {max_edges} of {graph.number_of_edges()} edges drawn"
    layers = len({x for x, _ in pos.values()})
    fig, ax = plt.subplots(figsize=(min(4 + 1.2 * layers, 24), 7))
    consecutive = [(pos[u], pos[v]) for u, v in edges if abs(pos[v][0] - pos[u][0]) == 1]
    other = [(pos[u], pos[v]) for u, v in edges if abs(pos[v][0] - pos[u][0]) != 1]
    alpha = float(np.clip(30 / max(len(edges), 1) ** 0.5, 0.03, 0.6))
    ax.add_collection(LineCollection(consecutive, colors="#333333", linewidths=0.5, alpha=alpha))
    ax.add_collection(LineCollection(other, colors="#dd8452", linewidths=0.5, alpha=alpha, label="skip connections"))
    kinds = nx.get_node_attributes(graph, "kind")
    xy = np.array([pos[n] for n in graph.nodes])
    colours = [KIND_COLOURS.get(kinds.get(n, "hidden"), "#55a868") for n in graph.nodes]
    ax.scatter(xy[:, 0], xy[:, 1], s=max(2.0, 200 / max(graph.number_of_nodes(), 1) ** 0.5), c=colours, zorder=3)
    ax.set_xlabel("layer")
    ax.set_yticks([])
    ax.set_xlim(xy[:, 0].min() - 0.5, xy[:, 0].max() + 0.5)
    ax.set_ylim(-0.6, 0.6)
    if other:
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title((title or f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, {layers} layers") + note)
    return save(fig, Path(path), dpi=130)
