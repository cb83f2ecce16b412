"""What pruning buys at inference: linear layers stored and multiplied as sparse CSR matrices.

A masked network computes with dense tensors full of zeros, so pruning alone saves nothing at run time.
:func:`sparsify` swaps every sufficiently sparse ``nn.Linear`` for a :class:`SparseLinear` that keeps
only the surviving weights (CSR) and multiplies with ``torch.sparse.mm``; whether that is faster depends
on sparsity, layer size and batch size — ``benchmarks/sparse_inference.py`` measures it.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from sparsewire.masks import MASK_SUFFIX
from sparsewire.masks.fractions import check_fraction


class SparseLinear(nn.Module):
    """``y = x Wᵀ + b`` with W held as a CSR matrix of its non-zero entries (inference only)."""

    weight: torch.Tensor  # buffers
    bias: torch.Tensor | None

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        with warnings.catch_warnings():  # "CSR support is in beta": known, and tested here
            warnings.simplefilter("ignore", UserWarning)
            self.register_buffer("weight", linear.weight.detach().to_sparse_csr())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        out = torch.sparse.mm(self.weight, flat.T).T
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        nnz = self.weight.values().numel()
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={nnz}"


@torch.no_grad()
def sparsify(model: nn.Module, min_sparsity: float = 0.7) -> nn.Module:
    """A copy of ``model`` for inference whose ``nn.Linear`` layers with at least ``min_sparsity`` zero
    weights are :class:`SparseLinear`; mask buffers are dropped (the zeros are in the weights)."""
    check_fraction(min_sparsity, "[0, 1]", "min_sparsity", "fraction of a layer's weights that are zero")
    model = copy.deepcopy(model).eval()
    for name, module in list(model.named_modules()):
        for buffer in [b for b in module._buffers if b.endswith(MASK_SUFFIX)]:
            getattr(module, buffer[: -len(MASK_SUFFIX)]).mul_(module._buffers[buffer])
            delattr(module, buffer)
        if isinstance(module, nn.Linear) and float((module.weight == 0).float().mean()) >= min_sparsity:
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, SparseLinear(module))
    return model
