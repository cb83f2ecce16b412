"""GPU smoke test: the quick study (configs/quick.yaml) trained on the GPU, timed against the CPU.

Runs the same study twice in fresh temporary folders, once with ``device=cpu`` and once with
``device=cuda``, and prints the wall time of each and the largest difference in test accuracy between
matching trials (the trial ids are the same: the device is not part of them). Without CUDA it says so
and exits 0. ``--quick`` shrinks the study (1 seed, 2 methods, 2 compressions, 2 + 1 epochs, 10,000
training images) for a check of a few minutes.

    python benchmarks/gpu_smoke.py [--quick] [--threads 1] [--precision fp32|bf16] [--skip-cpu]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["seeds=[0]", "methods=[class-blinded,random]", "compressions=[0.5,0.9]", "train.epochs=2",
         "retrain.epochs=1", "dataset.train_limit=10000"]


def run(device: str, overrides: list[str]) -> tuple[float, dict[str, float]]:
    import pandas as pd

    from sparsewire.studies import load_config, run_study

    study_type, config = load_config(ROOT / "configs" / "quick.yaml", [*overrides, f"device={device}"])
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_study(study_type, config, out, progress=False, echo=lambda _s: None)
        seconds = time.perf_counter() - start
        if summary.failed:
            raise SystemExit(f"{summary.failed} trial(s) failed on {device}; see {out}")
        table = pd.read_csv(Path(out) / "results.csv")
    return seconds, dict(zip(table["trial_id"], table["test_accuracy"], strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a shrunk study (minutes instead of tens of minutes)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="GPU run only")
    parser.add_argument("--skip-cpu", action="store_true", help="time the GPU run alone")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device on this machine (torch "
              f"{torch.__version__}, cuda build: {torch.version.cuda or 'none'}); nothing to measure.")
        return 0
    torch.set_num_threads(args.threads)
    overrides = QUICK if args.quick else []
    gpu_overrides = [*overrides, *([f"train.precision={args.precision}", f"retrain.precision={args.precision}"]
                                   if args.precision != "fp32" else [])]
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} CPU thread(s), "
          f"GPU {torch.cuda.get_device_name(0)}, torch {torch.__version__}; study: configs/quick.yaml "
          f"{' '.join(overrides) or '(as committed)'}")
    gpu_seconds, gpu_acc = run("cuda", gpu_overrides)
    print(f"cuda ({args.precision}): {gpu_seconds:.1f} s for {len(gpu_acc)} trials")
    if args.skip_cpu:
        return 0
    cpu_seconds, cpu_acc = run("cpu", overrides)
    print(f"cpu (fp32): {cpu_seconds:.1f} s for {len(cpu_acc)} trials")
    same_ids = set(cpu_acc) == set(gpu_acc)
    diff = max((abs(cpu_acc[k] - gpu_acc[k]) for k in cpu_acc if k in gpu_acc), default=float("nan"))
    print(f"speed-up cpu/cuda: {cpu_seconds / gpu_seconds:.2f}x; same trial ids: {same_ids}; "
          f"largest test-accuracy difference between matching trials: {diff:.4f}")
    return 0 if same_ids else 1


if __name__ == "__main__":
    sys.exit(main())
