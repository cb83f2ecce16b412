"""What dense gradients cost in a sparse training run, and what freezing the mask saves (in FLOPs).

Per example and masked layer ``l`` with ``N_l`` weights of which ``n_l`` are kept, each weight used
``u_l`` times per example (1 for a linear layer, the output positions for a convolution), sparse training
costs ``2 n_l u_l`` FLOPs (multiply + add) for the forward product, as much for the gradient of the
layer's input and as much for the gradient of the kept weights: ``6 n_l u_l``. A step that needs the
*dense* weight gradient (RigL's grow score, SNFS's momentum, DNW's straight-through update) computes it
for all ``N_l`` weights: ``2 (N_l − n_l) u_l`` more per example. Biases, activations, the loss and the
optimizer are not counted; the kept counts are those of the final masks (SNFS moves weights between
layers during training). A run made of several trainings at different densities (IMP's rounds) or with a
dense scoring pass (SNIP) is costed phase by phase (:func:`phases_cost`), each at its own kept counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


def example_flops(kept: Mapping[str, int], uses: Mapping[str, int]) -> int:
    """Training FLOPs per example with ``kept[l]`` weights in layer ``l``: ``Σ 6 n_l u_l``."""
    return sum(6 * k * uses[n] for n, k in kept.items())


def dense_gradient_extra(kept: Mapping[str, int], sizes: Mapping[str, int], uses: Mapping[str, int]) -> int:
    """FLOPs per example of the weight gradients of the ``sizes[l] − kept[l]`` pruned weights: ``Σ 2 (N_l − n_l) u_l``."""
    return sum(2 * (sizes[n] - k) * uses[n] for n, k in kept.items())


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
    kept = {n: int(m.sum()) for n, m in masks.items()}
    sparse_per_example = example_flops(kept, uses)
    dense_extra = dense_gradient_extra(kept, {n: m.numel() for n, m in masks.items()}, uses)
    per_step = examples / max(steps, 1)  # mean batch size
    dense = dense_steps * per_step * dense_extra
    total = examples * sparse_per_example + dense
    saved_steps = max(dense_steps_unfrozen - dense_steps, 0)
    saved = saved_steps * per_step * dense_extra
    return TrainingCost(train_flops=float(total), dense_gradient_flops=float(dense), dense_gradient_steps=dense_steps,
                        dense_gradient_steps_saved=saved_steps, flops_saved=float(saved),
                        flops_saved_fraction=float(saved / (total + saved)) if total + saved > 0 else 0.0)


@dataclass(frozen=True)
class Phase:
    """One training, or one scoring pass, of a run made of several (IMP's rounds, SNIP's score at
    initialisation): the weights kept per layer during it, the examples and optimizer steps (scoring:
    batches) it took, and whether it read the gradient of every weight (a dense training, a dense score)."""

    kept: Mapping[str, int]
    examples: int
    steps: int
    dense_gradient: bool


def phases_cost(phases: Sequence[Phase], final: Mapping[str, int], sizes: Mapping[str, int], uses: Mapping[str, int],
                *, unfrozen: Sequence[Phase] | None = None) -> TrainingCost:
    """FLOPs of a run made of ``phases``: each costs its examples × :func:`example_flops` at its own kept
    counts; ``dense_gradient_flops`` is the part the dense phases spent on the weight gradients of
    connections outside the ``final`` mask (:func:`dense_gradient_extra`, as for a dynamic run) and
    ``dense_gradient_steps`` their steps. The saving is against ``unfrozen`` (the full run an early-frozen one
    shortens; ``None``: nothing saved)."""

    def total(run: Sequence[Phase]) -> float:
        return float(sum(p.examples * example_flops(p.kept, uses) for p in run))

    def dense_steps(run: Sequence[Phase]) -> int:
        return sum(p.steps for p in run if p.dense_gradient)

    flops = total(phases)
    extra = dense_gradient_extra(final, sizes, uses)
    reference = flops if unfrozen is None else total(unfrozen)
    saved = max(reference - flops, 0.0)
    return TrainingCost(train_flops=flops, dense_gradient_flops=float(sum(p.examples * extra for p in phases
                                                                           if p.dense_gradient)),
                        dense_gradient_steps=dense_steps(phases),
                        dense_gradient_steps_saved=max(dense_steps(unfrozen or phases) - dense_steps(phases), 0),
                        flops_saved=saved, flops_saved_fraction=saved / reference if reference > 0 else 0.0)
