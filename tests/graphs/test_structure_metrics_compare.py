"""Layered-network metrics and structure comparison."""

from __future__ import annotations

import math
import warnings

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.graphs.compare import compare_graphs, compare_masks, overlap
from sparsewire.graphs.errors import GraphError, GraphWarning
from sparsewire.graphs.feedforward import GraphNetwork
from sparsewire.graphs.priors import generate
from sparsewire.graphs.structure_metrics import count_paths, structure_metrics
from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.pruning import prune


def test_dense_mlp_paths_density_and_no_dead_units():
    m = structure_metrics(MLP([5, 4, 3, 2]))
    assert m["log10_paths"] == pytest.approx(math.log10(5 * 4 * 3 * 2))
    assert m["block_density"] == {"0->1": 1.0, "1->2": 1.0, "2->3": 1.0}
    assert m["dead_units"] == 0 and m["effective_parameters"] == 5 * 4 + 4 * 3 + 3 * 2
    assert m["in_degree"]["histogram"][5] == 4 and m["out_degree"]["max"] == 3


def test_dead_units_and_effective_parameters():
    mlp = MLP([3, 3, 2])
    masks = Masks(mlp)
    first = masks["layers.0.weight"].clone()
    first[0] = False  # hidden unit 0 gets no input: dead
    second = masks["layers.1.weight"].clone()
    second[:, 1] = False  # hidden unit 1 feeds no output: dead
    masks.update({"layers.0.weight": first, "layers.1.weight": second})
    m = structure_metrics(mlp)
    assert m["dead_units"] == 2 and m["dead_fraction"] == pytest.approx(2 / 3)
    assert m["effective_parameters"] == 3 + 2  # only hidden unit 2 is live
    assert m["log10_paths"] == pytest.approx(math.log10(3 * 2))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 12), p=st.floats(0.1, 0.7), seed=st.integers(0, 1000))
def test_path_count_equals_enumeration(n, p, seed):
    dag = nx.gnp_random_graph(n, p, seed=seed, directed=True)
    dag = nx.DiGraph([(u, v) for u, v in dag.edges if u < v])
    dag.add_nodes_from(range(n))
    sources = [v for v in dag if dag.in_degree(v) == 0]
    sinks = [v for v in dag if dag.out_degree(v) == 0]
    trivial = len(set(sources) & set(sinks))  # an isolated node is an input→output path of length 0
    brute = sum(1 for s in sources for t in sinks if s != t for _ in nx.all_simple_paths(dag, s, t)) + trivial
    assert count_paths(dag, sources, sinks) == brute


def test_graph_network_metrics_and_cycle_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        net = GraphNetwork(generate("barabasi-albert", 20, seed=0, m=2), 4, 2, seed=0)
    m = structure_metrics(net)
    assert m["units"] == 20 and m["dead_units"] >= 0
    with pytest.raises(GraphError, match="acyclic"):
        structure_metrics(nx.DiGraph([(0, 1), (1, 0)]))


@settings(max_examples=40, deadline=None)
@given(total=st.integers(1, 500), data=st.data())
def test_overlap_invariants(total, data):
    a = data.draw(st.integers(0, total))
    b = data.draw(st.integers(0, total))
    both = data.draw(st.integers(max(0, a + b - total), min(a, b)))
    o = overlap(a, b, both, total)
    assert 0 <= o["jaccard"] <= 1 and 0 <= o["expected_jaccard"] <= 1
    assert o["hamming"] == a + b - 2 * both
    assert o["chance_corrected"] <= 1 + 1e-12
    assert o["expected_intersection"] == pytest.approx(a * b / total)


def test_identical_masks_overlap_fully_and_random_masks_at_chance():
    torch.manual_seed(0)
    mlp = MLP([100, 80, 10])
    Masks(mlp)
    prune(mlp, 0.8, "random", generator=torch.Generator().manual_seed(1))
    same = compare_masks(mlp, Masks.of(mlp).state())
    assert same["global"]["jaccard"] == 1 and same["global"]["chance_corrected"] == 1 and same["global"]["hamming"] == 0
    other = MLP([100, 80, 10])
    Masks(other)
    prune(other, 0.8, "random", generator=torch.Generator().manual_seed(2))
    result = compare_masks(mlp, other)
    g = result["global"]
    assert g["density_a"] == pytest.approx(0.2, abs=0.01)
    assert abs(g["chance_corrected"]) < 0.03  # independent random masks agree at chance level
    assert abs(g["intersection"] - g["expected_intersection"]) < 5 * math.sqrt(g["expected_intersection"])
    assert set(result["layers"]) == {"layers.0.weight", "layers.1.weight"}
    with pytest.raises(GraphError):
        compare_masks(mlp, {"layers.0.weight": torch.ones(80, 100, dtype=torch.bool)})


def test_compare_graphs():
    a = generate("erdos-renyi", 30, seed=0, p=0.2)
    r = compare_graphs(a, a.copy())["global"]
    assert r["jaccard"] == 1 and r["total"] == 30 * 29 // 2
    with pytest.raises(GraphError, match="different nodes"):
        compare_graphs(a, nx.path_graph(5))
