"""Search spaces: every operator yields a valid genome that builds, costs are the built network's, budgets hold."""

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.architecture_search.cells import CellGenome, CellNetwork
from sparsewire.architecture_search.spaces import Budget, CellSpace, FeedForwardSpace
from sparsewire.masks import Masks

IMAGE = (1, 28, 28)


def cells(**options) -> CellSpace:
    return CellSpace(IMAGE, 10, min_nodes=1, max_nodes=6, channels=(2, 4, 8), **options)


def valid_cells(g: CellGenome, space: CellSpace) -> bool:
    return (space.min_nodes <= g.nodes <= space.max_nodes and set(g.channels) <= set(space.channels)
            and all(0 <= s < space.stages for s in g.stages) and list(g.stages) == sorted(g.stages)
            and all(i < j < g.nodes for i, j in g.edges))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), steps=st.integers(1, 8),
       head=st.sampled_from([("global-average", None), ("flatten", None), ("flatten", 1), ("flatten", 3), ("flatten", 7)]))
def test_cell_mutation_and_crossover_stay_valid_and_build(seed, steps, head):
    space, rng = cells(readout=head[0], readout_size=head[1]), np.random.default_rng(seed)
    a, b = space.random(rng), space.random(rng)
    for _ in range(steps):
        a, b = space.mutate(a, rng), space.crossover(a, b, rng)
        assert valid_cells(a, space) and valid_cells(b, space)
        assert space.from_key(space.key(b)) == b
    net = space.build(b, seed)
    assert net(torch.randn(3, *IMAGE)).shape == (3, 10)
    assert space.cost(b)["params"] == sum(p.numel() for p in net.parameters())


def test_cell_genome_rejects_invalid_genes():
    with pytest.raises(ValueError, match="non-decreasing"):
        CellGenome((4, 4), (1, 0), ())
    with pytest.raises(ValueError, match="sorted unique"):
        CellGenome((4, 4), (0, 0), ((1, 0),))
    with pytest.raises(ValueError, match=">= 1 node"):
        CellGenome((), (), ())


def test_cell_network_pools_inputs_to_each_cells_stage_and_reads_the_sinks():
    genome = CellGenome((4, 8, 2), (0, 1, 2), ((0, 1), (0, 2)))
    net = CellNetwork(genome, IMAGE, 10, seed=0)
    assert genome.sinks() == [1, 2] and net.head.in_features == 10
    assert net.cells[2][0].in_channels == 4  # node 0's output, pooled 4x
    macs = genome.cost(IMAGE, 10)["macs"]
    assert macs == 9 * 1 * 4 * 28 * 28 + 9 * 4 * 8 * 14 * 14 + 9 * 4 * 2 * 7 * 7 + 10 * 10
    # the same seed gives the same weights, and building does not move the global random stream
    state = torch.random.get_rng_state()
    again = CellNetwork(genome, IMAGE, 10, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), again.parameters(), strict=True))


def test_flatten_readout_reads_each_sink_at_the_last_stage_like_lenet():
    genome = CellGenome((4, 8, 2), (0, 1, 2), ((0, 1), (0, 2)))
    net = CellNetwork(genome, IMAGE, 10, seed=0, readout_stage=2)
    assert net.head.in_features == (8 + 2) * 7 * 7
    averaged = CellNetwork(genome, IMAGE, 10, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(net.cells.parameters(), averaged.cells.parameters(), strict=True))
    x = torch.randn(2, *IMAGE)
    outs = []
    net.head.register_forward_hook(lambda m, i, o: outs.append(i[0]))
    net(x)
    first = net.cells[0](x)
    node1 = net.cells[1](torch.nn.functional.max_pool2d(first, 2))
    assert torch.allclose(outs[0][:, : 8 * 49], torch.nn.functional.max_pool2d(node1, 2).flatten(1))
    assert genome.cost(IMAGE, 10, 2)["params"] == sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError, match="below the read-out stage"):
        CellNetwork(genome, IMAGE, 10, readout_stage=1)


def test_pooled_flatten_readout_max_pools_each_sink_to_its_side():
    genome = CellGenome((4, 8, 2), (0, 1, 2), ((0, 1), (0, 2)))
    net = CellNetwork(genome, IMAGE, 10, seed=0, readout_stage=2, readout_size=3)
    assert net.head.in_features == (8 + 2) * 3 * 3
    assert genome.cost(IMAGE, 10, 2, 3)["params"] == sum(p.numel() for p in net.parameters())
    x = torch.randn(2, *IMAGE)
    outs = []
    net.head.register_forward_hook(lambda m, i, o: outs.append(i[0]))
    net(x)
    node1 = net.cells[1](torch.nn.functional.max_pool2d(net.cells[0](x), 2))  # 14x14 -> 3x3 in overlapping windows
    assert torch.allclose(outs[0][:, : 8 * 9], torch.nn.functional.adaptive_max_pool2d(node1, 3).flatten(1))
    # at the last stage's own side the pooled head is the plain flatten head, value for value
    plain, full = (CellNetwork(genome, IMAGE, 10, seed=0, readout_stage=2, readout_size=size) for size in (None, 7))
    assert torch.equal(plain(x), full(x))
    for bad in ({"readout_stage": None, "readout_size": 3}, {"readout_stage": 2, "readout_size": 8},
                {"readout_stage": 2, "readout_size": 0}):
        with pytest.raises(ValueError, match="readout_size"):
            CellNetwork(genome, IMAGE, 10, **bad)
    with pytest.raises(ValueError, match="readout_size"):
        cells(readout="global-average", readout_size=3)
    with pytest.raises(ValueError, match="readout_size"):
        cells(readout="flatten", readout_size=8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000), steps=st.integers(1, 5))
def test_feedforward_variation_keeps_index_ordered_dags_whose_cost_is_the_networks(seed, steps):
    space, rng = FeedForwardSpace(IMAGE, 10, min_nodes=6, max_nodes=30), np.random.default_rng(seed)
    a, b = space.random(rng), space.random(rng)
    for _ in range(steps):
        a, b = space.mutate(a, rng), space.crossover(a, b, rng)
    for g in (a, b):
        assert sorted(g.nodes) == list(range(g.number_of_nodes())) and all(u < v for u, v in g.edges)
        assert nx.is_isomorphic(space.from_key(space.key(g)), g)
    net = space.build(b, seed)
    masks = Masks.of(net)
    biases = sum(p.numel() for name, p in net.named_parameters() if "bias" in name)
    assert space.cost(b)["params"] == masks.remaining() + biases
    assert net(torch.randn(2, *IMAGE)).shape == (2, 10)


def test_budgets_are_constraints():
    budget = Budget(max_params=1000, max_macs=50_000)
    assert budget.admits({"params": 1000, "macs": 50_000}) and not budget.admits({"params": 1001, "macs": 0})
    space, rng = cells(), np.random.default_rng(0)
    space.budget = budget
    drawn = [space.draw(lambda: space.random(rng)) for _ in range(30)]
    assert any(g is not None for g in drawn)
    assert all(budget.admits(space.cost(g)) for g in drawn if g is not None)
    space.budget = Budget(max_params=1)
    assert space.draw(lambda: space.random(rng), tries=5) is None


def test_spaces_refuse_bad_settings():
    with pytest.raises(ValueError, match="halved"):
        CellSpace((1, 28, 28), 10, stages=4)  # 28 -> 14 -> 7 -> 3.5
    with pytest.raises(ValueError, match="min_nodes"):
        FeedForwardSpace(IMAGE, 10, min_nodes=3)
