"""Inference latency of a collapsed layer-sparse ReLU MLP vs the original, side by side in one process.

For each architecture 784-[w]*H-10, hidden layers 2..H are made non-negative (as the layer penalty leaves
them), so :func:`sparsewire.layer_sparsity.collapse` folds them: the collapsed network is 784-w-10 (1 ReLU left)
and, for the "half" variant, every other hidden layer is non-negative. Outputs are checked to agree.
Both networks are timed in interleaved rounds on the same input (median per model, and the median of
the per-round ratios collapsed/original), so load on the shared machine affects them alike.

    python benchmarks/layer_latency.py [--rounds 200] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from sparsewire.layer_sparsity import collapse, flops, parameter_count
from sparsewire.models import MLP

RESULTS = Path(__file__).parent / "results" / "layer_latency.md"


def network(width: int, hidden: int, nonnegative: list[int]) -> MLP:
    torch.manual_seed(0)
    model = MLP([784, *([width] * hidden), 10]).eval()
    with torch.no_grad():
        for j in nonnegative:
            model.layers[j].weight.abs_()
            model.layers[j].bias.abs_()
    return model


@torch.inference_mode()
def time_pair(original: torch.nn.Module, collapsed: torch.nn.Module, batch: int, rounds: int) -> dict[str, float]:
    x = torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(batch))
    reps = max(1, 256 // batch)
    for m in (original, collapsed):
        for _ in range(10):
            m(x)
    t_orig, t_coll = [], []
    for r in range(rounds):
        pair = [(original, t_orig), (collapsed, t_coll)]
        for m, ts in pair if r % 2 == 0 else reversed(pair):
            start = time.perf_counter()
            for _ in range(reps):
                m(x)
            ts.append((time.perf_counter() - start) / reps)
    ratios = [c / o for c, o in zip(t_coll, t_orig, strict=True)]
    return {"original_us": 1e6 * statistics.median(t_orig), "collapsed_us": 1e6 * statistics.median(t_coll),
            "ratio": statistics.median(ratios), "ratio_q1": statistics.quantiles(ratios, n=4)[0],
            "ratio_q3": statistics.quantiles(ratios, n=4)[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 256])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = []
    for width, hidden in [(32, 8), (128, 8), (32, 6), (32, 10)]:
        cases.append((width, hidden, "all but first", list(range(1, hidden))))
    cases.append((32, 8, "half", list(range(1, 8, 2))))
    lines = [
        "# Layer latency: collapsed vs original ReLU MLP",
        "",
        f"Command: `python benchmarks/layer_latency.py --rounds {args.rounds} --threads {args.threads} "
        f"--batch-sizes {' '.join(map(str, args.batch_sizes))}`  ",
        f"Machine: 2-core CPU shared with other jobs ({platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, {args.threads} intra-op thread(s).  ",
        "Median forward time per batch (µs) over interleaved rounds; ratio = median of per-round "
        "collapsed/original ratios (IQR in brackets); < 1 means the collapsed network is faster. "
        "The collapsed network computes the same outputs (max |difference| relative to max |output| shown).",
        "",
        "| architecture | collapsed ReLUs | linear layers | params | FLOPs/example | batch | original µs | collapsed µs | ratio [IQR] | max rel diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for width, hidden, label, nonneg in cases:
        original = network(width, hidden, nonneg)
        shallow = collapse(original).eval()
        x = torch.randn(512, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            ref = original(x)
            diff = float((shallow(x) - ref).abs().max() / ref.abs().max())
        for b in args.batch_sizes:
            r = time_pair(original, shallow, b, args.rounds)
            lines.append(
                f"| 784-{width}x{hidden}-10 | {label} ({len(nonneg)}) | {len(original.layers)} → {len(shallow.layers)} "
                f"| {parameter_count(original)} → {parameter_count(shallow)} | {flops(original)} → {flops(shallow)} "
                f"| {b} | {r['original_us']:.1f} | {r['collapsed_us']:.1f} "
                f"| {r['ratio']:.3f} [{r['ratio_q1']:.3f}, {r['ratio_q3']:.3f}] | {diff:.1e} |"
            )
            print(lines[-1], flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
