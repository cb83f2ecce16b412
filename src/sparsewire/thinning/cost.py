"""What thinning buys: parameters, FLOPs and measured latency before and after.

FLOPs are counted per example on a forward pass (hooks on the weighted layers), dense: a linear layer
``n_in -> n_out`` costs ``2·n_in·n_out + n_out``, a convolution ``2·C_in·k·C_out + C_out`` per output position,
a recurrent layer ``2·G·H·(n_in + H) + 2·G·H`` per step (``G`` gates). Activations, pooling and norms are not
counted. Latency comes from :func:`sparsewire.layer_sparsity.measure_latency` (models timed in interleaved rounds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from sparsewire.layer_sparsity.cost import Latency, measure_latency


def count_parameters(model: nn.Module) -> int:
    """All parameter entries of ``model`` (zero or not)."""
    return sum(p.numel() for p in model.parameters())


def _layer_flops(module: nn.Module, output: torch.Tensor | tuple[torch.Tensor, object]) -> int:
    """FLOPs of one call of ``module`` that returned ``output`` (a recurrent layer's: ``(out, state)``)."""
    out = output[0] if isinstance(output, tuple) else output
    if isinstance(module, nn.Linear):
        rows = out.numel() // module.out_features
        return rows * (2 * module.in_features * module.out_features + (module.out_features if module.bias is not None else 0))
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        positions = out.numel() // module.out_channels
        per = 2 * module.in_channels // module.groups * math.prod(module.kernel_size) * module.out_channels
        return positions * (per + (module.out_channels if module.bias is not None else 0))
    if isinstance(module, nn.RNNBase):
        steps = out.shape[1] if module.batch_first else out.shape[0]
        gates = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}[module.mode]
        total, width = 0, module.input_size
        for _ in range(module.num_layers):
            total += 2 * gates * module.hidden_size * (width + module.hidden_size) + 2 * gates * module.hidden_size
            width = module.hidden_size
        return total * steps * (out.shape[0] if module.batch_first else out.shape[1])
    return 0


@torch.inference_mode()
def count_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Dense FLOPs per example of one forward pass of ``model(*inputs)`` (batch = ``inputs[0].shape[0]``)."""
    total = 0

    def hook(module: nn.Module, _args: object, output: torch.Tensor | tuple[torch.Tensor, object]) -> None:
        nonlocal total
        total += _layer_flops(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.RNNBase)]
    training = model.training
    try:
        model.eval()
        model(*inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(training)
    return total // inputs[0].shape[0]


@dataclass(frozen=True)
class ThinningReport:
    """Parameters and FLOPs of a model and its thinned copy, and their latencies (per batch size)."""

    parameters: int
    thinned_parameters: int
    flops: int
    thinned_flops: int
    latency: list[Latency]

    def speedup(self, batch_size: int) -> float:
        """Median latency of the original over the thinned model at ``batch_size``."""
        times = {lat.model: lat.median_s for lat in self.latency if lat.batch_size == batch_size}
        return times["original"] / times["thinned"]


def thinning_report(original: nn.Module, thinned: nn.Module, input_shape: Sequence[int],
                    batch_sizes: Sequence[int] = (1, 256), *, rounds: int = 30) -> ThinningReport:
    """Parameters, FLOPs and latency of ``original`` vs ``thinned`` for float inputs of ``input_shape``.

    ``rounds=0`` skips the timing (``latency`` is then empty).
    """
    example = torch.rand(1, *input_shape)
    latency = measure_latency({"original": original, "thinned": thinned}, input_shape, batch_sizes,
                              rounds=rounds) if rounds else []
    return ThinningReport(count_parameters(original), count_parameters(thinned), count_flops(original, example),
                          count_flops(thinned, example), latency)
