"""GraphNetwork computes exactly what its graph and masks say."""

from __future__ import annotations

import copy
import pickle

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.graphs.build import to_dag
from sparsewire.graphs.errors import GraphError, GraphWarning, InputBottleneckWarning
from sparsewire.graphs.feedforward import GraphNetwork
from sparsewire.graphs.priors import generate
from sparsewire.masks import Masks
from sparsewire.training import TrainConfig, train


@torch.no_grad()
def dense_reference(net: GraphNetwork, x: torch.Tensor) -> torch.Tensor:
    """Node-by-node computation from one dense matrix over all units (absent weights are zero)."""
    n_in, order = net.in_features, [n for layer in net.layers for n in layer]
    index = {node: n_in + k for k, node in enumerate(order)}
    total = n_in + len(order)
    w = torch.zeros(total, total, dtype=torch.float64)  # w[target, source]
    bias = torch.zeros(total, dtype=torch.float64)
    for (j, u), node in ((net.structure.position[n], n) for n in order):
        bias[index[node]] = float(net.biases[j][u])
    for key, layer in net.inputs.items():
        for u, node in enumerate(net.layers[int(key)]):
            w[index[node], :n_in] = layer.weight[u].double()
    for key, layer in net.edges.items():
        i, j = (int(v) for v in key.split("_"))
        for t, target in enumerate(net.layers[j]):
            for s, source in enumerate(net.layers[i]):
                w[index[target], index[source]] = float(layer.weight[t, s])
    absent = torch.ones(total, total, dtype=torch.bool)
    absent[:, :n_in] = False
    for u, v in net.dag.edges:
        absent[index[v], index[u]] = False
    assert not w[absent].any(), "a weight outside the graph's edges is non-zero"
    values = torch.zeros(x.shape[0], total, dtype=torch.float64)
    values[:, :n_in] = x.double()
    for node in order:  # order is topological: layers are
        k = index[node]
        values[:, k] = torch.relu(values @ w[k] + bias[k])
    out = net.output_bias.double().expand(x.shape[0], -1).clone()
    for key, layer in net.outputs.items():
        for u, node in enumerate(net.layers[int(key)]):
            out += values[:, index[node], None] * layer.weight[:, u].double()
    return out


@pytest.mark.parametrize("generator, params", [("watts-strogatz", {"k": 4, "p": 0.5}), ("barabasi-albert", {"m": 2}),
                                               ("erdos-renyi", {"p": 0.15})])
def test_network_equals_dense_reference(generator, params):
    import warnings

    g = generate(generator, 30, seed=2, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphWarning)  # every node reaches a sink: no dead nodes
        warnings.simplefilter("ignore", InputBottleneckWarning)  # BA under edge order has one source
        net = GraphNetwork(g, 12, 5, seed=1, outputs="sinks")
    x = torch.randn(7, 12)
    torch.testing.assert_close(net(x).double(), dense_reference(net, x), rtol=1e-5, atol=1e-6)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(2, 25), p=st.floats(0.05, 0.6), seed=st.integers(0, 100))
def test_masks_are_the_adjacency_and_survive_training(n, p, seed):
    g = generate("erdos-renyi", n, seed=seed, p=p)
    if g.number_of_edges() == 0:
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        net = GraphNetwork(g, 4, 3, seed=seed, outputs="sinks")
    masks = Masks.of(net)
    kept_edges = sum(int(masks[f"edges.{k}.weight"].sum()) for k in net.edges)
    assert kept_edges == g.number_of_edges()
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    train(net, (x, y), TrainConfig(epochs=2, batch_size=8, weight_decay=0.1), progress=False)
    for _, param, mask in masks.parameters():
        assert not param[~mask].any()


def test_isolated_nodes_components_and_no_path():
    g = nx.Graph([(0, 1), (1, 2), (3, 4)])
    g.add_node(9)
    with pytest.warns(GraphWarning, match="no input→output path"):
        net = GraphNetwork(g, 3, 2, seed=0)  # output reads the last layer only: other components are dead
    assert net(torch.randn(2, 3)).shape == (2, 2)
    assert GraphNetwork(g, 3, 2, seed=0, outputs="sinks")(torch.randn(2, 3)).shape == (2, 2)  # all live
    edgeless = nx.empty_graph(4)
    assert GraphNetwork(edgeless, 3, 2)(torch.randn(5, 3)).shape == (5, 2)
    dag = nx.DiGraph([(0, 1), (2, 3)])
    with pytest.raises(GraphError, match="no path"):
        GraphNetwork(dag, 3, 2, inputs=[0], outputs=[3])
    with pytest.raises(GraphError, match="empty"):
        GraphNetwork(nx.Graph(), 3, 2)
    with pytest.raises(GraphError, match="cycle"):
        GraphNetwork(nx.DiGraph([(0, 1), (1, 0)]), 3, 2)


def test_inputs_into_later_layers_and_skip_connections():
    dag = nx.DiGraph([(0, 1), (1, 2), (0, 2), (3, 2)])
    net = GraphNetwork(dag, 4, 2, inputs=[0, 3], seed=0)
    assert set(net.edges) == {"0_1", "0_2", "1_2"}
    x = torch.randn(3, 4)
    torch.testing.assert_close(net(x).double(), dense_reference(net, x), rtol=1e-5, atol=1e-6)


def test_seeded_state_dict_deepcopy_pickle():
    g = generate("barabasi-albert", 20, seed=0, m=2)
    a, b = GraphNetwork(g, 6, 3, seed=5, outputs="sinks"), GraphNetwork(g, 6, 3, seed=5, outputs="sinks")
    x = torch.randn(4, 6)
    torch.testing.assert_close(a(x), b(x))
    c = GraphNetwork(g, 6, 3, seed=5, outputs="sinks")
    c.load_state_dict(copy.deepcopy(a).state_dict(), strict=True)
    torch.testing.assert_close(pickle.loads(pickle.dumps(a))(x), c(x))
    assert to_dag(g).edges == a.dag.edges  # default: edge order
    assert to_dag(g, seed=5).edges == GraphNetwork(g, 6, 3, seed=5, orientation="random", outputs="sinks").dag.edges
    with pytest.raises(ValueError, match="input features"):
        a(torch.randn(4, 7))


def test_an_input_bottleneck_narrower_than_the_outputs_is_warned_about():
    ba = generate("barabasi-albert", 60, seed=0, m=2)
    with pytest.warns(InputBottleneckWarning, match="attaches to 1 unit.*fewer than the 10 outputs.*orientation='random'"):
        GraphNetwork(ba, 784, 10, outputs="sinks")  # edge order: node 0 is the only source
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphWarning)
        wide = GraphNetwork(ba, 784, 10, outputs="sinks", inputs="first-layer", orientation="random", seed=3)
    assert sum(len(units) for units in wide.input_units.values()) >= 10
