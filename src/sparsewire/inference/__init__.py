"""Inference with what pruning removed actually removed (sparse storage and kernels)."""

from sparsewire.inference.kernels import MeasuredConv2d, MeasuredLinear, measured
from sparsewire.inference.sparse_linear import SparseLinear, sparsify

__all__ = ["MeasuredConv2d", "MeasuredLinear", "SparseLinear", "measured", "sparsify"]
