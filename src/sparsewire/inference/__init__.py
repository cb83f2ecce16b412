"""Inference with what pruning removed actually removed (sparse storage and kernels)."""

from sparsewire.inference.kernels import MeasuredLinear, measured
from sparsewire.inference.sparse_linear import SparseLinear, sparsify

__all__ = ["MeasuredLinear", "SparseLinear", "measured", "sparsify"]
