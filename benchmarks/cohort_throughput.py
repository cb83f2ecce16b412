"""Cohort throughput on Reber prior networks: one network at a time vs cohorts of 8 / 32 / 128.

The networks are the authors' (Stier, Darji & Granitzer 2021, configs/reber-structure-paper.yaml): GRU or
LSTM GraphRNNs from Barabási–Albert (m = n // 10) and connected Watts–Strogatz (k = n // 5, p = 1) priors,
n uniform in 10..50, edge-order orientation, first-layer embedding, read-out at the padded batch's last step,
the full training set (18,250 strings after the validation split used here is 0) in batches of 128, Adam,
gradient clipping. Each configuration runs in its own subprocess (so its peak memory is its own) and times
``--steps`` full training steps (forward, backward, clipping, optimizer step, masks) after one warm-up step:

* one at a time: ``sparsewire.training``'s step on each network of a pool, one after another;
* cohort of N: one :class:`~sparsewire.cohorts.RecurrentCohort` step over N networks of the pool.

Network-epochs per hour = 3600 / (seconds per network-batch × batches per epoch). The ratio is measured
in the same run on the same networks and batches.

    python benchmarks/cohort_throughput.py [--cells gru lstm] [--sizes 8 32 128] [--threads 1 2] [--steps 3]

Writes benchmarks/results/cohort_throughput.md. On a GPU machine (the short GPU check; not part of CI):

    python benchmarks/cohort_throughput.py --device cuda --sizes 32 128 512 --threads 1 --out gpu.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "n/a"
OUT = ROOT / "benchmarks" / "results" / "cohort_throughput.md"


def networks(cell: str, count: int, readout: str):
    import numpy as np

    from sparsewire.graphs.priors import generate
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    rng = np.random.default_rng(0)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(out) < count:
            i = len(out)
            n = int(rng.integers(10, 51))
            if i % 2 == 0:
                graph = generate("barabasi-albert", n, seed=i, m=max(1, n // 10))
            else:
                graph = generate("connected-watts-strogatz", n, seed=i, k=max(2, n // 5), p=1.0, tries=10)
            out.append(GraphRecurrentClassifier(graph, cell, 2, vocab_size=27, embedding_dim="first-layer", seed=i,
                                                readout=readout, padding_embedding="learned"))
    return out


def measure(cell: str, size: int, threads: int, steps: int, readout: str, device: str = "cpu") -> dict:
    """Seconds per network-batch of one configuration (``size == 1``: one network at a time)."""
    import torch
    import torch.nn.functional as F

    from sparsewire.cohorts import CohortOptimizer, RecurrentCohort, clip_member_grads, member_losses
    from sparsewire.masks import Masks
    from sparsewire.reber.config import ReberDataConfig
    from sparsewire.training import TrainConfig
    from sparsewire.training.loop import batches, make_optimizer

    torch.set_num_threads(threads)
    splits = ReberDataConfig(val_size=0).load()
    data = [[t.to(device) for t in batch] for batch in batches(splits.train, 128, torch.Generator().manual_seed(0))]
    config = TrainConfig(epochs=1, batch_size=128, optimizer="adam", lr=1e-3, grad_clip=5.0)
    pool = [model.to(device) for model in networks(cell, max(size, 8), readout)]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if size == 1:  # one at a time: time `steps` steps of every network of a pool of 8
        seconds = 0.0
        for model in pool[:8]:
            masks = Masks.of(model)
            optimizer = make_optimizer(model, config)
            masks.bind(optimizer)
            for i, (*inputs, target) in enumerate(data[:steps + 1]):
                tick = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                F.cross_entropy(model(*inputs), target).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                sync()
                if i:
                    seconds += time.perf_counter() - tick
        per_network_batch = seconds / (8 * steps)
    else:
        cohort = RecurrentCohort(pool[:size])
        optimizer = CohortOptimizer(cohort, config)
        seconds = 0.0
        for i, (*inputs, target) in enumerate(data[:steps + 1]):
            tick = time.perf_counter()
            optimizer.zero_grad()
            member_losses(cohort(*inputs), target).sum().backward()
            clip_member_grads(cohort, config.grad_clip)
            optimizer.step()
            cohort.apply_masks()
            sync()
            if i:
                seconds += time.perf_counter() - tick
        per_network_batch = seconds / (size * steps)
    members = pool[:max(size, 8)] if size > 1 else pool[:8]
    macs = sum(p.numel() for m in members for n, p in m.named_parameters() if "weight_" in n) / len(members)
    columns = sum(int(t[0].shape[0]) * int(t[1].max()) for t in data[1:steps + 1]) / steps  # strings × steps per batch
    flops = 6 * macs * columns  # multiply-adds of the recurrent products, forward (2) and backward (4)
    return {"cell": cell, "size": size, "threads": threads, "readout": readout, "device": device,
            "product_gflop_per_network_batch": flops / 1e9, "achieved_gflops": flops / 1e9 / per_network_batch, "batches_per_epoch": len(data),
            "per_network_batch_ms": 1000 * per_network_batch,
            "network_epochs_per_hour": 3600 / (per_network_batch * len(data)),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["gru", "lstm"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[8, 32, 128])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--readout", default="last-step", choices=["last-step", "last-valid"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (the GPU check: --device cuda)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        cell, size, threads, readout = args.one
        print(json.dumps(measure(cell, int(size), int(threads), args.steps, readout, args.device)))
        return
    rows = []
    for cell in args.cells:
        for threads in args.threads:
            for size in [1, *args.sizes]:
                done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--device", args.device,
                                       "--one", cell, str(size), str(threads), args.readout],
                                      capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), flush=True)
    write(rows, args)


def write(rows: list[dict], args) -> None:
    import pandas as pd

    table = pd.DataFrame(rows)
    base = table[table["size"] == 1].set_index(["cell", "threads"])["network_epochs_per_hour"]
    table["speed-up"] = [row.network_epochs_per_hour / base[(row.cell, row.threads)] for row in table.itertuples()]
    table["networks"] = table["size"].map(lambda s: "one at a time" if s == 1 else f"cohort of {s}")
    shown = table[["cell", "threads", "networks", "per_network_batch_ms", "network_epochs_per_hour", "speed-up",
                   "achieved_gflops", "peak_rss_mib"]].round({"per_network_batch_ms": 1, "network_epochs_per_hour": 0,
                                                              "speed-up": 1, "achieved_gflops": 2, "peak_rss_mib": 0})
    gflop = float(table["product_gflop_per_network_batch"].mean())
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    command = (f"python benchmarks/cohort_throughput.py --cells {' '.join(args.cells)} --sizes "
               f"{' '.join(map(str, args.sizes))} --threads {' '.join(map(str, args.threads))} --steps {args.steps} "
               f"--readout {args.readout} --device {args.device}")
    text = [
        "# Cohort throughput: Reber prior networks", "",
        f"`{command}` on {cpu}, {len(__import__('os').sched_getaffinity(0))} cores, torch "
        f"{__import__('torch').__version__}, {time.strftime('%Y-%m-%d')}.", "",
        "The authors' networks and recipe (configs/reber-structure-paper.yaml): GraphRNNs from BA and connected WS "
        "priors with 10–50 nodes, first-layer embedding, read-out "
        f"`{args.readout}`, full training set in batches of 128, Adam, clipping. Each row times "
        f"{args.steps} full training steps after a warm-up in its own process; one at a time = 8 networks, each "
        "trained alone with the plain training step. Network-epochs per hour = 3600 / (s per network-batch × "
        "batches per epoch). Peak RSS is the whole process (data included).", "",
        shown.to_markdown(index=False), "",
        f"The recurrent products alone are {gflop:.3f} GFLOP per network-batch (6 × the dense-block multiply-adds "
        "of W_ih and W_hh × strings × padded steps); `achieved_gflops` is that over the measured time, i.e. how "
        "close each row comes to spending its time on arithmetic rather than on per-call overhead.",
        f"Load average before the run: {LOAD}.", "",
    ]
    args.out.write_text("\n".join(text))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
