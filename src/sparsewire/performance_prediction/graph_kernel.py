"""A predictor input that reads the graph itself: Weisfeiler–Lehman subtree counts.

The 23 structural features summarise a network's graph in 23 numbers; two graphs with equal summaries can
wire their units very differently. The Weisfeiler–Lehman (WL) subtree representation (Shervashidze et al.
2011, "Weisfeiler-Lehman graph kernels", JMLR 12, Sec. 3) keeps more: every node starts with a label (here
its in- and out-degree in the network's DAG), and each of ``iterations`` rounds relabels every node by
hashing its label with the multiset of its neighbours' labels (predecessors and successors kept apart,
networkx ≥ 3.5). A graph becomes the histogram of all labels of all rounds: the count of every rooted
directed subtree pattern up to depth ``iterations``. The linear kernel of these histograms is the WL
subtree kernel; here the histograms are feature columns (``wl_*``), so any of the regressors in
:mod:`sparsewire.performance_prediction.predictors` can use them, alone or next to the 23 features.

The vocabulary (which patterns become columns) is chosen from the graphs of the table without looking at
any accuracy: patterns present in at least ``min_graphs`` graphs, the ``max_columns`` most frequent. This
is label-free, so cross-validation stays honest.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import networkx as nx
import pandas as pd

PREFIX = "wl_"


def wl_histogram(dag: nx.DiGraph, iterations: int = 3, attributes: Sequence[str] = ()) -> Counter:
    """Counts of the WL labels of every node and round (round 0: ``in-out`` degrees, followed by the values of
    the node ``attributes`` named, e.g. a cell's ``channels`` and ``stage``) of a directed graph."""
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    labelled = nx.DiGraph()
    labelled.add_nodes_from((n, {"label": "/".join([f"{dag.in_degree(n)}-{dag.out_degree(n)}",
                                                     *(str(dag.nodes[n][a]) for a in attributes)])})
                            for n in dag.nodes)
    labelled.add_edges_from(dag.edges)
    with warnings.catch_warnings():  # networkx >= 3.5 announces its fixed directed hashes, the ones meant here
        warnings.filterwarnings("ignore", "The hashes produced for directed graphs changed", UserWarning)
        hashes = nx.weisfeiler_lehman_subgraph_hashes(labelled, node_attr="label", iterations=iterations,
                                                      include_initial_labels=True, digest_size=8)
    return Counter(f"{depth}:{h}" for per_node in hashes.values() for depth, h in enumerate(per_node))


def wl_vocabulary(histograms: Sequence[Counter], *, min_graphs: int = 3, max_columns: int = 256) -> list[str]:
    """The patterns that become columns: those in at least ``min_graphs`` of the histograms, the
    ``max_columns`` most frequent, ordered by round, then frequency, then label (label-free, deterministic)."""
    present = Counter(label for h in histograms for label in h)
    vocabulary = [label for label, n in present.most_common() if n >= min_graphs][:max_columns]
    return sorted(vocabulary, key=lambda label: (int(label.split(":")[0]), -present[label], label))


def wl_names(vocabulary: Sequence[str]) -> list[str]:
    """Column names ``wl_<round>_<i>`` of a vocabulary."""
    return [f"{PREFIX}{label.split(':')[0]}_{i}" for i, label in enumerate(vocabulary)]


def wl_frequencies(histogram: Counter, nodes: int, vocabulary: Sequence[str]) -> list[float]:
    """Each vocabulary pattern's count in ``histogram`` divided by the graph's ``nodes``: the pattern mix, apart
    from the graph's size (which the 23 features carry)."""
    return [histogram.get(label, 0) / max(nodes, 1) for label in vocabulary]


def wl_columns(graphs: Sequence[nx.DiGraph], *, iterations: int = 3, min_graphs: int = 3,
               max_columns: int = 256) -> pd.DataFrame:
    """One row per graph, one ``wl_<round>_<i>`` column per frequent WL pattern (:func:`wl_vocabulary`): its
    count in the graph divided by the graph's number of nodes (:func:`wl_frequencies`)."""
    histograms = [wl_histogram(g, iterations) for g in graphs]
    vocabulary = wl_vocabulary(histograms, min_graphs=min_graphs, max_columns=max_columns)
    return pd.DataFrame([wl_frequencies(h, g.number_of_nodes(), vocabulary) for g, h in zip(graphs, histograms, strict=True)],
                        columns=wl_names(vocabulary))


def add_wl_columns(table: pd.DataFrame, **options) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with WL columns for the rows whose graph can be rebuilt
    (:func:`~sparsewire.performance_prediction.recompute.row_graph`), and their names; ``[]`` if any row names no graph."""
    from sparsewire.performance_prediction.recompute import row_graph

    graphs = [row_graph(row) for _, row in table.iterrows()]
    if not graphs or any(g is None for g in graphs):
        return table, []
    columns = wl_columns(graphs, **options)
    columns.index = table.index
    return pd.concat([table.drop(columns=[c for c in table.columns if c.startswith(PREFIX)]), columns], axis=1), \
        list(columns.columns)
