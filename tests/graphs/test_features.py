"""The 23 structural features: the authors' definitions (Stier, Darji & Granitzer 2021) checked against a
plain-networkx reference written here, the fast backend equals the networkx one, and the earlier
``sparsewire-v1`` convention still reproduces the recorded rows."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsewire.graphs import features
from sparsewire.graphs.build import to_dag
from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.extract import to_graph
from sparsewire.graphs.features import AUTHORS_FEATURES, COUNT_FEATURES, FEATURE_NAMES, structural_features
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
    assert AUTHORS_FEATURES == [f for f in FEATURE_NAMES if f != "average_shortest_path_length"]
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
    assert math.isclose(f["node_betweenness_var"], np.var(list(nx.betweenness_centrality(g).values()), ddof=1))
    assert math.isclose(f["edge_betweenness_mean"], np.mean(list(nx.edge_betweenness_centrality(g).values())))
    assert f["nodes"] == 30 and f["edges"] == g.number_of_edges()
    assert math.isclose(f["density"], g.number_of_edges() / (30 * 29))
    old = structural_features(g, convention="sparsewire-v1")
    assert math.isclose(old["density"], nx.density(g))
    assert math.isclose(old["node_betweenness_var"], np.var(list(nx.betweenness_centrality(g).values())))


def reference(graph: nx.Graph) -> dict[str, float]:
    """The authors' 23 definitions written out with plain networkx and ``statistics`` (independent of the
    module: edge-order orientation, topological generations as the longest-path layers, sample statistics)."""
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from(graph.edges)  # (u, v) as networkx lists it -> u -> v
    generations = list(nx.topological_generations(dag))  # generation = longest path from a source
    order = {node: i for i, node in enumerate(graph.nodes)}
    component = max(nx.connected_components(graph), key=lambda c: (len(c), -min(order[n] for n in c)))
    lcc = graph.subgraph(component)
    ecc = nx.eccentricity(lcc)
    n, m = graph.number_of_nodes(), graph.number_of_edges()

    def stats(name, values):
        values = list(values)
        if len(values) < 2:
            return {f"{name}_mean": statistics.mean(values) if values else 0.0, f"{name}_var": 0.0, f"{name}_std": 0.0}
        return {f"{name}_mean": statistics.mean(values), f"{name}_var": statistics.variance(values),
                f"{name}_std": statistics.stdev(values)}

    out = {"layers": len(generations), "nodes": n, "edges": m, "source_nodes": len(generations[0]),
           "sink_nodes": len(generations[-1]), "diameter": nx.diameter(lcc, e=ecc),
           "density": m / (n * (n - 1)) if n > 1 else 0.0,
           "average_shortest_path_length": nx.average_shortest_path_length(lcc)}
    out |= stats("eccentricity", ecc.values())
    out |= stats("degree_centrality", nx.degree_centrality(graph).values() if n > 1 else [1.0])
    out |= stats("closeness", nx.closeness_centrality(graph).values())
    out |= stats("node_betweenness", nx.betweenness_centrality(graph).values())
    out |= stats("edge_betweenness", nx.edge_betweenness_centrality(graph).values())
    return {name: float(out[name]) for name in FEATURE_NAMES}


@st.composite
def prior_graphs(draw):
    """BA, WS (plain and connected) and ER graphs of 3-40 nodes with any valid parameters and seed."""
    generator = draw(st.sampled_from(["barabasi-albert", "watts-strogatz", "connected-watts-strogatz", "erdos-renyi"]))
    n = draw(st.integers(3, 40))
    seed = draw(st.integers(0, 10_000))
    if generator == "barabasi-albert":
        params = {"m": draw(st.integers(1, min(6, n - 1)))}
    elif generator == "erdos-renyi":
        params = {"p": draw(st.floats(0.0, 0.6))}
    else:
        params = {"k": draw(st.integers(2, min(8, n - 1))), "p": draw(st.floats(0.0, 1.0))}
    try:
        return generate(generator, n, seed=seed, **params)
    except GraphError:  # a connected WS graph not found within the tries
        return generate("watts-strogatz", n, seed=seed, **params)


def _close(a, b, tol=1e-9):
    return all(math.isclose(a[k], b[k], rel_tol=tol, abs_tol=1e-12) for k in FEATURE_NAMES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prior_graphs())
def test_features_are_the_authors_definitions_on_random_priors(graph):
    expected = reference(graph)
    for backend in ("networkx", "fast"):
        got = structural_features(graph, backend=backend)
        assert list(got) == FEATURE_NAMES
        bad = {k: (got[k], expected[k]) for k in FEATURE_NAMES
               if not math.isclose(got[k], expected[k], rel_tol=1e-9, abs_tol=1e-12)}
        assert not bad, (backend, bad)
    # the oriented DAG (what a default-built network is made of) has the same features as the graph
    assert _close(structural_features(to_dag(graph)), expected)


@settings(max_examples=30, deadline=None)
@given(prior_graphs())
def test_sparsewire_v1_convention_fast_equals_networkx(graph):
    fast = structural_features(graph, backend="fast", convention="sparsewire-v1", orientation_seed=3)
    assert _close(fast, structural_features(graph, backend="networkx", convention="sparsewire-v1", orientation_seed=3))
    dag = to_dag(graph, seed=3)
    assert fast["source_nodes"] == sum(dag.in_degree(v) == 0 for v in dag)
    assert fast["sink_nodes"] == sum(dag.out_degree(v) == 0 for v in dag)


def test_sources_and_sinks_are_first_and_last_layer_sizes():
    # 0 -> 1, 0 -> 2 -> 3, 4 isolated: layers [0, 4], [1, 2], [3]; 1 has no successor but is no sink here
    g = nx.Graph([(0, 1), (0, 2), (2, 3)])
    g.add_node(4)
    f = structural_features(g)
    assert (f["layers"], f["source_nodes"], f["sink_nodes"]) == (3, 2, 1)
    old = structural_features(g, convention="sparsewire-v1")
    assert (old["layers"], old["source_nodes"], old["sink_nodes"]) == (3, 2, 3)  # 1, 3 and 4 have no out-edges
    single = structural_features(nx.empty_graph(1))
    assert single["source_nodes"] == single["sink_nodes"] == 1 and single["eccentricity_var"] == 0.0
    with pytest.raises(GraphError, match="convention"):
        structural_features(g, convention="paper")


RECORDED = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "reber-structure" / "results.csv"


@pytest.mark.skipif(not RECORDED.exists(), reason="no recorded reber-structure rows")
def test_sparsewire_v1_reproduces_rows_recorded_before_issue_11():
    table = pd.read_csv(RECORDED)
    table = table[table["status"] == "done"].head(6)
    assert "feature_convention" not in table  # recorded before the column existed: sparsewire-v1
    for row in table.itertuples():
        params = {"m": int(row.param_m)} if row.generator == "barabasi-albert" else {"k": int(row.param_k), "p": row.param_p}
        graph = generate(row.generator, int(row.nodes), seed=int(row.graph_seed), **params)
        dag = to_dag(graph, seed=int(row.graph_seed))  # those networks were oriented at random, seeded by graph_seed
        values = structural_features(dag, convention="sparsewire-v1")
        for name in FEATURE_NAMES:
            assert math.isclose(values[name], getattr(row, name), rel_tol=1e-9, abs_tol=1e-12), name
        assert structural_features(dag)["density"] == pytest.approx(row.density / 2)


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
    assert f["source_nodes"] == 6 and f["sink_nodes"] == 3  # the network's first and last layers
    old = structural_features(g, convention="sparsewire-v1")
    assert old["source_nodes"] == sum(1 for n in g if g.in_degree(n) == 0) >= 6
    assert old["sink_nodes"] == sum(1 for n in g if g.out_degree(n) == 0) >= 3
    _assert_same(f, structural_features(g, backend="networkx"))


def test_orientation_seed_matches_the_network_built_with_it():
    import warnings

    from sparsewire.graphs.errors import GraphWarning
    from sparsewire.graphs.feedforward import GraphNetwork

    g = generate("watts-strogatz", 40, seed=0, k=4, p=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        net = GraphNetwork(g, 5, 2, seed=7, orientation="random")
        default = GraphNetwork(g, 5, 2, seed=7)
    assert structural_features(g, orientation_seed=7) == structural_features(net.dag)
    assert structural_features(g, orientation_seed=7)["layers"] == len(net.layers)
    assert structural_features(g) == structural_features(default.dag)
    assert structural_features(g)["source_nodes"] == len(default.layers[0])
    assert structural_features(g)["sink_nodes"] == len(default.layers[-1])


def test_directed_cycles_count_layers_of_the_condensation():
    g = nx.DiGraph([(0, 1), (1, 2), (2, 1), (2, 3)])  # {1, 2} is one strongly connected component
    f = structural_features(g)
    assert f["layers"] == 3 and f["source_nodes"] == 1 and f["sink_nodes"] == 1
