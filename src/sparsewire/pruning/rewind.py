"""Rewinding (Frankle & Carbin 2019; Frankle et al. 2020): reset surviving weights to earlier values."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn

from sparsewire.devices import model_device
from sparsewire.masks import MASK_SUFFIX, Masks


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the model's parameters and non-mask buffers (a rewind point), kept on the CPU
    whatever the model's device (:func:`rewind` copies it back to wherever the model is then)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if not k.endswith(MASK_SUFFIX)}


@torch.no_grad()
def rewind(model: nn.Module, point: Mapping[str, torch.Tensor], masks: Masks | None = None) -> None:
    """Load ``point`` into ``model`` keeping the current masks: survivors get their earlier values exactly,
    pruned weights stay zero."""
    state = model.state_dict()
    missing = [k for k in state if not k.endswith(MASK_SUFFIX) and k not in point]
    if missing:
        raise KeyError(f"rewind point lacks {missing}")
    for key, value in point.items():
        state[key].copy_(value)
    (masks if masks is not None else Masks.of(model)).apply()


@torch.no_grad()
def reinitialize(model: nn.Module, masks: Masks | None = None, seed: int = 0) -> None:
    """Keep the structure, forget the weights: re-draw every parameter from its layer's default
    initialiser (``reset_parameters``) with ``seed``, then re-apply the masks (Van Gelder et al. 2020's
    "structure with re-initialised weights"; Frankle & Carbin 2019's random re-initialisation control).
    The weights are drawn on the CPU whatever the model's device, so a seed gives the same weights everywhere."""
    masks = masks if masks is not None else Masks.of(model)
    if model_device(model).type != "cpu":
        fresh = copy.deepcopy(model).cpu()
        reinitialize(fresh, Masks.of(fresh), seed)
        model.load_state_dict(fresh.state_dict())
        masks.apply()
        return
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    finally:
        torch.random.set_rng_state(state)
    masks.apply()
