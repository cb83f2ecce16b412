"""Does a stacked cohort pay for same-architecture masked networks on this CPU? (issue 10: ``prune`` and
``dynamic-sparsity`` train many networks of one architecture that differ only in mask and seed.)

For each model (``mlp-100`` = 784-100-10, ``lenet-300-100``, ``lenet5``) ``N`` copies with their own seeds
and random masks at density 0.1 are trained for one epoch on the first ``--examples`` MNIST training images
(batches of 64, Adam 1e-3, no validation) two ways, in one process on the same batches:

- one at a time: :func:`sparsewire.training.train` on every member (the study's path today);
- together: :func:`sparsewire.cohorts.train_cohort` with :class:`~sparsewire.cohorts.StackedCohort`
  (``torch.func.vmap`` over stacked parameters, one optimizer and one mask step per batch).

Both runs start from the same weights and masks; the largest difference of any member's final weights is
reported so the two paths are seen to compute the same thing. Each way is timed ``--repeats`` times and
keeps its fastest run after an untimed warm-up (the machine is shared). Speed-up = one-at-a-time seconds / cohort seconds.

    python benchmarks/cohort_throughput_stacked.py [--sizes 8 32] [--examples 4096] [--threads 1]

Writes benchmarks/results/cohort_throughput_stacked.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time
from pathlib import Path

import pandas as pd
import torch

from sparsewire.cohorts import StackedCohort, train_cohort
from sparsewire.masks import Masks
from sparsewire.models import build_model
from sparsewire.studies.common import DatasetConfig, load_splits
from sparsewire.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cohort_throughput_stacked.md"
CONFIG = TrainConfig(epochs=1, batch_size=64, optimizer="adam", lr=1e-3, restore_best=False)
DENSITY = 0.1


def members(name: str, count: int, input_shape: tuple[int, ...]) -> list[torch.nn.Module]:
    """``count`` models ``name`` with seeds 0.. and random masks at :data:`DENSITY` (seeded)."""
    models = []
    for seed in range(count):
        torch.manual_seed(seed)
        model = build_model(name, input_shape, 10)
        masks = Masks(model)
        generator = torch.Generator().manual_seed(10_000 + seed)
        masks.update({n: torch.rand(m.shape, generator=generator) < DENSITY for n, m in masks.items()})
        models.append(model)
    return models


def fastest(run, repeats: int) -> tuple[float, list[torch.nn.Module]]:
    """The fastest of ``repeats`` timed runs after one untimed warm-up run, and the last run's models."""
    run()
    best, trained = float("inf"), []
    for _ in range(repeats):
        tick = time.perf_counter()
        trained = run()
        best = min(best, time.perf_counter() - tick)
    return best, trained


def measure(name: str, count: int, data, input_shape, repeats: int) -> dict:
    start = members(name, count, input_shape)

    def alone() -> list[torch.nn.Module]:
        models = [copy.deepcopy(m) for m in start]
        for model in models:
            train(model, data, CONFIG, seed=0, masks=Masks.of(model), progress=False)
        return models

    def together() -> list[torch.nn.Module]:
        models = [copy.deepcopy(m) for m in start]
        train_cohort(models, data, CONFIG, build=StackedCohort, seed=0, progress=False)
        return models

    one, solo = fastest(alone, repeats)
    cohort, stacked = fastest(together, repeats)
    diff = max(float((a - b).abs().max()) for x, y in zip(solo, stacked, strict=True)
               for a, b in zip(x.parameters(), y.parameters(), strict=True))
    steps = count * -(-len(data[0]) // CONFIG.batch_size)
    return {"model": name, "networks": count, "one at a time s": round(one, 2), "cohort s": round(cohort, 2),
            "ms per network-batch alone": round(1e3 * one / steps, 2),
            "ms per network-batch cohort": round(1e3 * cohort / steps, 2),
            "speed-up": round(one / cohort, 2), "max weight difference": f"{diff:.1e}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--models", nargs="+", default=["mlp-100", "lenet-300-100", "lenet5"])
    parser.add_argument("--examples", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_splits(DatasetConfig(name="mnist", val_size=0, train_limit=args.examples))
    data = splits.train
    input_shape = tuple(splits.input_shape)
    load = os.getloadavg()
    tick = time.time()
    rows = [measure(name, count, data, input_shape, args.repeats) for name in args.models for count in args.sizes]
    table = pd.DataFrame(rows).to_markdown(index=False)
    after = os.getloadavg()
    command = "python benchmarks/cohort_throughput_stacked.py " + " ".join(
        [f"--sizes {' '.join(map(str, args.sizes))}", f"--examples {args.examples}", f"--repeats {args.repeats}",
         f"--threads {args.threads}"])
    text = (f"# Stacked cohorts for same-architecture masked networks (CPU)\n\n`{command}` on {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, {args.threads} thread(s), torch {torch.__version__}, "
            f"{time.time() - tick:.0f} s; load average {load[0]:.1f} before, {after[0]:.1f} after.\n\n{table}\n")
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
