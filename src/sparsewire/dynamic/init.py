"""Initial random sparse masks at a given density: uniform per layer, or Erdős–Rényi–Kernel (ERK).

ERK (Evci et al. 2020, after the Erdős–Rényi allocation of Mocanu et al. 2018) gives a layer of shape
``(n_out, n_in, *kernel)`` a density proportional to ``sum(shape) / prod(shape)``, scaled so that the
global density is the one asked for; layers that would exceed density 1 are kept dense.
"""

from __future__ import annotations

from typing import Literal

import torch

from sparsewire.dynamic.base import DynamicSparsityError, check_density
from sparsewire.masks import Masks

Distribution = Literal["uniform", "erk"]


def layer_densities(shapes: dict[str, tuple[int, ...]], density: float, distribution: Distribution = "uniform") -> dict[str, float]:
    """Per-layer densities whose weighted mean is ``density``."""
    density = check_density(density)
    if distribution == "uniform":
        return dict.fromkeys(shapes, density)
    if distribution != "erk":
        raise DynamicSparsityError(f"unknown distribution {distribution!r}; choose 'uniform' or 'erk'")
    sizes = {n: int(torch.tensor(s).prod()) for n, s in shapes.items()}
    raw = {n: sum(s) / sizes[n] for n, s in shapes.items()}
    dense: set[str] = set()
    while True:  # scale the sparse layers so that the total kept matches; cap at 1 and repeat
        budget = density * sum(sizes.values()) - sum(sizes[n] for n in dense)
        scale = budget / sum(raw[n] * sizes[n] for n in shapes if n not in dense)
        over = {n for n in shapes if n not in dense and scale * raw[n] > 1}
        if not over:
            return {n: 1.0 if n in dense else scale * raw[n] for n in shapes}
        dense |= over


def random_masks(masks: Masks, density: float, distribution: Distribution = "uniform",
                 generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Random masks with ``round(d_l · n_l)`` (at least one) weights kept in layer ``l``."""
    shapes = {name: tuple(mask.shape) for name, mask in masks.items()}
    out = {}
    for name, d in layer_densities(shapes, density, distribution).items():
        n = masks[name].numel()
        keep = min(n, max(1, round(d * n)))
        flat = torch.zeros(n, dtype=torch.bool)
        flat[torch.randperm(n, generator=generator)[:keep]] = True
        out[name] = flat.view(shapes[name])
    return out


def sparse_init(masks: Masks, density: float, distribution: Distribution = "uniform",
                generator: torch.Generator | None = None) -> Masks:
    """Replace ``masks`` by :func:`random_masks` and zero the weights they remove."""
    masks.update(random_masks(masks, density, distribution, generator))
    return masks
