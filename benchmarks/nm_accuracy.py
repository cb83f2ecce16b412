"""The accuracy cost of 2:4 sparsity vs unstructured class-blinded pruning at the same 50 %, on MNIST and
Fashion-MNIST, 784-100-10 ReLU MLP, with re-training.

Per dataset and seed: train the dense network, prune a copy with ``"class-blinded"`` (magnitude, one global
threshold) and a copy with ``"2:4"`` (magnitude, 2 of every 4 consecutive inputs of every row), both at 50 %,
then re-train each with its mask fixed (same recipe, same batch order). Test accuracy of the dense network,
of each pruned network before and after re-training. Writes ``benchmarks/results/nm_accuracy.md``.

    python benchmarks/nm_accuracy.py [--seeds 0 1 2] [--epochs 5] [--retrain-epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import torch

import sparsewire
from sparsewire.data import load_dataset
from sparsewire.models import mlp_100
from sparsewire.training import TrainConfig, evaluate, train

RESULTS = Path(__file__).parent / "results" / "nm_accuracy.md"
METHODS = ("class-blinded", "2:4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--retrain-epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = TrainConfig(epochs=args.epochs, batch_size=64, optimizer="adam", lr=1e-3)
    retrain = config.model_copy(update={"epochs": args.retrain_epochs})
    load_before, start = os.getloadavg(), time.perf_counter()
    rows = []
    for dataset in args.datasets:
        data = load_dataset(dataset, flatten=True)
        for seed in args.seeds:
            torch.manual_seed(seed)
            dense = mlp_100()
            train(dense, data.train, config, seed=seed, progress=False)
            row = {"dataset": dataset, "seed": seed, "dense": evaluate(dense, data.test)["accuracy"]}
            for method in METHODS:
                pruned = mlp_100()
                pruned.load_state_dict(dense.state_dict())
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    masks = sparsewire.prune(pruned, 0.5, method)
                row[f"{method} sparsity"] = masks.sparsity()
                row[f"{method} pruned"] = evaluate(pruned, data.test)["accuracy"]
                train(pruned, data.train, retrain, seed=seed + 1000, masks=masks, progress=False)
                row[f"{method} retrained"] = evaluate(pruned, data.test)["accuracy"]
            rows.append(row)
            print(row, flush=True)
    load_after, minutes = os.getloadavg(), (time.perf_counter() - start) / 60

    def cell(dataset: str, key: str) -> str:
        values = [r[key] for r in rows if r["dataset"] == dataset]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{100 * statistics.mean(values):.2f} ± {100 * sd:.2f}"

    lines = [
        "# 2:4 vs unstructured (class-blinded) pruning at 50 %: accuracy cost",
        "",
        f"Command: `python benchmarks/nm_accuracy.py --datasets {' '.join(args.datasets)} --seeds "
        f"{' '.join(map(str, args.seeds))} --epochs {args.epochs} --retrain-epochs {args.retrain_epochs} "
        f"--threads {args.threads}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), torch {torch.__version__}; "
        f"{minutes:.1f} min; load average (1/5/15 min) {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f} "
        f"before, {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} after.",
        "",
        f"784-100-10 ReLU MLP (`mlp_100`), Adam 1e-3, batch 64, {args.epochs} epochs dense; one-shot pruning to 50 % "
        f"sparsity of both weight matrices; {args.retrain_epochs} epochs re-training with the mask fixed. "
        "Test accuracy in %, mean ± sample sd over the seeds (50k train / 10k val split, seed 0; test set 10k).",
        "",
        "| dataset | dense | class-blinded 50 % pruned | class-blinded 50 % re-trained | 2:4 pruned | 2:4 re-trained | "
        "2:4 − class-blinded (re-trained) |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in args.datasets:
        gap = [r["2:4 retrained"] - r["class-blinded retrained"] for r in rows if r["dataset"] == dataset]
        gap_sd = statistics.stdev(gap) if len(gap) > 1 else 0.0
        lines.append(f"| {dataset} | {cell(dataset, 'dense')} | {cell(dataset, 'class-blinded pruned')} | "
                     f"{cell(dataset, 'class-blinded retrained')} | {cell(dataset, '2:4 pruned')} | "
                     f"{cell(dataset, '2:4 retrained')} | {100 * statistics.mean(gap):+.2f} ± {100 * gap_sd:.2f} |")
    lines += ["", "Per seed:", "", "| dataset | seed | dense | cb pruned | cb re-trained | 2:4 pruned | 2:4 re-trained |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['seed']} | {100 * r['dense']:.2f} | {100 * r['class-blinded pruned']:.2f} | "
                     f"{100 * r['class-blinded retrained']:.2f} | {100 * r['2:4 pruned']:.2f} | "
                     f"{100 * r['2:4 retrained']:.2f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
