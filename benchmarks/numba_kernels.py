"""Does a numba CSR kernel beat torch / scipy CSR on this CPU? (It did not: see results/sparse_inference.md.)

One random 4096 × 4096 layer at 95 % and 99 % sparsity, batch 1 / 16 / 256, one thread: dense ``F.linear``,
torch CSR, scipy CSR, a numba row-wise sparse dot (batch 1) and a numba CSR × dense kernel that keeps 8
batch columns in registers per output row (input transposed and padded to a multiple of 8). Median of 7
calls after one warm-up. Needs numba (``pip install numba``; not a sparsewire dependency).

    python benchmarks/numba_kernels.py
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import scipy.sparse
import torch
from numba import njit


@njit(fastmath=True, boundscheck=False)
def row_dot(indptr, indices, data, x, out):  # pragma: no cover - compiled
    for o in range(indptr.shape[0] - 1):
        acc = np.float32(0.0)
        for k in range(indptr[o], indptr[o + 1]):
            acc += data[k] * x[indices[k]]
        out[o] = acc


@njit(fastmath=True, boundscheck=False)
def tiled8(indptr, indices, data, xt, out, width):  # pragma: no cover - compiled
    for o in range(indptr.shape[0] - 1):
        start, stop = indptr[o], indptr[o + 1]
        for b0 in range(0, width, 8):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(0.0)
            for k in range(start, stop):
                v = data[k]
                p = indices[k] * width + b0
                a0 += v * xt[p]
                a1 += v * xt[p + 1]
                a2 += v * xt[p + 2]
                a3 += v * xt[p + 3]
                a4 += v * xt[p + 4]
                a5 += v * xt[p + 5]
                a6 += v * xt[p + 6]
                a7 += v * xt[p + 7]
            q = o * width + b0
            out[q], out[q + 1], out[q + 2], out[q + 3] = a0, a1, a2, a3
            out[q + 4], out[q + 5], out[q + 6], out[q + 7] = a4, a5, a6, a7


def median_ms(fn, calls: int = 7) -> float:
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def measure(weight: torch.Tensor, x: torch.Tensor) -> dict[str, float]:
    """Median ms of each way of computing ``x Wᵀ``."""
    matrix = scipy.sparse.csr_matrix(weight.numpy())
    indptr, indices = matrix.indptr.astype(np.int32), matrix.indices.astype(np.int32)
    data = matrix.data.astype(np.float32)
    csr = weight.to_sparse_csr()
    batch = x.shape[0]
    width = -(-batch // 8) * 8

    def numba_tiled():
        xt = np.zeros((4096, width), np.float32)
        xt[:, :batch] = x.numpy().T
        out = np.empty(4096 * width, np.float32)
        tiled8(indptr, indices, data, xt.ravel(), out, width)
        return out.reshape(4096, width)[:, :batch].T

    assert np.abs(numba_tiled() - torch.nn.functional.linear(x, weight).numpy()).max() < 1e-3
    times = {"dense": median_ms(lambda: torch.nn.functional.linear(x, weight)),
             "torch CSR": median_ms(lambda: torch.sparse.mm(csr, x.T)),
             "scipy CSR": median_ms(lambda: matrix @ x.numpy().T),
             "numba tiled8": median_ms(numba_tiled)}
    if batch == 1:
        out = np.empty(4096, np.float32)
        times["numba row dot"] = median_ms(lambda: row_dot(indptr, indices, data, x.numpy()[0], out))
    return times


def main() -> None:
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()}")
    g = torch.Generator().manual_seed(0)
    for sparsity in (0.95, 0.99):
        weight = torch.randn(4096, 4096, generator=g) * (torch.rand(4096, 4096, generator=g) >= sparsity)
        for batch in (1, 16, 256):
            times = measure(weight, torch.randn(batch, 4096, generator=g))
            print(f"sparsity {sparsity:.0%} batch {batch}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in times.items()),
                  flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
