"""Network → graph: round trips with graph → network, CNN channels, RNN edges, GraphML."""

from __future__ import annotations

import warnings

import pytest
import torch

from sparsewire.graphs.build import to_dag
from sparsewire.graphs.errors import GraphError, GraphWarning
from sparsewire.graphs.extract import from_graph, to_graph
from sparsewire.graphs.feedforward import GraphNetwork
from sparsewire.graphs.io import load_graphml, save_graphml
from sparsewire.graphs.priors import generate
from sparsewire.graphs.recurrent import GraphRNN
from sparsewire.masks import Masks
from sparsewire.models import MLP, LeNet5
from sparsewire.pruning import prune

PRIORS = [("erdos-renyi", {"p": 0.1}), ("watts-strogatz", {"k": 4, "p": 0.3}),
          ("connected-watts-strogatz", {"k": 4, "p": 0.3}), ("barabasi-albert", {"m": 3})]


def _labelled_edges(graph):
    label = dict(graph.nodes(data="label"))
    return {(label[u], label[v]) for u, v in graph.edges}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        yield


@pytest.mark.parametrize("generator, params", PRIORS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graph_network_graph_gives_the_same_edges(generator, params, seed):
    g = generate(generator, 40, seed=seed, **params)
    net = GraphNetwork(g, 8, 4, seed=seed)  # default orientation: edge order
    expected = {(str(u), str(v)) for u, v in to_dag(g).edges}
    assert _labelled_edges(to_graph(net, io=False)) == expected
    full = to_graph(net)
    assert full.number_of_edges() == len(expected) + 8 * len(net.layers[0]) + 4 * len(net.layers[-1])
    rnn = GraphRNN(g, 3, 2, cell="gru", seed=seed)
    assert _labelled_edges(to_graph(rnn, io=False)) == expected
    randomly = {(str(u), str(v)) for u, v in to_dag(g, seed=seed).edges}
    assert _labelled_edges(to_graph(GraphNetwork(g, 8, 4, seed=seed, orientation="random"), io=False)) == randomly
    assert _labelled_edges(to_graph(GraphRNN(g, 3, 2, seed=seed, orientation="random"), io=False)) == randomly


def test_network_graph_network_computes_the_same_function():
    torch.manual_seed(0)
    mlp = MLP([20, 16, 12, 5])
    masks = Masks(mlp)
    prune(mlp, 0.7, "class-blinded", masks=masks)
    x = torch.randn(9, 20)
    torch.testing.assert_close(from_graph(to_graph(mlp))(x), mlp(x), rtol=1e-5, atol=1e-6)
    g = generate("watts-strogatz", 30, seed=4, k=4, p=0.4)
    net = GraphNetwork(g, 20, 5, seed=4, outputs="sinks")
    torch.testing.assert_close(from_graph(to_graph(net))(x), net(x), rtol=1e-5, atol=1e-6)


def test_graphml_round_trip_of_a_structure_graph(tmp_path):
    mlp = MLP([6, 4, 3])
    Masks(mlp)
    h = to_graph(mlp)
    back = load_graphml(save_graphml(h, tmp_path / "mlp.graphml"))
    assert set(back.edges) == set(h.edges)
    x = torch.randn(2, 6)
    torch.testing.assert_close(from_graph(back)(x), mlp(x), rtol=1e-5, atol=1e-6)


def test_cnn_channels_are_nodes_with_an_edge_per_nonzero_kernel_slice():
    net = LeNet5()
    masks = Masks(net)
    conv2 = masks["features.3.weight"].clone()
    conv2[4, 2] = False  # remove the whole kernel slice 2 -> 4
    conv2[5, 1, 0, 0] = False  # partial slice: the edge stays
    fc1 = masks["classifier.1.weight"].clone()
    fc1[7, 3 * 25:4 * 25] = False  # linear unit 7 no longer reads channel 3
    masks.update({"features.3.weight": conv2, "classifier.1.weight": fc1})
    g = to_graph(net)
    assert [sum(1 for _, d in g.nodes(data="layer") if d == j) for j in range(6)] == [1, 6, 16, 120, 84, 10]
    label = {d: n for n, d in g.nodes(data="label")}
    assert not g.has_edge(label["1:2"], label["2:4"])
    assert g.has_edge(label["1:1"], label["2:5"])
    assert not g.has_edge(label["2:3"], label["3:7"])
    assert g.number_of_edges() == 6 + 16 * 6 - 1 + 120 * 16 - 1 + 84 * 120 + 10 * 84


def test_recurrent_edges_are_optional_and_marked():
    g = generate("barabasi-albert", 12, seed=0, m=2)
    rnn = GraphRNN(g, 3, 2, cell="lstm")
    plain, full = to_graph(rnn), to_graph(rnn, recurrent=True)
    extra = full.number_of_edges() - plain.number_of_edges()
    assert extra == sum(s * s for s in rnn.structure.sizes)
    assert sum(1 for *_, rec in full.edges(data="recurrent", default=False) if rec) == extra > 0


def test_unsupported_models_are_clear_errors():
    with pytest.raises(GraphError):
        to_graph(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(5, 2)))
    with pytest.raises(GraphError):
        to_graph(torch.nn.LSTM(3, 4))
    with pytest.raises(GraphError):
        to_graph(torch.nn.ReLU())


def test_fast_graph_building_equals_add_edge():
    import networkx as nx

    mlp = MLP([7, 5, 3])
    masks = Masks(mlp)
    prune(mlp, 0.5, "random", masks=masks, generator=torch.Generator().manual_seed(0))
    g = to_graph(mlp)
    ref = nx.DiGraph(**g.graph)
    ref.add_nodes_from(g.nodes(data=True))
    offset = 0
    for _, param, mask in masks.parameters():
        rows, cols = mask.shape
        for i in range(rows):
            for j in range(cols):
                if mask[i, j]:
                    ref.add_edge(offset + j, offset + cols + i, weight=float(param[i, j].detach()))
        offset += cols
    assert nx.utils.graphs_equal(g, ref)
    assert sorted(g.in_edges(9)) == sorted(ref.in_edges(9))
    u, v = next(iter(g.edges))
    g.remove_edge(u, v)
    assert not g.has_edge(u, v) and u not in g.pred[v]
