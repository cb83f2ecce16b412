"""Sweep throughput: the same study run sequentially (``--workers 1``) and on a local Ray instance with two
workers (``--workers 2``), in one process, each into a fresh folder; reports wall time, trials per hour
and the ratio. Ray's wall time includes starting the local instance and its worker processes (what a user
waits for). The trials are a small reber-structure sweep (independent trials, no shared cache):
LSTM GraphRNNs from Barabási–Albert priors on a slice of the shipped Reber data.

    python benchmarks/sweep_throughput.py [--trials 8] [--train-limit 400] [--epochs 1]

Writes benchmarks/results/sweep_throughput.md. On a machine that other jobs also load, the load average
before and after each run is recorded next to the numbers; read the ratio in that light.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from sparsewire.studies import run_study, validate
from sparsewire.studies.executors import RayExecutor, make_executor

ROOT = Path(__file__).resolve().parents[1]


def config(trials: int, train_limit: int, epochs: int) -> dict:
    return {
        "study": "reber-structure",
        "name": "sweep-throughput",
        "data": {"val_size": 100, "train_limit": train_limit, "test_limit": 500},
        "cells": ["lstm"],
        "priors": [{"generator": "barabasi-albert", "networks": trials, "min_nodes": 10, "max_nodes": 20}],
        "train": {"epochs": epochs, "batch_size": 64, "lr": 0.01, "grad_clip": 1.0},
    }


def timed(study_type, parsed, out: Path, executor) -> tuple[float, int, tuple[float, float]]:
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    summary = run_study(study_type, parsed, out, executor=executor, progress=False, echo=lambda s: None)
    seconds = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"{summary.failed} trials failed in {out}")
    return seconds, summary.done, (load_before, os.getloadavg()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--train-limit", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sweep_throughput.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    study_type, parsed = validate(config(args.trials, args.train_limit, args.epochs))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, executor in [("sequential (--workers 1)", make_executor(1)), ("Ray, 2 workers (--workers 2)", RayExecutor(2))]:
            seconds, done, load = timed(study_type, parsed, Path(tmp) / label.split()[0], executor)
            rows.append((label, done, seconds, 3600 * done / seconds, load))
            print(f"{label}: {done} trials in {seconds:.1f} s", flush=True)
    ratio = rows[0][2] / rows[1][2]
    command = "python benchmarks/sweep_throughput.py " + " ".join(sys.argv[1:])
    lines = [
        "# Sweep throughput: sequential vs Ray with 2 workers",
        "",
        f"Command: `{command.strip()}`  ",
        f"Machine: 2-core CPU shared with other jobs ({os.cpu_count()} logical CPUs visible), {platform.platform()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}, one torch thread per trial.  ",
        f"Workload: {args.trials} reber-structure trials (LSTM GraphRNN from BA priors with 10-20 nodes, "
        f"{args.train_limit} training strings, {args.epochs} epoch(s), 500 test strings).",
        "",
        "| executor | trials | wall (s) | trials / hour | load avg before → after |",
        "|---|---:|---:|---:|---|",
    ]
    for label, done, seconds, per_hour, (before, after) in rows:
        lines.append(f"| {label} | {done} | {seconds:.1f} | {per_hour:.0f} | {before:.2f} → {after:.2f} |")
    lines += ["", f"**Speed-up of Ray (2 workers) over sequential: {ratio:.2f}×** (wall-time ratio, Ray start-up included).", ""]
    Path(args.out).write_text("\n".join(lines))
    print(f"ratio {ratio:.2f}; wrote {args.out}")


if __name__ == "__main__":
    main()
