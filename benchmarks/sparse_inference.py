"""Where is my speed-up? Dense vs torch CSR vs scipy CSR vs kernels chosen by measurement, side by side.

Part 1 (issue 12): one 4096 × 4096 linear layer and a 3-layer 4096-wide ReLU MLP, random unstructured
sparsity 90 / 95 / 99 %, batch 1 / 16 / 256, 1 and 2 threads. Part 2: LeNet-300-100 after class-blinded
pruning. Columns:

- dense: ``F.linear`` with the zeros;
- torch CSR: :func:`sparsewire.inference.sparsify` (``torch.sparse`` CSR);
- scipy CSR: scipy's CSR product for every layer;
- numba CSR: the compiled CSR loops of :mod:`sparsewire.inference.compiled` for every layer (needs numba:
  ``pip install sparsewire[kernels]``);
- ours: :func:`sparsewire.inference.measured` (per layer and batch bucket the fastest of dense, CSR with
  int64/int32 indices, BSR where blocks are sparse, scipy CSR and numba CSR; chosen before timing).

All are timed in interleaved rounds in one process (median); speed-up = dense / method (> 1 is faster).

    python benchmarks/sparse_inference.py [--rounds 5] [--threads 1 2] [--out benchmarks/results/sparse_inference.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch
from torch import nn

from sparsewire import prune
from sparsewire.inference import measured, sparsify
from sparsewire.inference.kernels import candidate_kernels
from sparsewire.layer_sparsity import measure_latency
from sparsewire.models import MLP, lenet_300_100

RESULTS = Path(__file__).parent / "results" / "sparse_inference.md"
METHODS = ("dense", "torch CSR", "scipy CSR", "numba CSR", "ours")


class KernelNet(nn.Module):
    """The MLP with every layer through one candidate kernel (``scipy-csr``, ``numba-csr``)."""

    def __init__(self, model: MLP, kernel: str) -> None:
        super().__init__()
        self.kernels = [candidate_kernels(layer.weight, layer.bias)[kernel] for layer in model.layers]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for i, kernel in enumerate(self.kernels):
            x = kernel(x)
            if i < len(self.kernels) - 1:
                x = torch.relu(x)
        return x


def random_sparse(sizes: list[int], sparsity: float, seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    model = MLP(sizes).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.mul_(torch.rand(layer.weight.shape, generator=g) >= sparsity)
    return model


def race(models: dict[str, nn.Module], batch: int, features: int, rounds: int) -> dict[str, float]:
    lat = measure_latency(models, (features,), (batch,), rounds=rounds, inner=max(1, 16 // batch), warmup=1)
    return {m.model: m.median_s for m in lat}


def row(label: str, sparsity: float, batch: int, threads: int, t: dict[str, float], chosen: str) -> str:
    cells = " | ".join(f"{1e3 * t[m]:.3f}" for m in METHODS)
    speed = " | ".join(f"{t['dense'] / t[m]:.2f}×" for m in METHODS[1:])
    return f"| {label} | {sparsity:.0%} | {batch} | {threads} | {cells} | {speed} | {chosen} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    load_before, start = os.getloadavg(), time.perf_counter()
    header = ("| network | sparsity | batch | threads | " + " | ".join(f"{m} ms" for m in METHODS) + " | " +
              " | ".join(METHODS[1:]) + " | ours chose (per layer) |")
    lines = [header, "|---" * (4 + 2 * len(METHODS)) + "|"]
    w = args.width
    nets = [(f"{w}² layer", [w, w]), (f"3-layer {w}-wide MLP", [w, w, w, w])]
    for threads in args.threads:
        torch.set_num_threads(threads)
        for label, sizes in nets:
            for sparsity in (0.9, 0.95, 0.99):
                model = random_sparse(sizes, sparsity)
                for batch in (1, 16, 256):
                    ours = measured(model, batch_sizes=(batch,))
                    chosen = ", ".join(layer.choice[(batch,)] for layer in ours.layers)
                    models = {"dense": model, "torch CSR": sparsify(model, 0.0), "scipy CSR": KernelNet(model, "scipy-csr"),
                              "numba CSR": KernelNet(model, "numba-csr"),
                              "ours": ours}
                    t = race(models, batch, sizes[0], args.rounds)
                    lines.append(row(label, sparsity, batch, threads, t, chosen))
                    print(lines[-1], flush=True)
    torch.set_num_threads(1)
    lenet = [header, lines[1]]
    for sparsity in (0.9, 0.95, 0.99):
        torch.manual_seed(0)
        model = lenet_300_100().eval()
        prune(model, sparsity, "class-blinded")
        for batch in (1, 256):
            ours = measured(model, batch_sizes=(batch,))
            chosen = ", ".join(layer.choice[(batch,)] for layer in ours.layers)
            models = {"dense": model, "torch CSR": sparsify(model, 0.0), "scipy CSR": KernelNet(model, "scipy-csr"),
                      "numba CSR": KernelNet(model, "numba-csr"), "ours": ours}
            t = race(models, batch, 784, 4 * args.rounds)
            lenet.append(row("LeNet-300-100", sparsity, batch, 1, t, chosen))
            print(lenet[-1], flush=True)
    load_after, minutes = os.getloadavg(), (time.perf_counter() - start) / 60
    text = [
        "# Sparse inference: dense vs torch CSR vs scipy CSR vs kernels chosen by measurement",
        "",
        f"Command: `python benchmarks/sparse_inference.py --rounds {args.rounds} --threads "
        f"{' '.join(map(str, args.threads))} --width {args.width}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work, torch {torch.__version__}; "
        f"{minutes:.1f} min; load average (1/5/15 min) {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f} "
        f"before, {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} after. Median of {args.rounds} "
        "interleaved rounds (LeNet: 4×); times in ms per forward pass; speed-up = dense / method.",
        "",
        "## Random unstructured sparsity, 4096-wide",
        "",
        *lines,
        "",
        "## LeNet-300-100 after class-blinded pruning (1 thread)",
        "",
        *lenet,
    ]
    Path(args.out).write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
