"""A layer's kept mask and weight as numpy arrays, and their reduction to unit-to-unit blocks.

Shared by :mod:`sparsewire.graphs.extract` (reading models as graph-built networks or chains) and
:mod:`sparsewire.graphs.trace` (reading models through torch.fx). A convolution's units are its channels:
its kernel ``W[c_out, c_in, k...]`` connects ``c_in → c_out`` where any kept kernel entry does, weighted
by the sum of the kept entries. A layer reading flattened channels reads channel ``c`` through a block of
``per`` consecutive features, connected where any of them is kept and weighted by their sum.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from sparsewire.masks import MASK_SUFFIX

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
WeightedLayer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
"""A layer whose units are nodes of the structure graph (features of a Linear, channels of a Conv)."""
WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def input_units(layer: WeightedLayer) -> int:
    """How many inputs ``layer`` reads: features of a Linear, channels of a Conv."""
    return layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels


def output_units(layer: WeightedLayer) -> int:
    """How many units ``layer`` has: features of a Linear, channels of a Conv."""
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def to_numpy(tensor: torch.Tensor) -> NDArray[np.generic]:
    """``tensor`` detached, on the CPU, as a numpy array of its own dtype."""
    return tensor.detach().cpu().numpy()


def kept_mask(module: nn.Module, name: str) -> BoolArray:
    """Mask of parameter ``name`` of ``module`` (its non-zeros if it carries no mask)."""
    mask: torch.Tensor | None = getattr(module, name + MASK_SUFFIX, None)
    param: torch.Tensor = getattr(module, name)
    return to_numpy(mask if mask is not None else param != 0).astype(np.bool_)


def parameter_array(module: nn.Module, name: str) -> FloatArray:
    """Parameter ``name`` of ``module`` in float64 (pruned entries are whatever the parameter holds)."""
    param: torch.Tensor = getattr(module, name)
    return to_numpy(param).astype(np.float64)


def bias_array(layer: WeightedLayer) -> FloatArray:
    """``layer``'s bias in float64 (zeros if it has none)."""
    bias: torch.Tensor | None = layer.bias
    return to_numpy(bias).astype(np.float64) if bias is not None else np.zeros(output_units(layer))


def as_block(mask: np.bool_ | BoolArray, weight: np.float64 | FloatArray) -> tuple[BoolArray, FloatArray]:
    """A reduced ``(mask, weight)`` as bool and float64 arrays (numpy types reductions as maybe scalars)."""
    return np.asarray(mask, dtype=np.bool_), np.asarray(weight, dtype=np.float64)


def channel_block(mask: BoolArray, weight: FloatArray) -> tuple[BoolArray, FloatArray]:
    """A convolution kernel's ``(mask, weight)`` reduced to channels ``[c_out, c_in]`` (summed over space)."""
    axes = tuple(range(2, mask.ndim))
    return as_block(mask.any(axes), np.where(mask, weight, 0.0).sum(axes))


def unit_block(mask: BoolArray, weight: FloatArray, units: int, per: int) -> tuple[BoolArray, FloatArray]:
    """``[rows, units * per]`` columns read from flattened units reduced to ``[rows, units]``.

    Unit ``u`` owns columns ``u·per … (u+1)·per - 1``: connected where any is kept, weighted by the kept sum.
    """
    grouped = mask.reshape(mask.shape[0], units, per)
    return as_block(grouped.any(2), np.where(grouped, weight.reshape(grouped.shape), 0.0).sum(2))
