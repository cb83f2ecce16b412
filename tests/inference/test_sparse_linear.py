import pytest
import torch
from torch import nn

from sparsewire import prune
from sparsewire.inference import SparseLinear, sparsify
from sparsewire.masks import Masks
from sparsewire.models import lenet_300_100


@pytest.mark.parametrize("compression", [0.5, 0.8, 0.9])
def test_sparsified_network_computes_the_same_function(compression):
    model = lenet_300_100()
    prune(model, compression, "class-blinded")
    fast = sparsify(model, min_sparsity=0.0)
    assert all(isinstance(layer, SparseLinear) for layer in fast.layers)
    assert Masks.is_masked(model) and not Masks.is_masked(fast)
    x = torch.randn(17, 1, 28, 28)
    torch.testing.assert_close(fast(x), model(x), rtol=1e-5, atol=1e-5)
    nnz = sum(layer.weight.values().numel() for layer in fast.layers)
    assert nnz == Masks.of(model).remaining()


def test_only_sparse_enough_layers_are_swapped():
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():
        model[0].weight[:, :6] = 0
    fast = sparsify(model, min_sparsity=0.7)
    assert isinstance(fast[0], SparseLinear) and isinstance(fast[2], nn.Linear)
    x = torch.randn(3, 8)
    torch.testing.assert_close(fast(x), model(x))
    with pytest.raises(ValueError):
        sparsify(model, 1.5)
