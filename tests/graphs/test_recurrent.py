"""GraphRNN: masks follow the graph, gates repeat the rows, skip paths add up, outputs are causal."""

from __future__ import annotations

import warnings

import networkx as nx
import pytest
import torch

from sparsewire.graphs.errors import GraphError, GraphWarning
from sparsewire.graphs.feedforward import block_mask
from sparsewire.graphs.priors import generate
from sparsewire.graphs.recurrent import GATES, GraphRNN
from sparsewire.masks import Masks

CELLS = sorted(GATES)


def _net(cell, seed=0):
    g = generate("barabasi-albert", 16, seed=1, m=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        return GraphRNN(g, 5, 3, cell=cell, seed=seed, outputs="sinks")


@pytest.mark.parametrize("cell", CELLS)
def test_input_masks_are_the_adjacency_repeated_per_gate(cell):
    net = _net(cell)
    masks = Masks.of(net)
    sizes = net.structure.sizes
    for (i, j), pairs in net.structure.blocks.items():
        mask = masks[f"paths.{i}_{j}.weight_ih_l0"]
        assert mask.shape == (GATES[cell] * sizes[j], sizes[i])
        for gate in mask.chunk(GATES[cell], 0):
            assert torch.equal(gate, block_mask(pairs, sizes[j], sizes[i]))
        assert masks[f"paths.{i}_{j}.weight_hh_l0"].all()  # dense within the layer, but masked
        weight = net.paths[f"{i}_{j}"].weight_ih_l0
        assert not weight[~mask].any()
    assert sum(len(p) for p in net.structure.blocks.values()) == net.dag.number_of_edges()


@pytest.mark.parametrize("cell", CELLS)
def test_shapes_causality_and_determinism(cell):
    net = _net(cell, seed=3)
    x = torch.randn(4, 6, 5)
    y = net(x)
    assert y.shape == (4, 6, 3)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(4, 2, 5)
    torch.testing.assert_close(net(x2)[:, :4], y[:, :4])  # steps < 4 do not see the future
    assert not torch.allclose(net(x2)[:, 4:], y[:, 4:])
    torch.testing.assert_close(_net(cell, seed=3)(x), y)


def test_rnn_matches_a_manual_masked_recurrence():
    dag = nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3)])  # layers [0,1], [2], [3]; 0->3 skips a layer
    net = GraphRNN(dag, 2, 1, cell="rnn-tanh", seed=0)
    x = torch.randn(3, 4, 2)

    def run(module, inputs):
        w_ih, w_hh = module.weight_ih_l0 * module.weight_ih_l0_mask, module.weight_hh_l0 * module.weight_hh_l0_mask
        h = torch.zeros(inputs.shape[0], w_hh.shape[0])
        out = []
        for t in range(inputs.shape[1]):
            h = torch.tanh(inputs[:, t] @ w_ih.T + module.bias_ih_l0 + h @ w_hh.T + module.bias_hh_l0)
            out.append(h)
        return torch.stack(out, 1)

    s0 = run(net.input, x)
    s1 = run(net.paths["0_1"], s0)
    s2 = run(net.paths["1_2"], s1) + run(net.paths["0_2"], s0)
    expected = net.outputs["2"](s2)
    torch.testing.assert_close(net(x), expected, rtol=1e-5, atol=1e-6)
    assert net.paths["0_2"].weight_ih_l0_mask.tolist() == [[True, False]]


def test_bad_input():
    g = nx.path_graph(4)
    with pytest.raises(GraphError, match="cell"):
        GraphRNN(g, 2, 2, cell="transformer")
    with pytest.raises(GraphError, match="empty"):
        GraphRNN(nx.Graph(), 2, 2)
    with pytest.raises(ValueError, match="batch, time"):
        GraphRNN(g, 2, 2)(torch.randn(3, 2))
