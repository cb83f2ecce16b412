"""Random-graph priors and GraphML files."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.io import load_graphml, save_graphml
from sparsewire.graphs.priors import GENERATORS, generate

PARAMS = {"erdos-renyi": {"p": 0.2}, "watts-strogatz": {"k": 4, "p": 0.3},
          "connected-watts-strogatz": {"k": 4, "p": 0.3}, "barabasi-albert": {"m": 2}}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_seeded_and_sized(name):
    a = generate(name, 40, seed=3, **PARAMS[name])
    b = generate(name, 40, seed=3, **PARAMS[name])
    c = generate(name, 40, seed=4, **PARAMS[name])
    assert sorted(a.nodes) == list(range(40))
    assert set(a.edges) == set(b.edges)
    assert set(a.edges) != set(c.edges)
    assert not a.is_directed()


@settings(max_examples=20, deadline=None)
@given(n=st.integers(8, 60), k=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_connected_watts_strogatz_is_connected_and_ba_has_expected_edges(n, k, seed):
    assert nx.is_connected(generate("connected-watts-strogatz", n, seed=seed, k=2 * k, p=0.5))
    ba = generate("barabasi-albert", n, seed=seed, m=k)
    assert ba.number_of_edges() == k * (n - k)


@pytest.mark.parametrize("name, params", [("erdos-renyi", {"p": 1.5}), ("watts-strogatz", {"k": 50, "p": 0.1}),
                                          ("barabasi-albert", {"m": 0}), ("erdos-renyi", {"q": 0.1}),
                                          ("small-world", {})])
def test_bad_generator_input_is_a_clear_error(name, params):
    with pytest.raises(GraphError):
        generate(name, 20, **params)


def test_nonpositive_size_is_an_error():
    with pytest.raises(GraphError, match="positive"):
        generate("erdos-renyi", 0, p=0.1)


def test_graphml_round_trip_keeps_int_nodes_edges_and_attributes(tmp_path):
    g = generate("barabasi-albert", 25, seed=1, m=2)
    g.nodes[0]["layer"] = 3
    g.edges[next(iter(g.edges))]["weight"] = 0.5
    back = load_graphml(save_graphml(g, tmp_path / "g.graphml"))
    assert set(back.nodes) == set(g.nodes) and all(isinstance(n, int) for n in back.nodes)
    assert {frozenset(e) for e in back.edges} == {frozenset(e) for e in g.edges}
    assert back.nodes[0]["layer"] == 3
    assert back.graph["generator"] == "barabasi-albert"


def test_graphml_that_is_not_a_graph_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.graphml"
    bad.write_text("this is not xml at all")
    with pytest.raises(GraphError, match="not a readable GraphML"):
        load_graphml(bad)
    other = tmp_path / "other.graphml"
    other.write_text("<?xml version='1.0'?><html><body>no graph</body></html>")
    with pytest.raises(GraphError):
        load_graphml(other)
    with pytest.raises(FileNotFoundError):
        load_graphml(tmp_path / "missing.graphml")
