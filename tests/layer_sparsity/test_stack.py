import pytest
from torch import nn

from sparsewire.layer_sparsity import UnsupportedNetworkError, linear_stack
from sparsewire.models import MLP


def test_mlp_stack_uses_the_models_own_layers():
    model = MLP([6, 5, 4, 3])
    stack = linear_stack(model)
    assert stack.flatten and stack.hidden == 2 and stack.sizes == [6, 5, 4, 3]
    assert stack.layers[1] is model.layers[1]


def test_sequential_with_and_without_flatten():
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert not linear_stack(seq).flatten and linear_stack(seq).hidden == 1
    assert linear_stack(nn.Sequential(nn.Flatten(), *seq)).flatten


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_non_relu_mlp_refused(activation):
    with pytest.raises(UnsupportedNetworkError, match="ReLU"):
        linear_stack(MLP([4, 3, 2], activation=activation))


@pytest.mark.parametrize(
    "modules",
    [
        [nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)],
        [nn.Linear(4, 3), nn.LeakyReLU(), nn.Linear(3, 2)],
        [nn.Linear(4, 3), nn.ReLU(), nn.Dropout(), nn.Linear(3, 2)],
        [nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU()],
        [nn.Linear(4, 3), nn.ReLU(), nn.Linear(4, 2)],
        [],
    ],
)
def test_unsupported_sequentials_refused(modules):
    with pytest.raises(UnsupportedNetworkError):
        linear_stack(nn.Sequential(*modules))


def test_other_modules_refused():
    with pytest.raises(UnsupportedNetworkError, match="not supported"):
        linear_stack(nn.Conv2d(1, 2, 3))
