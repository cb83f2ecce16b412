"""Orientation into a DAG and longest-path layering."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.graphs.build import GraphLayout, layer_index, longest_path_layers, orient, to_dag
from sparsewire.graphs.errors import GraphError, GraphWarning
from sparsewire.graphs.priors import generate


@st.composite
def undirected_graphs(draw, max_nodes=30):
    n = draw(st.integers(1, max_nodes))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((a, b) for a, b in pairs if a != b)
    return g


@settings(max_examples=60, deadline=None)
@given(g=undirected_graphs(), seed=st.integers(0, 1000))
def test_orientation_is_acyclic_keeps_every_edge_and_is_seeded(g, seed):
    dag = to_dag(g, seed=seed)
    assert nx.is_directed_acyclic_graph(dag)
    assert set(dag.nodes) == set(g.nodes)
    assert {frozenset(e) for e in dag.edges} == {frozenset(e) for e in g.edges}
    assert set(to_dag(g, seed=seed).edges) == set(dag.edges)


@settings(max_examples=60, deadline=None)
@given(g=undirected_graphs(), seed=st.integers(0, 1000))
def test_layers_are_longest_paths(g, seed):
    dag = to_dag(g, seed=seed)
    depth = layer_index(dag)
    layers = longest_path_layers(dag)
    assert sorted(n for layer in layers for n in layer) == sorted(dag.nodes)
    assert set(layers[0]) == {n for n in dag if dag.in_degree(n) == 0}
    for u, v in dag.edges:
        assert depth[u] < depth[v]
    for node, j in depth.items():
        if j > 0:
            assert any(depth[p] == j - 1 for p in dag.predecessors(node))
    assert len(layers) == nx.dag_longest_path_length(dag) + 1


def test_label_order_orientation_with_seed_none():
    dag = to_dag(nx.path_graph(5), seed=None)
    assert set(dag.edges) == {(0, 1), (1, 2), (2, 3), (3, 4)}
    assert longest_path_layers(dag) == [[0], [1], [2], [3], [4]]


@pytest.mark.parametrize("generator, params", [("barabasi-albert", {"m": 3}), ("connected-watts-strogatz", {"k": 6, "p": 1.0}),
                                               ("erdos-renyi", {"p": 0.2})])
def test_default_orientation_is_the_edge_order_networkx_lists(generator, params):
    g = generate(generator, 30, seed=4, **params)
    nx.relabel_nodes(g, {n: f"n{(7 * n) % 30}" for n in g}, copy=False)  # node order no longer follows labels
    dag = to_dag(g)
    assert list(dag.edges) == list(g.edges)  # each (u, v) as listed becomes u -> v, in that order
    assert nx.is_directed_acyclic_graph(dag) and dag.graph["orientation_seed"] == -1
    assert orient(g, "edge-order").edges == dag.edges and orient(g, "random", 3).edges == to_dag(g, seed=3).edges
    with pytest.raises(GraphError, match="orientation"):
        orient(g, "sideways")


def test_directed_cycle_is_a_clear_error_and_dags_pass_unchanged():
    with pytest.raises(GraphError, match="cycle"):
        to_dag(nx.DiGraph([(0, 1), (1, 2), (2, 0)]))
    dag = nx.DiGraph([(0, 2), (1, 2)])
    assert set(to_dag(dag).edges) == set(dag.edges)


def test_empty_graph_and_self_loops():
    with pytest.raises(GraphError, match="empty"):
        to_dag(nx.Graph())
    with pytest.warns(GraphWarning, match="self-loop"):
        dag = to_dag(nx.Graph([(0, 0), (0, 1)]))
    assert dag.number_of_edges() == 1


def test_layered_graph_blocks_cover_every_edge_once():
    g = nx.DiGraph([(0, 1), (1, 2), (0, 2), (3, 2)])
    s = GraphLayout(g)
    assert s.layers == [[0, 3], [1], [2]]
    assert s.blocks == {(0, 1): [(0, 0)], (0, 2): [(0, 0), (0, 1)], (1, 2): [(0, 0)]}
    assert s.select("sinks", "last-layer") == {2: [0]}
    with pytest.raises(GraphError):
        s.select([99], "last-layer")
    with pytest.raises(GraphError):
        s.select("middle", "last-layer")


@settings(max_examples=30, deadline=None)
@given(g=undirected_graphs(), seed=st.integers(0, 100), data=st.data())
def test_reachable_equals_networkx_descendants_and_ancestors(g, seed, data):
    from sparsewire.graphs.build import reachable

    dag = to_dag(g, seed=seed)
    starts = data.draw(st.lists(st.sampled_from(sorted(dag.nodes)), max_size=4))
    down = set(starts).union(*(nx.descendants(dag, n) for n in starts))
    up = set(starts).union(*(nx.ancestors(dag, n) for n in starts))
    assert reachable(dag, starts) == down
    assert reachable(dag, starts, backward=True) == up
