"""Compiled CSR kernels for ``x ↦ x Wᵀ + b`` on the CPU (numba, the optional extra ``kernels``).

Two loops, each compiled once per process:

- one input (batch 1): a row-by-row sparse dot product with int32 indices. A dense matrix-vector product
  reads every weight (4 bytes each) once and is limited by memory bandwidth; this reads 8 bytes per kept
  weight (value and index) and the input vector from cache, so at 95 % sparsity it moves 10× fewer bytes
  (4 / (0.05 · 8)), which bounds its speed-up (``benchmarks/results/sparse_inference.md``).
- several inputs: the input transposed to ``(in_features, batch)`` and processed in tiles of 64 columns; for
  each output row the kept weights' input rows (64 contiguous floats each) are summed into an accumulator
  the compiler vectorises. A tile of the transposed input (in_features × 64 floats, 1 MiB at 4096) stays in
  the L2 cache while every output row reads it.

With ``torch.get_num_threads()`` > 1 the rows are split over that many threads (numba's ``prange``). :func:`available` says whether
numba can be imported; :class:`~sparsewire.inference.kernels.MeasuredLinear` offers the kernel as
``numba-csr`` only then, and picks it only where it measures faster than dense and every other candidate.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cache
from types import FunctionType
from typing import Any

import numpy as np
import torch

TILE = 64
"""Batch columns per tile of the several-inputs kernel (64 floats: four 512-bit or eight 256-bit vectors)."""


def available() -> bool:
    """Whether numba is installed (``pip install sparsewire[kernels]``)."""
    return importlib.util.find_spec("numba") is not None


def _one_input(indptr, indices, data, x, out):  # pragma: no cover - compiled by _compiled
    for row in prange(indptr.shape[0] - 1):
        acc = np.float32(0.0)
        for k in range(indptr[row], indptr[row + 1]):
            acc += data[k] * x[indices[k]]
        out[row] = acc


def _several_inputs(indptr, indices, data, xt, out):  # pragma: no cover - compiled by _compiled
    # xt: (tiles, in_features, TILE), out: (tiles, out_features, TILE), both C-contiguous; four kept weights
    # per pass over the accumulator halve its loads and stores
    rows = indptr.shape[0] - 1
    for job in prange(xt.shape[0] * rows):
        tile, row = job // rows, job % rows
        acc = np.zeros(TILE, np.float32)
        k, stop = indptr[row], indptr[row + 1]
        while k + 4 <= stop:
            v0, v1, v2, v3 = data[k], data[k + 1], data[k + 2], data[k + 3]
            j0, j1, j2, j3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
            for b in range(TILE):
                acc[b] += v0 * xt[tile, j0, b] + v1 * xt[tile, j1, b] + v2 * xt[tile, j2, b] + v3 * xt[tile, j3, b]
            k += 4
        while k < stop:
            v, j = data[k], indices[k]
            for b in range(TILE):
                acc[b] += v * xt[tile, j, b]
            k += 1
        for b in range(TILE):
            out[tile, row, b] = acc[b]


def prange(*args: int) -> range:
    """``range`` when the loops run as Python; numba compiles the loops with its own ``prange``."""
    return range(*args)


@cache
def _compiled(parallel: bool) -> tuple[Any, Any]:
    """The two loops compiled on first use (about a second each): with ``parallel`` the rows are split over
    numba's threads, otherwise the loops run on the calling thread with no thread pool involved (on one thread a
    parallel region only adds the pool's wake-up, and under load its waiting)."""
    import numba

    compiled = []
    for loop in (_one_input, _several_inputs):
        scope = {**loop.__globals__, "prange": numba.prange if parallel else range}
        fresh = FunctionType(loop.__code__, scope, loop.__name__)
        compiled.append(numba.njit(parallel=parallel, fastmath=True, boundscheck=False)(fresh))
    return compiled[0], compiled[1]


def numba_csr(weight: torch.Tensor, bias: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x ↦ x Wᵀ + b`` for a float32 CPU ``weight`` through the compiled loops (inference only; inputs of shape
    ``(batch, in_features)``)."""
    if weight.device.type != "cpu" or weight.dtype != torch.float32 or weight.dim() != 2:
        raise ValueError(f"numba_csr needs a 2-d float32 CPU weight, got {weight.dtype} on {weight.device}")
    import scipy.sparse

    matrix = scipy.sparse.csr_matrix(weight.detach().numpy())
    indptr, indices = matrix.indptr.astype(np.int32), matrix.indices.astype(np.int32)
    data = matrix.data.astype(np.float32)
    rows = weight.shape[0]
    b = None if bias is None else bias.detach()

    def kernel(x: torch.Tensor) -> torch.Tensor:
        threads = max(1, min(torch.get_num_threads(), _max_threads()))
        one_input, several_inputs = _compiled(threads > 1)
        if threads > 1:
            from numba import set_num_threads

            set_num_threads(threads)
        values = x.detach().to(torch.float32).numpy()
        batch = values.shape[0]
        if batch == 0:
            result = torch.zeros(0, rows)
        elif batch == 1:
            out = np.empty(rows, np.float32)
            one_input(indptr, indices, data, np.ascontiguousarray(values[0]), out)
            result = torch.from_numpy(out).unsqueeze(0)
        else:
            tiles = -(-batch // TILE)
            xt = np.zeros((tiles * TILE, values.shape[1]), np.float32)
            xt[:batch] = values
            xt = np.ascontiguousarray(xt.reshape(tiles, TILE, -1).transpose(0, 2, 1))
            out = np.empty((tiles, rows, TILE), np.float32)
            several_inputs(indptr, indices, data, xt, out)
            result = torch.from_numpy(np.ascontiguousarray(out.transpose(0, 2, 1).reshape(tiles * TILE, rows)[:batch]))
        return result if b is None else result + b

    return kernel


@cache
def _max_threads() -> int:
    import numba

    return int(vars(numba.config)["NUMBA_NUM_THREADS"])
