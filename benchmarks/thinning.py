"""What thinning buys on pruned MNIST networks: parameters, FLOPs and latency of the thinned network vs dense.

LeNet-300-100 and LeNet-5 are trained briefly on MNIST (shipped data; ``--epochs``, ``--train-limit``),
pruned one-shot with ``sparsewire.prune(model, c, "class-blinded")`` at 90 % and 95 %, and thinned with
:func:`sparsewire.thinning.thin`. The dense network, the pruned (masked, same dense compute) and the thinned
one are timed side by side in interleaved rounds (:func:`sparsewire.layer_sparsity.measure_latency`), one thread,
batch 1 and 256. Outputs of thinned vs pruned are checked to agree (1e-5) and test accuracy is reported.

    python benchmarks/thinning.py [--epochs 1] [--train-limit 20000] [--rounds 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import torch

import sparsewire
from sparsewire.data import load_dataset
from sparsewire.layer_sparsity import measure_latency
from sparsewire.models import lenet_300_100
from sparsewire.models.conv import LeNet5
from sparsewire.thinning import count_flops, count_parameters, thin
from sparsewire.training import TrainConfig, evaluate, train

RESULTS = Path(__file__).parent / "results" / "thinning.md"


def nonzero(model: torch.nn.Module) -> int:
    return sum(int((p != 0).sum()) for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist", train_limit=args.train_limit)
    shape = tuple(data.train[0].shape[1:])
    load_before = os.getloadavg()
    rows = []
    for name, make in [("LeNet-300-100", lenet_300_100), ("LeNet-5", LeNet5)]:
        torch.manual_seed(0)
        dense = make()
        train(dense, data.train, TrainConfig(epochs=args.epochs, batch_size=128), seed=0)
        dense.eval()
        for compression in (0.9, 0.95):
            pruned = make()
            pruned.load_state_dict(dense.state_dict())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sparsewire.prune(pruned, compression, "class-blinded")
            pruned.eval()
            start = time.perf_counter()
            thinned = thin(pruned)
            thin_s = time.perf_counter() - start
            x = data.test[0][:512]
            with torch.no_grad():
                diff = float((thinned(x) - pruned(x)).abs().max())
            lat = measure_latency({"dense": dense, "pruned": pruned, "thinned": thinned}, shape, (1, 256),
                                  rounds=args.rounds)
            t = {(m.model, m.batch_size): m.median_s for m in lat}
            example = torch.rand(1, *shape)
            rows.append({
                "model": name, "sparsity": compression,
                "params": count_parameters(dense), "nonzero": nonzero(pruned),
                "thinned_params": count_parameters(thinned),
                "flops": count_flops(dense, example), "thinned_flops": count_flops(thinned, example),
                "acc_pruned": evaluate(pruned, data.test)["accuracy"],
                "acc_thinned": evaluate(thinned, data.test)["accuracy"], "max_diff": diff, "thin_s": thin_s,
                **{f"{m}_b{b}_us": 1e6 * t[m, b] for m in ("dense", "thinned") for b in (1, 256)},
                "shape": str(thinned.sizes if hasattr(thinned, "sizes") else
                             [thinned.features[0].out_channels, thinned.features[3].out_channels,
                              thinned.classifier[1].out_features, thinned.classifier[3].out_features]),
            })
            print(rows[-1], flush=True)
    load_after = os.getloadavg()
    lines = [
        "# Thinning pruned MNIST networks: parameters, FLOPs, latency vs dense",
        "",
        f"Command: `python benchmarks/thinning.py --epochs {args.epochs} --train-limit {args.train_limit} "
        f"--rounds {args.rounds} --threads {args.threads}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), torch {torch.__version__}, "
        f"{args.threads} thread(s); load average (1/5/15 min) {load_before[0]:.2f}/{load_before[1]:.2f}/"
        f"{load_before[2]:.2f} before, {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} after.",
        "",
        f"Trained {args.epochs} epoch(s) on {args.train_limit} MNIST images (Adam 1e-3, batch 128), pruned one-shot "
        "class-blinded (magnitude, one global threshold), no re-training, then `thin()`. Latency: median of "
        f"{args.rounds} interleaved rounds; speed-up = dense / thinned. Parameters count every entry; FLOPs are "
        "dense FLOPs per example of the (thinned) network.",
        "",
        "| model | sparsity | params dense | non-zero after pruning | params thinned | thinned widths | FLOPs dense | "
        "FLOPs thinned | test acc pruned | test acc thinned | max |Δ| | dense b1 µs | thinned b1 µs | speed-up b1 | "
        "dense b256 µs | thinned b256 µs | speed-up b256 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['sparsity']:.0%} | {r['params']:,} | {r['nonzero']:,} | {r['thinned_params']:,} | "
            f"{r['shape']} | {r['flops']:,} | {r['thinned_flops']:,} | {r['acc_pruned']:.4f} | {r['acc_thinned']:.4f} | "
            f"{r['max_diff']:.1e} | {r['dense_b1_us']:.1f} | {r['thinned_b1_us']:.1f} | "
            f"{r['dense_b1_us'] / r['thinned_b1_us']:.2f}× | {r['dense_b256_us']:.0f} | {r['thinned_b256_us']:.0f} | "
            f"{r['dense_b256_us'] / r['thinned_b256_us']:.2f}× |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
