"""Cohort throughput on MLP priors (MNIST): one network at a time vs cohorts of 8 / 32 / 128.

The networks are those of configs/prior-mnist.yaml (Stier, Darji & Granitzer 2021): GraphNetworks built from
Watts–Strogatz (k = 4, p = 0.3) and Barabási–Albert (m = 2) graphs of 50, 200 and 800 nodes, ReLU, input
attached to the sources, output read from the sinks, trained with Adam (lr 1e-3) in batches of 128 on the
50,000-image MNIST training split, loaded through the study's own data loader. Network ``i`` of the pool is
kind ``i mod 6`` (generator × size) with seed ``i``, so every cohort mixes all sizes. Both orientations are
measured: ``edge-order`` (the study's default; deep, narrow layers) and ``random`` (configs/prior-mnist.yaml;
shallow, wide first layers).

Everything runs in one process, one thread, on the same batches. A *training step* is the full step:
forward, loss, backward, optimizer step and masks re-applied (the plain ``sparsewire.training`` step one at a
time; one cohort step, :class:`~sparsewire.cohorts.FeedForwardCohort` and, for comparison,
:class:`~sparsewire.cohorts.DenseFeedForwardCohort`). Each configuration times ``--steps`` steps after one
warm-up step, ``--repeats`` times, and keeps the fastest block (the machine is shared; the minimum is the
least disturbed). One at a time is timed on ``--alone`` networks of every kind; a cohort's one-at-a-time time
is the sum of its members' kind means, so each speed-up compares the same networks; they are timed before
and after the cohorts and each keeps its fastest time (so interference during one pass cannot inflate a
speed-up). Network-epochs per hour
= 3600 / (seconds per network-batch × 391 batches). Peak memory: the process's peak RSS during the
configuration (VmHWM, reset before each through /proc/self/clear_refs to the current RSS, which keeps what
the allocator held on to from earlier rows; data and interpreter included).

    python benchmarks/cohort_throughput_mlp.py [--sizes 8 32 128] [--threads 1] [--steps 5] [--repeats 3]

Writes benchmarks/results/cohort_throughput_mlp.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import warnings
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from sparsewire.cohorts import CohortOptimizer, DenseFeedForwardCohort, FeedForwardCohort, member_losses
from sparsewire.graphs.feedforward import GraphNetwork
from sparsewire.graphs.priors import generate
from sparsewire.masks import Masks
from sparsewire.studies.common import DatasetConfig, load_splits
from sparsewire.training import TrainConfig
from sparsewire.training.loop import batches, make_optimizer

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cohort_throughput_mlp.md"
KINDS = [(g, n) for n in (50, 200, 800) for g in ("watts-strogatz", "barabasi-albert")]
PARAMS = {"watts-strogatz": {"k": 4, "p": 0.3}, "barabasi-albert": {"m": 2}}
CONFIG = TrainConfig(epochs=1, batch_size=128, optimizer="adam", lr=1e-3)


def network(i: int, orientation: str) -> GraphNetwork:
    generator, nodes = KINDS[i % len(KINDS)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GraphNetwork(generate(generator, nodes, seed=i, **PARAMS[generator]), 784, 10, seed=i,
                            outputs="sinks", orientation=orientation)


def reset_peak() -> None:
    """Start a new peak-RSS window (Linux: VmHWM restarts from the current RSS)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(step, steps: int, repeats: int) -> float:
    """Fastest mean seconds per step over ``repeats`` blocks of ``steps`` steps (after one warm-up step)."""
    step()
    best = float("inf")
    for _ in range(repeats):
        tick = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - tick) / steps)
    return best


def time_alone(model: GraphNetwork, data, steps: int, repeats: int) -> float:
    """Seconds per training step of ``model`` alone (the plain training step)."""
    optimizer = make_optimizer(model, CONFIG)
    Masks.of(model).bind(optimizer)
    batches_ = iter(data * (1 + (repeats * steps + 1) // len(data)))

    def step() -> None:
        x, target = next(batches_)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), target).backward()
        optimizer.step()

    return timed(step, steps, repeats)


def time_cohort(build, models: list[GraphNetwork], data, steps: int, repeats: int) -> float:
    """Seconds per cohort training step."""
    cohort = build(models)
    optimizer = CohortOptimizer(cohort, CONFIG)
    batches_ = iter(data * (1 + (repeats * steps + 1) // len(data)))

    def step() -> None:
        x, target = next(batches_)
        optimizer.zero_grad()
        member_losses(cohort(x), target).sum().backward()
        optimizer.step()
        cohort.apply_masks()

    return timed(step, steps, repeats)


def run(orientation: str, sizes: list[int], steps: int, repeats: int, alone: int, data) -> list[dict]:
    """One orientation's rows. The networks alone are timed before and after the cohorts and each keeps its
    fastest time (conservative: interference that slowed one pass does not inflate the speed-ups)."""
    per_epoch = len(data)
    pool = [network(i, orientation) for i in range(alone * len(KINDS))]
    states = [{k: v.clone() for k, v in model.state_dict().items()} for model in pool]
    fastest = [float("inf")] * len(pool)
    peaks = [0.0] * len(KINDS)

    def time_pool() -> None:
        for i, model in enumerate(pool):
            model.load_state_dict(states[i])
            reset_peak()
            fastest[i] = min(fastest[i], time_alone(model, data, steps, repeats))
            peaks[i % len(KINDS)] = max(peaks[i % len(KINDS)], peak_rss_mib())

    time_pool()
    cohort_rows = []
    for size in sizes:
        models = [network(i, orientation) for i in range(size)]
        for build in (FeedForwardCohort, DenseFeedForwardCohort):
            reset_peak()
            seconds = time_cohort(build, models, data, steps, repeats)
            label = "cohort" if build is FeedForwardCohort else "dense cohort"
            cohort_rows.append({"orientation": orientation, "networks": f"{label} of {size}", "size": size,
                                "seconds": seconds, "peak_rss_mib": peak_rss_mib()})
            print(cohort_rows[-1], flush=True)
    time_pool()
    mean = {k: sum(fastest[k::len(KINDS)]) / alone for k in range(len(KINDS))}
    rows = [{"orientation": orientation, "networks": f"alone: {generator} {nodes}", "per_network_batch_ms": 1000 * mean[k],
             "network_epochs_per_hour": 3600 / (mean[k] * per_epoch), "speed-up": None, "peak_rss_mib": peaks[k]}
            for k, (generator, nodes) in enumerate(KINDS)]
    average = sum(mean.values()) / len(mean)
    rows.append({"orientation": orientation, "networks": "one at a time (mean of the 6 kinds)",
                 "per_network_batch_ms": 1000 * average, "network_epochs_per_hour": 3600 / (average * per_epoch),
                 "speed-up": 1.0, "peak_rss_mib": None})
    for row in cohort_rows:
        size, seconds = row.pop("size"), row.pop("seconds")
        alone_seconds = sum(mean[i % len(KINDS)] for i in range(size))
        rows.append(row | {"per_network_batch_ms": 1000 * seconds / size,
                           "network_epochs_per_hour": 3600 * size / (seconds * per_epoch), "speed-up": alone_seconds / seconds})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[8, 32, 128])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--alone", type=int, default=2, help="networks of every kind timed one at a time")
    parser.add_argument("--orientation", nargs="+", default=["edge-order", "random"], choices=["edge-order", "random"])
    parser.add_argument("--data-dir", default=None, help="where MNIST lies (default: the study's search path)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_splits(DatasetConfig(name="mnist", data_dir=args.data_dir, val_size=10000, download=False))
    data = [[x.flatten(1), y] for x, y in batches(splits.train, 128, torch.Generator().manual_seed(0))]
    start, load = time.perf_counter(), os.getloadavg()
    rows = [row for o in args.orientation for row in run(o, args.sizes, args.steps, args.repeats, args.alone, data)]
    write(pd.DataFrame(rows), args, len(data), time.perf_counter() - start, (load, os.getloadavg()))


def machine() -> str:
    """The CPU model (as ``lscpu`` names it) and the cores this process may use."""
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = "unknown CPU"
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def write(table: pd.DataFrame, args, per_epoch: int, seconds: float, loads) -> None:
    shown = table.astype(object).where(table.notna(), "")
    for column, digits in [("per_network_batch_ms", 2), ("network_epochs_per_hour", 0), ("speed-up", 1), ("peak_rss_mib", 0)]:
        shown[column] = [value if value == "" else round(float(value), digits) for value in shown[column]]
    command = (f"python benchmarks/cohort_throughput_mlp.py --sizes {' '.join(map(str, args.sizes))} --threads {args.threads} "
               f"--steps {args.steps} --repeats {args.repeats} --alone {args.alone} --orientation {' '.join(args.orientation)}")
    (before, after) = loads
    args.out.write_text("\n".join([
        "# Cohort throughput: MLP priors on MNIST", "",
        f"`{command}` on {machine()}, {args.threads} thread(s), torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {seconds:.0f} s. The machine was shared: load average "
        f"{before[0]:.1f} at the start, {after[0]:.1f} at the end (2 cores), so absolute times are inflated; each row "
        f"is the fastest of {args.repeats} blocks, and ratios compare rows of the same run.", "",
        "Networks of configs/prior-mnist.yaml: WS (k=4, p=0.3) and BA (m=2) priors of 50/200/800 nodes, ReLU, "
        f"sinks read out, Adam, batches of 128 of the 50,000-image training split ({per_epoch} batches per epoch), "
        "in both orientations (`edge-order`: the study's default, deep and narrow; `random`: the recorded "
        f"prior-mnist runs, shallow with wide first layers). Each row times {args.steps} full training steps "
        "(forward, backward, Adam, masks) after a warm-up. One at a time: the plain training step on "
        f"{args.alone} networks of each kind, timed before and after the cohorts, each keeping its fastest time "
        "(conservative); a cohort's speed-up divides the summed one-at-a-time time of its own "
        "members (by kind) by its step time. `cohort` is FeedForwardCohort (edge lists, the default), `dense "
        "cohort` DenseFeedForwardCohort (dense blocks, used with gradient clipping). Network-epochs per hour "
        "extrapolate the step time to an epoch (validation passes not included). Peak RSS: the process's peak "
        "during that row (VmHWM, reset before each to the current RSS, which includes what the allocator kept from "
        "earlier rows; data and interpreter ~0.8 GiB).", "",
        shown.to_markdown(index=False), "",
    ]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
