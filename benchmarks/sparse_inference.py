"""Where is my speed-up? Inference latency of a pruned LeNet-300-100: dense (masked) vs sparse CSR layers.

For each compression (class-blinded magnitude pruning of a trained-shape network), times the masked
dense model and its :func:`sparsewire.inference.sparsify` copy side by side in one process
(interleaved rounds, median), at batch sizes 1 and 256.

    python benchmarks/sparse_inference.py [--rounds 200] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from sparsewire import prune
from sparsewire.inference import sparsify
from sparsewire.models import lenet_300_100

RESULTS = Path(__file__).parent / "results" / "sparse_inference.md"


def timed(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    model(x)
    return time.perf_counter() - start


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lines = [
        "# Sparse inference: what pruning buys at run time (LeNet-300-100)",
        "",
        f"Command: `python benchmarks/sparse_inference.py --rounds {args.rounds} --threads {args.threads}`",
        f"Machine: {platform.machine()} CPU, {args.threads} torch thread(s), torch {torch.__version__}. Median of "
        f"{args.rounds} interleaved forward passes; ratio = sparse CSR time / dense masked time (< 1 is faster).",
        "",
        "| compression | batch | dense masked (µs) | sparse CSR (µs) | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for compression in [0.5, 0.8, 0.9, 0.95, 0.98, 0.99]:
        torch.manual_seed(0)
        dense = lenet_300_100().eval()
        prune(dense, compression, "class-blinded")
        sparse = sparsify(dense, min_sparsity=0.0)
        for batch in [1, 256]:
            x = torch.randn(batch, 784)
            times: dict[str, list[float]] = {"dense": [], "sparse": []}
            for _ in range(10):
                timed(dense, x), timed(sparse, x)
            for r in range(args.rounds):
                order = [("dense", dense), ("sparse", sparse)]
                for name, model in order if r % 2 == 0 else order[::-1]:
                    times[name].append(timed(model, x))
            d, s = statistics.median(times["dense"]), statistics.median(times["sparse"])
            lines.append(f"| {compression:.2f} | {batch} | {1e6 * d:.1f} | {1e6 * s:.1f} | {s / d:.2f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
