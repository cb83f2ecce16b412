"""Every node handler of the torch.fx trace: what it keeps, and what it refuses with a TraceError."""

from __future__ import annotations

import operator

import networkx as nx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.graphs.extract import _chain, structure_graph, to_graph
from sparsewire.graphs.trace import TraceError, trace_blocks
from sparsewire.masks import Masks
from sparsewire.pruning import prune


def _pruned(model: nn.Module, seed: int = 0) -> nn.Module:
    prune(model, 0.5, "random", masks=Masks(model), generator=torch.Generator().manual_seed(seed))
    return model


class Flattening(nn.Module):
    """conv(1→3) → relu → a way of flattening (3 channels × 4 pixels) → Linear(12, 2)."""

    def __init__(self, flatten) -> None:
        super().__init__()
        self.conv, self.head, self.flatten = nn.Conv2d(1, 3, 3), nn.Linear(12, 2), flatten
        self.flat = nn.Flatten()

    def forward(self, x):
        return self.head(self.flatten(self, self.conv(x).relu().contiguous()))


FLATTENINGS = {
    "nn.Flatten": lambda m, h: m.flat(h),
    "torch.flatten": lambda m, h: torch.flatten(h, 1),
    ".flatten": lambda m, h: h.flatten(1),
    ".view(N, -1)": lambda m, h: h.view(2, -1),
    ".reshape(N, -1)": lambda m, h: h.reshape(2, -1),
}


@pytest.mark.parametrize("way", FLATTENINGS)
def test_every_way_of_flattening_reads_channels_as_the_chain_does(way):
    model = _pruned(Flattening(FLATTENINGS[way]))
    assert nx.utils.graphs_equal(to_graph(model), structure_graph(_chain(model)))


UNIT_WISE = {
    "nn.Tanh": lambda m, h: m.unit(h), "F.gelu": lambda m, h: F.gelu(h), "torch.sigmoid": lambda m, h: torch.sigmoid(h),
    "F.dropout": lambda m, h: F.dropout(h, 0.1), ".tanh": lambda m, h: h.tanh(), ".detach": lambda m, h: h.detach(),
}


class UnitWise(nn.Module):
    def __init__(self, op) -> None:
        super().__init__()
        self.a, self.b, self.unit, self.op = nn.Linear(5, 4), nn.Linear(4, 3), nn.Tanh(), op

    def forward(self, x):
        return self.b(self.op(self, self.a(x)))


@pytest.mark.parametrize("op", UNIT_WISE)
def test_unit_wise_operations_keep_the_units(op):
    model = _pruned(UnitWise(UNIT_WISE[op]))
    assert nx.utils.graphs_equal(to_graph(model), structure_graph(_chain(model)))


COMBINATIONS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "torch.add": torch.add, "torch.mul": torch.mul,
    ".add": lambda p, q: p.add(q), ".sub": lambda p, q: p.sub(q), ".mul": lambda p, q: p.mul(q),
    ".add_": lambda p, q: p.add_(q),
}


class TwoBranches(nn.Module):
    def __init__(self, combine) -> None:
        super().__init__()
        self.a, self.b, self.c, self.combine = nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(3, 2), combine

    def forward(self, x):
        return self.c(self.combine(self.a(x), self.b(x)))


@pytest.mark.parametrize("combine", COMBINATIONS)
def test_combining_two_values_reads_both_branches(combine):
    model = _pruned(TwoBranches(COMBINATIONS[combine]))
    layers, blocks, out = trace_blocks(model)
    assert [layer.name for layer in layers] == ["input", "a", "b", "c"] and out == 3
    assert [(s, t) for s, t, _, _ in blocks] == [(0, 1), (0, 2), (1, 3), (2, 3)]
    mask = Masks.of(model)["c.weight"].numpy()
    assert (blocks[2][2] == mask).all() and (blocks[3][2] == mask).all()


class Concatenation(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 3), nn.Linear(4, 2), nn.Linear(5, 2)

    def forward(self, x):
        return self.c(torch.cat([self.a(x), self.b(x)], 1))


def test_concatenation_splits_the_reader_s_columns():
    model = _pruned(Concatenation())
    _, blocks, _ = trace_blocks(model)
    mask = Masks.of(model)["c.weight"].numpy()
    assert [(s, t) for s, t, _, _ in blocks] == [(0, 1), (0, 2), (1, 3), (2, 3)]
    assert (blocks[2][2] == mask[:, :3]).all() and (blocks[3][2] == mask[:, 3:]).all()


@pytest.mark.parametrize("conv", [nn.Conv1d, nn.Conv3d])
def test_one_and_three_dimensional_convolutions_trace_as_the_chain(conv):
    model = _pruned(nn.Sequential(conv(2, 3, 3), nn.ReLU(), conv(3, 4, 3), nn.Flatten(), nn.Linear(8, 2)))
    assert nx.utils.graphs_equal(to_graph(model), structure_graph(_chain(model)))


class Forward(nn.Module):
    """Linear layers ``a`` (4→3), ``b`` (3→3), grouped ``g``, conv ``k``, a parameter ``w``; ``forward`` given."""

    def __init__(self, forward, head: int = 3) -> None:
        super().__init__()
        self.a, self.b, self.head = nn.Linear(4, 3), nn.Linear(3, 3), nn.Linear(head, 2)
        self.g, self.k, self.norm = nn.Conv2d(2, 4, 3, groups=2), nn.Conv2d(1, 3, 3), nn.LayerNorm(3)
        self.w = nn.Parameter(torch.ones(3))
        self.body = forward

    def forward(self, x):
        return self.body(self, x)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x, y):
        return self.a(x) + self.a(y)


REFUSED = {
    "grouped convolution": (lambda m, x: m.g(x), 3),
    "only models with one input": (None, 3),
    "direct use of parameter w": (lambda m, x: m.head(m.a(x) * m.w), 3),
    r"module norm \(LayerNorm\) is not supported": (lambda m, x: m.head(m.norm(m.a(x))), 3),
    "function exp is not supported": (lambda m, x: m.head(torch.exp(m.a(x))), 3),
    r"method .exp\(\) is not supported": (lambda m, x: m.head(m.a(x).exp()), 3),
    r"method .view\(\) is not supported": (lambda m, x: m.head(m.a(x).view(1, 3, 1)), 3),
    r"torch.cat\(\.\.\., dim=1\)": (lambda m, x: m.head(torch.cat([m.a(x), m.b(m.a(x))], 0)), 3),
    "width is unknown": (lambda m, x: (lambda h: m.head(torch.cat([h + h, h], 1)))(torch.flatten(m.k(x), 1)), 6),
    "how many input units a concatenation holds": (lambda m, x: m.head(torch.cat([x, x], dim=1)), 8),
    "do not split into 3 flattened channels": (lambda m, x: m.head(torch.flatten(m.k(x), 1)), 10),
    "reads 5 inputs but receives 3": (lambda m, x: m.head(m.a(x)), 5),
    "the output must be one layer's units": (lambda m, x: m.b(m.a(x)) + m.a(x), 3),
    "has no Linear or Conv layer": (lambda m, x: torch.relu(x), 3),
}


@pytest.mark.parametrize("error", REFUSED)
def test_unknown_or_unreadable_operations_raise_a_trace_error(error):
    body, head = REFUSED[error]
    model = TwoInputs() if body is None else Forward(body, head)
    with pytest.raises(TraceError, match=error):
        trace_blocks(model)
