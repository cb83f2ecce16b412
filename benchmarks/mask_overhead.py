"""Mask overhead: a masked LeNet-300-100 training epoch vs a dense one, with torch.nn.utils.prune beside.

Each repeat trains one epoch of MNIST (50,000 images) with each variant in turn (interleaved, same data
order, same optimizer), so the machine's load affects all alike. Reports per-variant median epoch time
and the median of the per-repeat ratios to the dense epoch.

    python benchmarks/mask_overhead.py [--repeats 7] [--threads 1] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.utils import prune as torch_prune

from sparsewire.data import load_dataset
from sparsewire.masks import Masks
from sparsewire.models import lenet_300_100
from sparsewire.pruning import prune

RESULTS = Path(__file__).parent / "results" / "mask_overhead.md"


def make(variant: str) -> tuple[torch.nn.Module, torch.optim.Optimizer, Masks | None]:
    torch.manual_seed(0)
    model = lenet_300_100()
    masks = None
    if variant == "sparsewire":
        masks = prune(model, 0.9, "class-blinded")
    elif variant == "torch.nn.utils.prune":
        params = [(layer, "weight") for layer in model.layers]
        torch_prune.global_unstructured(params, pruning_method=torch_prune.L1Unstructured, amount=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if masks is not None:
        masks.bind(opt)
    return model, opt, masks


def epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for idx in order.split(batch):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_dataset("mnist", flatten=True)
    x, y = splits.train
    variants = ["dense", "sparsewire", "torch.nn.utils.prune"]
    setups = {v: make(v) for v in variants}
    for v in variants:  # warm-up
        epoch(setups[v][0], setups[v][1], x[:5000], y[:5000], args.batch_size)
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(args.repeats):
        for v in variants if r % 2 == 0 else reversed(variants):
            times[v].append(epoch(setups[v][0], setups[v][1], x, y, args.batch_size))
    masks = setups["sparsewire"][2]
    assert masks is not None
    zeros_kept = all(bool((p[~m] == 0).all()) for _, p, m in masks.parameters())
    lines = [
        "# Mask overhead (issue 2)",
        "",
        f"Command: `python benchmarks/mask_overhead.py --repeats {args.repeats} --threads {args.threads} "
        f"--batch-size {args.batch_size}`",
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
        f"torch {torch.__version__}; LeNet-300-100, 90% pruned (class-blinded), SGD momentum, one MNIST epoch "
        f"(50,000 images, batch {args.batch_size}) per measurement, variants interleaved.",
        "",
        "| variant | median epoch (s) | median ratio to dense |",
        "|---|---:|---:|",
    ]
    for v in variants:
        ratios = [t / d for t, d in zip(times[v], times["dense"], strict=True)]
        lines.append(f"| {v} | {statistics.median(times[v]):.3f} | {statistics.median(ratios):.3f} |")
    lines += ["", f"Pruned weights still exactly zero after training: {zeros_kept}.", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
