"""Kernels chosen by measurement: every candidate computes the layer, the choice is cached per shape and bucket,
and a sparse kernel is chosen only when measured faster than dense."""

import copy
import pickle

import pytest
import torch
from torch import nn

import sparsewire
from sparsewire.inference import kernels as K
from sparsewire.inference.kernels import MeasuredConv2d, MeasuredLinear, bucket, candidate_kernels, measured
from sparsewire.models import MLP
from sparsewire.models.conv import LeNet5


@pytest.fixture(autouse=True)
def _fresh_cache():
    K.CHOICES.clear()
    yield
    K.CHOICES.clear()


def block_sparse(rows, cols, block, density, seed=0):
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(rows // block, cols // block, generator=g) < density
    mask = keep.repeat_interleave(block, 0).repeat_interleave(block, 1)
    return torch.randn(rows, cols, generator=g) * mask


@pytest.mark.parametrize("bias", [True, False])
def test_every_candidate_computes_the_layer(bias):
    layer = nn.Linear(64, 32, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(block_sparse(32, 64, 8, 0.3))
    kernels = candidate_kernels(layer.weight, layer.bias)
    assert {"dense", "csr", "csr-int32", "bsr-8", "scipy-csr"} <= set(kernels)
    x = torch.randn(5, 64)
    for name, fn in kernels.items():
        torch.testing.assert_close(fn(x), layer(x), atol=1e-5, rtol=1e-5, msg=name)


def test_bsr_only_where_blocks_are_sparse():
    dense_blocks = torch.randn(32, 32) * (torch.rand(32, 32) < 0.5)  # unstructured: every block non-zero
    assert not any(k.startswith("bsr") for k in candidate_kernels(dense_blocks, None))


def test_choice_follows_measurement_and_margin(monkeypatch):
    layer = nn.Linear(16, 8)
    fake = {"dense": 1.0, "csr": 0.97, "csr-int32": 2.0, "scipy-csr": 3.0}
    monkeypatch.setattr(K, "time_kernels", lambda kernels, x, rounds: {k: fake.get(k, 9.0) for k in kernels})
    m = MeasuredLinear(layer)
    assert m.choose(torch.randn(3, 16)) == "dense"  # 3 % faster is within the margin: dense stays
    fake["csr"] = 0.5
    assert m.choose(torch.randn(3, 16)) == "dense"  # cached for this shape and bucket
    assert m.choose(torch.randn(16, 16)) == "csr"  # a new bucket is measured
    other = MeasuredLinear(layer)
    calls = []
    monkeypatch.setattr(K, "time_kernels", lambda *a: calls.append(1) or {})
    assert other.choose(torch.randn(9, 16)) == "csr" and not calls  # same shape, nnz, bucket: no new measurement


def test_measured_model_equals_dense_and_copies():
    torch.manual_seed(0)
    model = MLP([40, 32, 10])
    sparsewire.prune(model, 0.9, "class-blinded")
    fast = measured(model, batch_sizes=(1, 8), rounds=2)
    model.eval()
    for batch in (1, 8, 33):
        x = torch.randn(batch, 40)
        torch.testing.assert_close(fast(x), model(x), atol=1e-5, rtol=1e-5)
    assert set(fast.layers[0].choice) == {(1,), (8,), (64,)}
    with torch.inference_mode():  # sparse tensors made outside inference mode fail inside it: rebuilt there
        x = torch.randn(8, 40)
        for name, kernel in fast.layers[0].kernels().items():
            torch.testing.assert_close(kernel(x), model.layers[0](x), atol=1e-5, rtol=1e-5, msg=name)
    clone = pickle.loads(pickle.dumps(fast))
    x = torch.randn(4, 40)
    torch.testing.assert_close(clone(x), model(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(copy.deepcopy(fast)(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("geometry", [{}, {"stride": 2, "padding": 1}, {"padding": 2, "dilation": 2, "bias": False}])
def test_conv_kernels_compute_the_convolution(geometry):
    conv = nn.Conv2d(3, 8, 3, **geometry)
    with torch.no_grad():
        conv.weight.mul_(torch.rand(conv.weight.shape) < 0.2)
    m = MeasuredConv2d(conv)
    assert {"dense", "im2col-csr", "im2col-scipy-csr"} <= set(m.kernels())
    x = torch.randn(2, 3, 11, 9)
    for name, kernel in m.kernels().items():
        torch.testing.assert_close(kernel(x), conv(x), atol=1e-5, rtol=1e-5, msg=name)
    m(x)
    assert set(m.choice) == {(2, 11, 9)}  # batch bucket and image size


def test_measured_lenet5():
    torch.manual_seed(0)
    model = LeNet5()
    sparsewire.prune(model, 0.9, "class-blinded")
    fast = measured(model, batch_sizes=(2,), input_shape=(1, 28, 28), rounds=1)
    assert isinstance(fast.features[3], MeasuredConv2d) and fast.features[3].choice
    model.eval()
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(fast(x), model(x), atol=1e-5, rtol=1e-5)


def test_bucket():
    assert [bucket(b) for b in (1, 2, 3, 4, 5, 255, 256, 257)] == [1, 2, 4, 4, 8, 256, 256, 512]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_measured_on_cuda():
    layer = nn.Linear(64, 32).cuda()
    with torch.no_grad():
        layer.weight.copy_(block_sparse(32, 64, 8, 0.3).cuda())
    m = MeasuredLinear(layer)
    x = torch.randn(4, 64, device="cuda")
    torch.testing.assert_close(m(x), layer(x), atol=1e-4, rtol=1e-4)
    assert "scipy-csr" not in m.kernels()
