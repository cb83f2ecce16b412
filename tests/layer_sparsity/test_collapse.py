import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_nets import as_sequential, make_mlp
from torch import nn

from sparsewire.data import load_dataset
from sparsewire.layer_sparsity import (
    UnsafeCollapseWarning,
    collapse,
    groups,
    identity_layers,
    parameter_count,
)
from sparsewire.masks import Masks
from sparsewire.models import MLP


def test_groups():
    assert groups(4, []) == [[0], [1], [2], [3]]
    assert groups(4, [1, 2]) == [[0], [1, 2, 3]]
    assert groups(3, [0, 1]) == [[0, 1, 2]]
    with pytest.raises(ValueError, match="hidden layer indices"):
        groups(3, [2])


@st.composite
def networks(draw):
    hidden = draw(st.integers(1, 6))
    sizes = [draw(st.integers(1, 7)) for _ in range(hidden + 2)]
    nonneg = draw(st.sets(st.integers(1, hidden - 1), max_size=hidden - 1)) if hidden > 1 else set()
    return sizes, sorted(nonneg), draw(st.integers(0, 1000)), draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(net=networks())
def test_collapsed_network_agrees_on_nonnegative_and_signed_inputs(net):
    sizes, nonneg, seed, sequential = net
    model = make_mlp(sizes, nonnegative=nonneg, seed=seed)
    if sequential:
        model = as_sequential(model)
    assert identity_layers(model) == nonneg or set(identity_layers(model)) >= set(nonneg)
    shallow = collapse(model)
    assert type(shallow) is type(model)
    gen = torch.Generator().manual_seed(seed)
    for x in (torch.rand(32, sizes[0], generator=gen), 3 * torch.randn(32, sizes[0], generator=gen)):
        torch.testing.assert_close(shallow(x), model(x), rtol=1e-5, atol=1e-5)
    linear = [m for m in shallow.modules() if isinstance(m, nn.Linear)]
    assert len(linear) == len(sizes) - 1 - len(identity_layers(model))


def test_all_nonnegative_hidden_layers_collapse_to_one_linear_map():
    model = make_mlp([5, 6, 6, 6, 3], nonnegative=[0, 1, 2])
    shallow = collapse(model, input_nonnegative=True)
    assert len(shallow.layers) == 1 and shallow.sizes == [5, 3]
    x = torch.rand(50, 5)
    torch.testing.assert_close(shallow(x), model(x))
    w = model.layers[3].weight @ model.layers[2].weight @ model.layers[1].weight @ model.layers[0].weight
    torch.testing.assert_close(shallow.layers[0].weight, w)


def test_first_layer_not_collapsed_unless_inputs_are_nonnegative():
    model = make_mlp([5, 6, 6, 3], nonnegative=[0, 1])
    assert identity_layers(model) == [1]
    assert len(collapse(model).layers) == 2
    x = torch.randn(20, 5)  # signed inputs: collapsing layer 0 would change outputs
    torch.testing.assert_close(collapse(model)(x), model(x))
    with pytest.raises(ValueError, match="network input can be negative"):
        collapse(model, [0, 1])


def test_unsafe_collapse_warns_and_changes_outputs():
    model = make_mlp([5, 8, 8, 3], seed=3)
    with pytest.raises(ValueError, match="negative weights"):
        collapse(model, [1])
    with pytest.warns(UnsafeCollapseWarning):
        shallow = collapse(model, [1], unsafe=True)
    x = torch.rand(100, 5)
    assert not torch.allclose(shallow(x), model(x))


def test_collapse_leaves_original_untouched_and_rng_alone():
    model = make_mlp([4, 5, 5, 2], nonnegative=[1])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    collapse(model)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_layers_without_bias():
    model = make_mlp([4, 5, 5, 2], nonnegative=[1], bias=False)
    shallow = collapse(model)
    assert shallow.layers[-1].bias is None
    x = torch.randn(10, 4)
    torch.testing.assert_close(shallow(x), model(x))


def test_masks_carry_over_as_support_of_product():
    model = make_mlp([4, 5, 5, 2], nonnegative=[1])
    masks = Masks(model)
    masks.update({"layers.1.weight": torch.zeros(5, 5, dtype=torch.bool).fill_diagonal_(True),
                  "layers.2.weight": torch.tensor([[True] + [False] * 4, [False] * 5])})
    shallow = collapse(model)
    merged = Masks.of(shallow)["layers.1.weight"]
    assert merged.tolist() == [[True] + [False] * 4, [False] * 5]
    x = torch.randn(10, 4)
    torch.testing.assert_close(shallow(x), model(x))


def test_collapse_shrinks_parameters_of_a_narrow_deep_mlp():
    model = make_mlp([20, 8, 8, 8, 8, 3], nonnegative=[1, 2, 3])
    assert parameter_count(collapse(model)) < parameter_count(model)


def test_collapsed_agrees_on_real_mnist(shared_data):
    splits = load_dataset("mnist", data_dir=shared_data, val_size=200, train_limit=500, download=False)
    assert float(splits.test[0].min()) < 0  # normalised inputs are negative in places
    model = make_mlp([784, 16, 16, 16, 16, 10], nonnegative=[0, 1, 2, 3], seed=2)
    shallow = collapse(model)  # the first layer stays: the inputs can be negative
    assert isinstance(shallow, MLP) and len(shallow.layers) == 2
    x = splits.test[0][:500]
    torch.testing.assert_close(shallow(x), model(x), rtol=1e-4, atol=1e-4)
    assert torch.equal(shallow(x).argmax(1), model(x).argmax(1))
