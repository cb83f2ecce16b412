"""Initial random sparse masks at a given density: uniform per layer, or Erdős–Rényi–Kernel (ERK).

ERK (Evci et al. 2020, after the Erdős–Rényi allocation of Mocanu et al. 2018) gives a layer of shape
``(n_out, n_in, *kernel)`` a density proportional to ``sum(shape) / prod(shape)``, scaled so that the
global density is the one asked for; layers that would exceed density 1 are kept dense. The shares are
:func:`sparsewire.masks.quotas.erk_shares`, the same as pruning's ERK allocation.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from sparsewire.dynamic.base import DynamicSparsityError, check_density
from sparsewire.masks import Masks
from sparsewire.masks.quotas import erk_shares

Distribution = Literal["uniform", "erk"]


def layer_shares(shapes: dict[str, tuple[int, ...]], density: float, distribution: Distribution = "uniform") -> dict[str, float]:
    """Real-valued numbers of weights each layer keeps, ``density`` of all of them in total."""
    density = check_density(density)
    sizes = {n: math.prod(s) for n, s in shapes.items()}
    if distribution == "uniform":
        return {n: density * size for n, size in sizes.items()}
    if distribution != "erk":
        raise DynamicSparsityError(f"unknown distribution {distribution!r}; choose 'uniform' or 'erk'")
    return erk_shares(shapes, density * sum(sizes.values()), sizes)


def layer_densities(shapes: dict[str, tuple[int, ...]], density: float, distribution: Distribution = "uniform") -> dict[str, float]:
    """Per-layer densities whose weighted mean is ``density``."""
    if distribution == "uniform":
        return dict.fromkeys(shapes, check_density(density))
    return {n: share / math.prod(shapes[n]) for n, share in layer_shares(shapes, density, distribution).items()}


def random_masks(masks: Masks, density: float, distribution: Distribution = "uniform",
                 generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Random masks keeping ``round(share_l)`` (at least one) weights in layer ``l`` (:func:`layer_shares`)."""
    shapes = {name: tuple(mask.shape) for name, mask in masks.items()}
    out = {}
    for name, share in layer_shares(shapes, density, distribution).items():
        n = masks[name].numel()
        keep = min(n, max(1, round(share)))
        flat = torch.zeros(n, dtype=torch.bool)
        flat[torch.randperm(n, generator=generator)[:keep]] = True
        out[name] = flat.view(shapes[name])
    return out


def sparse_init(masks: Masks, density: float, distribution: Distribution = "uniform",
                generator: torch.Generator | None = None) -> Masks:
    """Replace ``masks`` by :func:`random_masks` and zero the weights they remove."""
    masks.update(random_masks(masks, density, distribution, generator))
    return masks
