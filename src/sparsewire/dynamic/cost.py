"""What dense gradients cost in a sparse training run, and what freezing the mask saves (in FLOPs).

Per example and masked layer ``l`` with ``N_l`` weights of which ``n_l`` are kept, each weight used
``u_l`` times per example (1 for a linear layer, the output positions for a convolution), sparse training
costs ``2 n_l u_l`` FLOPs (multiply + add) for the forward product, as much for the gradient of the
layer's input and as much for the gradient of the kept weights: ``6 n_l u_l``. A step that needs the
*dense* weight gradient (RigL's grow score, SNFS's momentum, DNW's straight-through update) computes it
for all ``N_l`` weights: ``2 (N_l − n_l) u_l`` more per example. Biases, activations, the loss and the
optimizer are not counted; the kept counts are those of the final masks (SNFS moves weights between
layers during training).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sparsewire.devices import model_device, to_device
from sparsewire.masks import Masks


@torch.no_grad()
def weight_uses(masks: Masks, *inputs: torch.Tensor) -> dict[str, int]:
    """Times each masked weight is used per example in a forward pass of ``inputs`` (a batch).

    Measured with forward hooks: a layer whose output has ``B · C_out · P`` elements for a batch of ``B``
    uses each weight ``P`` times (linear: 1, convolution: the output positions); 1 where not measurable.
    """
    model = masks.model
    inputs = to_device(inputs, model_device(model))
    uses = dict.fromkeys(masks, 1)
    owners = {}
    for name in masks:
        module_name, _, _ = name.rpartition(".")
        owners[module_name] = name
    handles = []
    batch = len(inputs[0])

    def hook_for(name: str, module: nn.Module) -> Callable[[nn.Module, tuple[Any, ...], object], None]:
        def hook(mod: nn.Module, args: tuple[Any, ...], output: object) -> None:
            weight = masks.parameter(name)
            if isinstance(output, torch.Tensor) and weight.dim() >= 2 and batch:
                uses[name] = max(1, output.numel() // (batch * weight.shape[0]))
        return hook

    for module_name, name in owners.items():
        module = model.get_submodule(module_name) if module_name else model
        if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            handles.append(module.register_forward_hook(hook_for(name, module)))
    was_training = model.training
    model.eval()
    try:
        model(*inputs)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return uses


@dataclass(frozen=True)
class TrainingCost:
    """Training FLOPs of one run (see the module doc) and what its dense gradients cost."""

    train_flops: float
    dense_gradient_flops: float
    dense_gradient_steps: int
    dense_gradient_steps_saved: int
    flops_saved: float
    flops_saved_fraction: float


def training_cost(masks: Masks, uses: dict[str, int], *, examples: int, steps: int, dense_steps: int,
                  dense_steps_unfrozen: int) -> TrainingCost:
    """FLOPs of ``steps`` optimizer steps over ``examples`` examples of which ``dense_steps`` needed the
    dense weight gradient, and the saving against ``dense_steps_unfrozen`` (the run never frozen)."""
    sparse_per_example = sum(6 * int(m.sum()) * uses[n] for n, m in masks.items())
    dense_extra = sum(2 * (m.numel() - int(m.sum())) * uses[n] for n, m in masks.items())
    per_step = examples / max(steps, 1)  # mean batch size
    dense = dense_steps * per_step * dense_extra
    total = examples * sparse_per_example + dense
    saved_steps = max(dense_steps_unfrozen - dense_steps, 0)
    saved = saved_steps * per_step * dense_extra
    return TrainingCost(train_flops=float(total), dense_gradient_flops=float(dense), dense_gradient_steps=dense_steps,
                        dense_gradient_steps_saved=saved_steps, flops_saved=float(saved),
                        flops_saved_fraction=float(saved / (total + saved)) if total + saved > 0 else 0.0)
