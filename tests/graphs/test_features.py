"""The 23 structural features: the fast backend equals the networkx reference."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from sparsewire.graphs import features
from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.extract import to_graph
from sparsewire.graphs.features import COUNT_FEATURES, FEATURE_NAMES, structural_features
from sparsewire.graphs.priors import generate
from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.pruning import prune

PRIORS = [("erdos-renyi", {"p": 0.08}), ("watts-strogatz", {"k": 4, "p": 0.2}),
          ("connected-watts-strogatz", {"k": 4, "p": 0.2}), ("barabasi-albert", {"m": 2})]


def _assert_same(a, b):
    assert list(a) == list(b) == FEATURE_NAMES
    for name in FEATURE_NAMES:
        assert math.isclose(a[name], b[name], rel_tol=1e-9, abs_tol=1e-12), (name, a[name], b[name])


def test_names():
    assert len(FEATURE_NAMES) == 23 == len(set(FEATURE_NAMES))
    assert FEATURE_NAMES[:5] == COUNT_FEATURES
    assert {"eccentricity_mean", "degree_centrality_var", "closeness_std", "node_betweenness_mean",
            "edge_betweenness_std", "average_shortest_path_length"} <= set(FEATURE_NAMES)


@pytest.mark.parametrize("generator, params", PRIORS)
def test_fast_backend_equals_networkx_on_20_random_graphs(generator, params):
    rng = np.random.default_rng(len(generator))
    for seed in range(20):
        g = generate(generator, int(rng.integers(15, 60)), seed=seed, **params)
        _assert_same(structural_features(g, backend="fast"), structural_features(g, backend="networkx"))


def test_values_are_networkx_definitions_on_a_connected_graph():
    g = generate("connected-watts-strogatz", 30, seed=0, k=4, p=0.3)
    f = structural_features(g, backend="fast")
    assert f["diameter"] == nx.diameter(g)
    assert math.isclose(f["average_shortest_path_length"], nx.average_shortest_path_length(g))
    assert math.isclose(f["node_betweenness_var"], np.var(list(nx.betweenness_centrality(g).values())))
    assert math.isclose(f["edge_betweenness_mean"], np.mean(list(nx.edge_betweenness_centrality(g).values())))
    assert f["nodes"] == 30 and f["edges"] == g.number_of_edges()


def test_disconnected_graphs_use_the_largest_component_and_never_crash():
    g = nx.disjoint_union(nx.path_graph(5), nx.complete_graph(3))
    g.add_node(100)
    for backend in ("fast", "networkx"):
        f = structural_features(g, backend=backend)
        assert f["diameter"] == 4  # the path, the largest component
        assert math.isclose(f["average_shortest_path_length"], nx.average_shortest_path_length(nx.path_graph(5)))
    _assert_same(structural_features(g, backend="fast"), structural_features(g, backend="networkx"))
    single = nx.empty_graph(1)
    assert structural_features(single)["diameter"] == 0
    with pytest.raises(GraphError, match="empty"):
        structural_features(nx.Graph())
    with pytest.raises(GraphError, match="backend"):
        structural_features(single, backend="gpu")


def test_igraph_only_path_for_large_graphs(monkeypatch):
    g = generate("erdos-renyi", 50, seed=1, p=0.06)
    monkeypatch.setattr(features, "DISTANCE_MATRIX_MAX_NODES", 0)
    _assert_same(structural_features(g, backend="fast"), structural_features(g, backend="networkx"))


def test_directed_counts_of_a_structure_graph():
    mlp = MLP([6, 5, 4, 3])
    masks = Masks(mlp)
    prune(mlp, 0.5, "random", masks=masks)
    g = to_graph(mlp)
    f = structural_features(g)
    assert f["layers"] == 4
    assert f["source_nodes"] == sum(1 for n in g if g.in_degree(n) == 0) >= 6
    assert f["sink_nodes"] == sum(1 for n in g if g.out_degree(n) == 0) >= 3
    _assert_same(f, structural_features(g, backend="networkx"))


def test_orientation_seed_matches_the_network_built_with_it():
    import warnings

    from sparsewire.graphs.errors import GraphWarning
    from sparsewire.graphs.feedforward import GraphNetwork

    g = generate("watts-strogatz", 40, seed=0, k=4, p=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        net = GraphNetwork(g, 5, 2, seed=7)
    assert structural_features(g, orientation_seed=7) == structural_features(net.dag)
    assert structural_features(g, orientation_seed=7)["layers"] == len(net.layers)


def test_directed_cycles_count_layers_of_the_condensation():
    g = nx.DiGraph([(0, 1), (1, 2), (2, 1), (2, 3)])  # {1, 2} is one strongly connected component
    f = structural_features(g)
    assert f["layers"] == 3 and f["source_nodes"] == 1 and f["sink_nodes"] == 1
