import pytest
import torch
from layer_nets import make_mlp

from sparsewire.data import load_dataset
from sparsewire.layer_sparsity import (
    ConnectionPenalty,
    LayerPenalty,
    NodePenalty,
    Penalties,
    linear_stack,
    train_penalized,
)
from sparsewire.training import TrainConfig


def test_layer_penalty_value_is_frobenius_norm_of_negative_parts():
    model = make_mlp([3, 4, 4, 4, 2])
    penalty = LayerPenalty(2.0)
    stack = linear_stack(model)
    expected = sum(
        2.0 * torch.cat([stack.layers[j].weight.flatten(), stack.layers[j].bias]).clamp(max=0).norm() for j in (1, 2)
    )
    assert torch.allclose(penalty.value(model), expected)
    assert penalty.weights(stack) == [0.0, 1.0, 1.0, 0.0]
    assert LayerPenalty(1.0, input_nonnegative=True).weights(stack) == [1.0, 1.0, 1.0, 0.0]


def test_connection_and_node_values():
    model = make_mlp([3, 4, 2])
    layers = linear_stack(model).layers
    assert torch.allclose(ConnectionPenalty(0.5).value(model), 0.5 * (layers[0].weight.abs().sum() + layers[1].weight.abs().sum()))
    rows = torch.cat([layers[0].weight, layers[0].bias[:, None]], 1).norm(dim=1).sum()
    assert torch.allclose(NodePenalty(1.0).value(model), rows)
    total = (ConnectionPenalty(0.5) + NodePenalty(1.0)).value(model)
    assert torch.allclose(total, ConnectionPenalty(0.5).value(model) + rows)


@pytest.mark.parametrize("bad", [-0.1, float("nan")])
def test_negative_lambda_refused(bad):
    with pytest.raises(ValueError, match=">= 0"):
        LayerPenalty(bad)


def test_weights_checked():
    with pytest.raises(ValueError, match="r_j"):
        ConnectionPenalty(1.0, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="3 linear layers"):
        ConnectionPenalty(1.0, weights=[1.0]).value(make_mlp([3, 3, 3, 2]))


def test_subgradient_at_zero_is_finite():
    model = make_mlp([3, 4, 4, 2], nonnegative=[1])  # layer 1 has no negative part: kink of the layer norm
    with torch.no_grad():
        model.layers[0].weight[0].zero_()  # a zero row: kink of the node norm
        model.layers[0].bias[0] = 0.0
    value = LayerPenalty(1.0).value(model) + NodePenalty(1.0).value(model)
    value.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_large_prox_step_makes_penalised_layers_nonnegative_and_keeps_others():
    model = make_mlp([3, 5, 5, 5, 2])
    before = [layer.weight.detach().clone() for layer in model.layers]
    LayerPenalty(1.0).prox(model, 1e6)
    assert bool((model.layers[1].weight >= 0).all()) and bool((model.layers[2].bias >= 0).all())
    assert torch.equal(model.layers[0].weight, before[0]) and torch.equal(model.layers[3].weight, before[3])


def test_penalties_apply_in_order():
    model = make_mlp([3, 5, 2])
    Penalties([ConnectionPenalty(1.0)]).prox(model, 1e6)
    assert all(bool((layer.weight == 0).all()) for layer in model.layers)


def test_proximal_training_gives_exact_zeros_subgradient_does_not(shared_data):
    splits = load_dataset("mnist", data_dir=shared_data, val_size=100, train_limit=1000, download=False)
    cfg = TrainConfig(epochs=2, batch_size=100, lr=1e-2, restore_best=False)
    results = {}
    for how in ("proximal", "subgradient"):
        model = make_mlp([784, 16, 16, 16, 10], seed=1)
        train_penalized(model, splits.train, cfg, LayerPenalty(50.0), optimisation=how, progress=False)
        hidden = model.layers[1:3]
        results[how] = sum(int((layer.weight < 0).sum()) + int((layer.bias < 0).sum()) for layer in hidden)
    assert results["proximal"] == 0
    assert results["subgradient"] > 0


def test_unsupported_network_refused_before_training():
    from sparsewire.layer_sparsity import UnsupportedNetworkError
    from sparsewire.models import MLP

    data = (torch.randn(8, 4), torch.zeros(8, dtype=torch.long))
    with pytest.raises(UnsupportedNetworkError):
        train_penalized(MLP([4, 3, 2], activation="tanh"), data, TrainConfig(epochs=1), LayerPenalty(1.0))
