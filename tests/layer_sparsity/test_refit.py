import pytest
import torch
from layer_nets import make_mlp

from sparsewire.data import load_dataset
from sparsewire.layer_sparsity import ConnectionPenalty, LayerPenalty, collapse, refit
from sparsewire.masks import Masks
from sparsewire.training import TrainConfig, evaluate


@pytest.fixture(scope="module")
def mnist(shared_data):
    return load_dataset("mnist", data_dir=shared_data, val_size=200, train_limit=1000, download=False)


def test_refit_starts_from_collapsed_weights(mnist):
    model = make_mlp([784, 16, 16, 16, 10], nonnegative=[1, 2], seed=5)
    shallow = collapse(model)
    start = {k: v.clone() for k, v in shallow.state_dict().items()}
    refit(shallow, mnist.train, TrainConfig(epochs=0), progress=False)
    assert all(torch.equal(v, shallow.state_dict()[k]) for k, v in start.items())
    refit(shallow, mnist.train, TrainConfig(epochs=1, optimizer="sgd", lr=1e-6, momentum=0.0), progress=False)
    drift = max(float((v - shallow.state_dict()[k]).abs().max()) for k, v in start.items())
    assert 0 < drift < 1e-4  # it moved, but from the collapsed weights


def test_refit_lowers_the_loss_of_a_collapsed_network(mnist):
    model = make_mlp([784, 16, 16, 16, 10], nonnegative=[1, 2], seed=5)
    shallow = collapse(model)
    before = evaluate(shallow, mnist.train)["loss"]
    refit(shallow, mnist.train, TrainConfig(epochs=3, batch_size=25), progress=False)
    assert evaluate(shallow, mnist.train)["loss"] < before - 0.3


def test_refit_refuses_the_layer_penalty(mnist):
    shallow = collapse(make_mlp([784, 8, 8, 10], nonnegative=[1]))
    with pytest.raises(ValueError, match="without the layer penalty"):
        refit(shallow, mnist.train, TrainConfig(epochs=1), penalty=ConnectionPenalty(0.1) + LayerPenalty(1.0))


def test_refit_keeps_connection_penalty_and_mask(mnist):
    model = make_mlp([784, 16, 16, 10], nonnegative=[1], seed=6)
    masks = Masks(model)
    masks.update({"layers.0.weight": torch.rand(16, 784) < 0.5})
    shallow = collapse(model)
    kept = Masks.of(shallow)["layers.0.weight"].clone()
    refit(shallow, mnist.train, TrainConfig(epochs=1, batch_size=100), penalty=ConnectionPenalty(1.0), progress=False)
    assert bool((shallow.layers[0].weight[~kept] == 0).all())
    assert int((shallow.layers[0].weight[kept] == 0).sum()) > 0  # ℓ1 prox zeroed some survivors too
