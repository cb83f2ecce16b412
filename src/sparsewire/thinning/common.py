"""Shared pieces of thinning: a plain copy of a (masked) model, float64 work copies, keep-index helpers.

Thinning reasons about *constants*: a unit all of whose incoming weights are zero outputs the same value
for every input, so its contribution can be folded into the biases it feeds and the unit removed. A
vector of per-unit constants uses ``NaN`` for "not constant".
"""

from __future__ import annotations

import copy
from typing import TypeVar, cast

import torch
from torch import nn

from sparsewire.errors import SparsewireError
from sparsewire.masks import Masks
from sparsewire.models.registry import SPEC_ATTRIBUTE

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def plain_copy(model: ModuleT) -> ModuleT:
    """A deep copy of ``model`` in eval mode with masks applied to the weights and mask buffers removed, without
    the architecture spec ``build_model`` recorded (thinning changes the architecture)."""
    out = Masks.of(model).export() if Masks.is_masked(model) else copy.deepcopy(model)
    out.__dict__.pop(SPEC_ATTRIBUTE, None)
    return cast(ModuleT, out.eval())  # export() is a deep copy too: same class


def running_stats(norm: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The running mean and variance of ``norm`` (thinning reads batch norm in eval mode)."""
    if norm.running_mean is None or norm.running_var is None:
        raise UnsupportedModelError(f"batch norm without running statistics cannot be thinned: {norm}")
    return norm.running_mean, norm.running_var


def keep_index(keep: torch.Tensor) -> torch.Tensor:
    """Indices of ``True`` entries of a bool vector; at least one (index 0) so that no layer has width 0."""
    index = keep.nonzero().flatten()
    return index if index.numel() else torch.zeros(1, dtype=torch.long, device=keep.device)


def activation_constants(activation: nn.Module, values: torch.Tensor) -> torch.Tensor:
    """An elementwise activation applied to a vector of constants (``NaN`` stays ``NaN``)."""
    with torch.no_grad():
        return activation(values)


def fold_columns(weight: torch.Tensor, bias: torch.Tensor | None, const: torch.Tensor | None,
                 *, exact_nonzero: bool = True) -> None:
    """Fold input units with a known constant value into ``bias`` and zero their columns (in place, float64).

    ``weight`` is ``(out, in, *kernel)``; a constant input ``c_k`` adds ``c_k · Σ_kernel W[:, k]`` to every
    output. Units with ``c_k = 0`` are zeroed whatever ``exact_nonzero`` says; units with ``c_k ≠ 0`` only when
    ``exact_nonzero`` (the sum is exact: no zero padding can cut the kernel) and there is a bias to take them.
    """
    if const is None:
        return
    known = ~torch.isnan(const)
    zero = known & (const == 0)
    weight[:, zero] = 0
    if not exact_nonzero or bias is None:
        return
    nonzero = known & (const != 0)
    if not bool(nonzero.any()):
        return
    summed = weight[:, nonzero].reshape(weight.shape[0], int(nonzero.sum()), -1).sum(-1)
    bias += summed @ const[nonzero]
    weight[:, nonzero] = 0


def out_constants(weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Per output unit: its bias if all its incoming weights are zero, else ``NaN``."""
    dead = ~weight.reshape(weight.shape[0], -1).ne(0).any(1)
    value = bias.clone() if bias is not None else torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device)
    return torch.where(dead, value, torch.full_like(value, float("nan")))


def used_inputs(weight: torch.Tensor) -> torch.Tensor:
    """Bool per input unit (dim 1): some weight (any output, any kernel position) is non-zero."""
    return weight.ne(0).transpose(0, 1).reshape(weight.shape[1], -1).any(1)


class UnsupportedModelError(SparsewireError, TypeError):
    """Thinning does not know how this model computes (a module it cannot reason about)."""
