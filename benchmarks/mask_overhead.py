"""Mask overhead: a masked LeNet-300-100 training epoch vs a dense one, with torch.nn.utils.prune beside.

Each repeat trains one epoch of MNIST (50,000 images) with each variant (same data order, same optimizer).
The epochs are interleaved finely: every block of ``--block`` steps is run by each variant in turn (order
rotating), and a variant's epoch time is the sum of its blocks. On this shared VM whole epochs of the
*same* model vary by ±20% from one to the next, so epoch-by-epoch interleaving could not resolve a 5%
difference; block interleaving exposes all variants to the same load. Reports per-variant median epoch
time and the median of the per-repeat ratios to the dense epoch.

    python benchmarks/mask_overhead.py [--repeats 7] [--threads 1] [--batch-sizes 64 128] [--device cuda]

On a GPU (``--device cuda``) the data lives on the device, every timed block ends with a synchronisation,
and the table goes to ``results/mask_overhead_cuda.md`` (the CPU record stays).
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
from sparsewire.devices import resolve_device
from sparsewire.masks import Masks
from sparsewire.models import lenet_300_100
from sparsewire.pruning import prune

RESULTS = Path(__file__).parent / "results" / "mask_overhead.md"


def make(variant: str, device: str = "cpu") -> tuple[torch.nn.Module, torch.optim.Optimizer, Masks | None]:
    torch.manual_seed(0)
    model = lenet_300_100().to(device)
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


def steps(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
          batches: list[torch.Tensor]) -> float:
    """Seconds for one optimizer step per batch of indices."""
    start = time.perf_counter()
    for idx in batches:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    return time.perf_counter() - start


def measure(x: torch.Tensor, y: torch.Tensor, batch: int, repeats: int, block: int = 20
            ) -> tuple[dict[str, list[float]], bool]:
    """Epoch times of every variant at one batch size (block-interleaved, see the module doc) and whether
    the pruned weights of the sparsewire model are still exactly zero afterwards."""
    variants = ["dense", "sparsewire", "torch.nn.utils.prune"]
    setups = {v: make(v, x.device) for v in variants}
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).to(x.device)
    batches = list(order.split(batch))
    blocks = [batches[i:i + block] for i in range(0, len(batches), block)]
    for v in variants:  # warm-up
        steps(setups[v][0], setups[v][1], x, y, batches[:50])
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(repeats):
        total = dict.fromkeys(variants, 0.0)
        for b, chunk in enumerate(blocks):
            for v in variants[b % 3:] + variants[:b % 3]:
                total[v] += steps(setups[v][0], setups[v][1], x, y, chunk)
        for v in variants:
            times[v].append(total[v])
    masks = setups["sparsewire"][2]
    assert masks is not None
    return times, all(bool((p[~m] == 0).all()) for _, p, m in masks.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--block", type=int, default=20, help="steps per interleaved block")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (auto: CUDA when present)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    splits = load_dataset("mnist", flatten=True)
    x, y = (t.to(device) for t in splits.train)
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    lines = [
        "# Mask overhead (issue 2)",
        "",
        f"Command: `python benchmarks/mask_overhead.py --repeats {args.repeats} --threads {args.threads} "
        f"--batch-sizes {' '.join(map(str, args.batch_sizes))} --block {args.block}"
        f"{'' if device.type == 'cpu' else ' --device ' + args.device}`",
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s){gpu}, "
        f"torch {torch.__version__}; LeNet-300-100, 90% pruned (class-blinded), SGD momentum, one MNIST epoch "
        f"(50,000 images) per measurement, variants interleaved every {args.block} steps. Ratio = median over repeats of the "
        "per-repeat ratio to the dense epoch; overhead per step = (median masked − median dense) / steps.",
        "",
        "| batch | variant | median epoch (s) | median ratio to dense | overhead per step (µs) |",
        "|---:|---|---:|---:|---:|",
    ]
    zeros = []
    for batch in args.batch_sizes:
        times, zeros_kept = measure(x, y, batch, args.repeats, args.block)
        zeros.append(zeros_kept)
        steps = -(-len(x) // batch)
        dense = statistics.median(times["dense"])
        for v, ts in times.items():
            ratios = [t / d for t, d in zip(ts, times["dense"], strict=True)]
            per_step = (statistics.median(ts) - dense) / steps * 1e6
            lines.append(f"| {batch} | {v} | {statistics.median(ts):.3f} | {statistics.median(ratios):.3f} | "
                         f"{per_step:.0f} |")
        print("\n".join(lines[-3:]), flush=True)
    lines += ["", f"Pruned weights still exactly zero after training: {all(zeros)}.", ""]
    out = RESULTS if device.type == "cpu" else RESULTS.with_name(f"mask_overhead_{device.type}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
