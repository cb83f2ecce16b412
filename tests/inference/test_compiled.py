"""The compiled CSR kernels (``numba-csr``) compute the layer for every batch size, sparsity and thread count."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

pytest.importorskip("numba")

from sparsewire.inference.compiled import TILE, available, numba_csr  # noqa: E402
from sparsewire.inference.kernels import candidate_kernels  # noqa: E402


def sparse_layer(rows, cols, sparsity, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    layer = nn.Linear(cols, rows, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(rows, cols, generator=g) * (torch.rand(rows, cols, generator=g) >= sparsity))
    return layer


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 70), sparsity=st.sampled_from([0.0, 0.5, 0.95, 1.0]),
       batch=st.sampled_from([0, 1, 2, TILE - 1, TILE, TILE + 3]), bias=st.booleans(), threads=st.sampled_from([1, 2]))
def test_numba_csr_computes_the_layer(rows, cols, sparsity, batch, bias, threads):
    layer = sparse_layer(rows, cols, sparsity, bias)
    x = torch.randn(batch, cols, generator=torch.Generator().manual_seed(1))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = numba_csr(layer.weight, layer.bias)(x)
    finally:
        torch.set_num_threads(before)
    assert got.shape == (batch, rows) and got.dtype == torch.float32
    torch.testing.assert_close(got, layer(x).detach(), atol=1e-5, rtol=1e-5)


def test_offered_for_float32_cpu_weights_only():
    assert available()
    layer = sparse_layer(16, 32, 0.9)
    assert "numba-csr" in candidate_kernels(layer.weight, layer.bias)
    assert "numba-csr" not in candidate_kernels(layer.weight.double(), None)
    with pytest.raises(ValueError, match="float32 CPU"):
        numba_csr(layer.weight.double(), None)
