"""2:4 semi-structured sparsity on a GPU: the 4096-wide 3-layer MLP pruned 2:4 vs dense, fp16 and bf16.

Prunes ``MLP([4096, 4096, 4096, 4096])`` with ``sparsewire.prune(model, 0.5, "2:4")``, converts it with
:func:`sparsewire.inference.semi_structured.to_semi_structured` and times it against the dense network in the
same dtype (CUDA events, median of ``--rounds`` after warm-up), checking outputs agree. Writes
``benchmarks/results/semi_structured_gpu.md``; without CUDA it records that no GPU was available.

    python benchmarks/semi_structured_gpu.py [--batches 1 16 256 4096] [--rounds 50]
"""

from __future__ import annotations

import argparse
import platform
import statistics
from pathlib import Path

import torch

import sparsewire
from sparsewire.inference.semi_structured import to_semi_structured
from sparsewire.models import MLP

RESULTS = Path(__file__).parent / "results" / "semi_structured_gpu.md"


@torch.inference_mode()
def time_ms(model: torch.nn.Module, x: torch.Tensor, rounds: int) -> float:
    for _ in range(10):
        model(x)
    times = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        model(x)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16, 256, 4096])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    command = (f"`python benchmarks/semi_structured_gpu.py --width {args.width} --batches "
               f"{' '.join(map(str, args.batches))} --rounds {args.rounds}`")
    lines = ["# 2:4 semi-structured sparsity vs dense on a GPU (3-layer MLP)", "", f"Command: {command}", ""]
    if not torch.cuda.is_available():
        lines.append(f"No GPU was available (torch {torch.__version__} on {platform.machine()}, CUDA not available): "
                     "nothing measured. Run this script on a machine with an Ampere-or-later NVIDIA GPU.")
        Path(args.out).write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    torch.manual_seed(0)
    model = MLP([args.width] * 4)
    sparsewire.prune(model, 0.5, "2:4")
    lines += [f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}; median of {args.rounds} runs "
              "(CUDA events) after 10 warm-up runs.", "",
              "| dtype | batch | dense ms | 2:4 ms | speed-up | max abs diff |", "|---|---|---|---|---|---|"]
    notes = []
    for dtype in (torch.float16, torch.bfloat16):
        sparse = to_semi_structured(model, dtype=dtype)
        dense = sparsewire.Masks.of(model).export().to("cuda", dtype).eval()
        for batch in args.batches:
            x = torch.randn(batch, args.width, device="cuda", dtype=dtype)
            with torch.inference_mode():
                diff = float((sparse(x).float() - dense(x).float()).abs().max())
            t_dense, t_sparse = time_ms(dense, x, args.rounds), time_ms(sparse, x, args.rounds)
            lines.append(f"| {str(dtype).removeprefix('torch.')} | {batch} | {t_dense:.3f} | {t_sparse:.3f} | "
                         f"{t_dense / t_sparse:.2f}× | {diff:.2e} |")
            print(lines[-1], flush=True)
        notes.append(f"Converted layers ({dtype}): {sparse.semi_structured}; skipped: {sparse.semi_structured_skipped}")
    lines += ["", *notes]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
