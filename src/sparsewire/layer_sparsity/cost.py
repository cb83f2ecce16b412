"""What a collapsed network buys: parameters, FLOPs and measured inference latency.

FLOPs count a dense linear layer ``n_in -> n_out`` as ``2·n_in·n_out`` (one multiply and one add per weight)
plus ``n_out`` for the bias, per example; ReLUs and the flatten are not counted. Latency is measured
side by side in one process: the models are timed in interleaved rounds on the same input, so machine
load affects them alike, and the median per model is reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from sparsewire.layer_sparsity.stack import linear_stack


def parameter_count(model: nn.Module) -> int:
    """Weights and biases of the model's linear layers (all entries, zero or not)."""
    stack = linear_stack(model)
    return sum(layer.weight.numel() + (0 if layer.bias is None else layer.bias.numel()) for layer in stack.layers)


def nonzero_parameter_count(model: nn.Module) -> int:
    """Non-zero weights and biases of the model's linear layers."""
    stack = linear_stack(model)
    with torch.no_grad():
        return sum(
            int((layer.weight != 0).sum()) + (0 if layer.bias is None else int((layer.bias != 0).sum()))
            for layer in stack.layers
        )


def flops(model: nn.Module) -> int:
    """Dense FLOPs per example: ``Σ 2·n_in·n_out + n_out`` over the linear layers."""
    stack = linear_stack(model)
    return sum(2 * layer.in_features * layer.out_features + (0 if layer.bias is None else layer.out_features)
               for layer in stack.layers)


@dataclass(frozen=True)
class Latency:
    """Median and interquartile spread (seconds per forward pass) of one model at one batch size."""

    model: str
    batch_size: int
    median_s: float
    q1_s: float
    q3_s: float
    rounds: int


@torch.inference_mode()
def measure_latency(
    models: Mapping[str, nn.Module],
    input_shape: Sequence[int],
    batch_sizes: Sequence[int] = (1, 256),
    *,
    rounds: int = 30,
    inner: int | None = None,
    warmup: int = 5,
    seed: int = 0,
) -> list[Latency]:
    """Forward-pass latency of several models, interleaved round by round on the same random input.

    Args:
        models: name -> model (put in eval mode for the measurement, restored afterwards).
        input_shape: shape of one example (e.g. ``(1, 28, 28)``).
        batch_sizes: batch sizes to time.
        rounds: timed rounds per model and batch size (median reported).
        inner: forward passes per round (default: enough for ~1 ms at batch 1, fewer for larger batches).
        warmup: untimed passes per model before timing.
    """
    if not models:
        raise ValueError("need at least one model to time")
    if rounds < 1 or warmup < 0 or any(b < 1 for b in batch_sizes):
        raise ValueError("rounds and batch sizes must be >= 1, warmup >= 0")
    modes = {name: m.training for name, m in models.items()}
    for m in models.values():
        m.eval()
    generator = torch.Generator().manual_seed(seed)
    out: list[Latency] = []
    try:
        for b in batch_sizes:
            x = torch.rand((b, *input_shape), generator=generator)
            reps = inner if inner is not None else max(1, 64 // b)
            for m in models.values():
                for _ in range(warmup):
                    m(x)
            times: dict[str, list[float]] = {name: [] for name in models}
            for r in range(rounds):
                order = list(models.items()) if r % 2 == 0 else list(reversed(list(models.items())))
                for name, m in order:
                    start = time.perf_counter()
                    for _ in range(reps):
                        m(x)
                    times[name].append((time.perf_counter() - start) / reps)
            for name, ts in times.items():
                q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
                out.append(Latency(name, b, statistics.median(ts), q[0], q[2], rounds))
    finally:
        for name, m in models.items():
            m.train(modes[name])
    return out
