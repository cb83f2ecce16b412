"""torch.fx tracing keeps skip connections written in forward."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.graphs.errors import GraphError, GraphWarning
from sparsewire.graphs.extract import _chain, structure_graph, to_graph
from sparsewire.masks import Masks
from sparsewire.models import MLP, LeNet5
from sparsewire.pruning import prune


class ResidualMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(6, 5), nn.Linear(5, 5), nn.Linear(10, 3)

    def forward(self, x):
        h = F.relu(self.a(x))
        g = torch.relu(self.b(h)) + h
        return self.c(torch.cat([g, h], dim=1))


class ResidualCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        h = F.relu(self.stem(x))
        h = h + F.relu(self.conv(h))
        return self.head(torch.flatten(self.pool(h), 1))


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        if x.sum() > 0:  # not traceable
            x = -x
        return self.b(self.a(x))


def _layer_pairs(g):
    return {(g.nodes[u]["layer"], g.nodes[v]["layer"]) for u, v in g.edges}


@pytest.mark.parametrize("model", [MLP([12, 8, 6, 3]), LeNet5()])
def test_chains_trace_to_the_same_graph_as_reading_them_as_chains(model):
    masks = Masks(model)
    prune(model, 0.7, "random", masks=masks, generator=torch.Generator().manual_seed(0))
    assert nx.utils.graphs_equal(to_graph(model), structure_graph(_chain(model)))


def test_residual_and_concatenation_edges_are_kept():
    model = ResidualMLP()
    masks = Masks(model)
    head = masks["c.weight"].clone()
    head[0, 0] = False  # c reads b (and a, through the residual) in columns 0..4, a alone in 5..9
    head[0, 5] = False  # a0 -> c0 is now absent from both column blocks
    masks.update({"c.weight": head})
    g = to_graph(model)
    assert _layer_pairs(g) == {(0, 1), (1, 2), (1, 3), (2, 3)}
    label = {d: n for n, d in g.nodes(data="label")}
    assert not g.has_edge(label["1:0"], label["3:0"])
    assert not g.has_edge(label["2:0"], label["3:0"])
    assert g.has_edge(label["1:1"], label["3:0"])
    w = model.c.weight.detach()
    assert g.edges[label["1:1"], label["3:0"]]["weight"] == pytest.approx(float(w[0, 1] + w[0, 6]))
    assert g.number_of_edges() == 30 + 25 + 15 - 1 + 15 - 1


def test_residual_cnn_channels_and_flatten():
    model = ResidualCNN()
    Masks(model)
    g = to_graph(model)
    assert _layer_pairs(g) == {(0, 1), (1, 2), (1, 3), (2, 3)}  # the head reads conv and, via h + ..., stem
    assert g.number_of_edges() == 4 + 16 + 2 * 4 * 2


def test_untraceable_models_fall_back_to_the_chain_with_a_warning():
    with pytest.warns(GraphWarning, match="chain"):
        g = to_graph(DataDependent())
    assert g.number_of_edges() == 16 + 8
    with pytest.raises(GraphError):
        to_graph(nn.Sequential(nn.Linear(4, 3), nn.Linear(5, 2)))
