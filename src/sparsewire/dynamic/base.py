"""What a dynamic sparse training algorithm is: drop the smallest-magnitude kept weights, regrow as many.

Both algorithms here share the drop step of SET (Mocanu et al. 2018) and RigL (Evci et al. 2020): per
layer, remove the ``k`` kept weights of smallest magnitude; they differ only in where the ``k`` new
connections grow. As in the RigL reference implementation, the candidates for growth are all positions
that are not kept after the drop (a just-dropped connection may come back, as a new weight of zero).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import torch

from sparsewire.errors import SparsewireError


class DynamicSparsityError(SparsewireError, ValueError):
    """Bad settings for dynamic sparse training (density, drop fraction, algorithm, schedule)."""


def check_density(density: float) -> float:
    """``density`` (fraction of weights kept) must lie in (0, 1]."""
    if not isinstance(density, int | float) or math.isnan(density) or not 0 < density <= 1:
        raise DynamicSparsityError(f"density must be in (0, 1] (fraction of weights kept), got {density!r}")
    return float(density)


def check_drop_fraction(fraction: float) -> float:
    """``drop_fraction`` (share of the kept weights replaced per update) must lie in [0, 1)."""
    if not isinstance(fraction, int | float) or math.isnan(fraction) or not 0 <= fraction < 1:
        raise DynamicSparsityError(f"drop_fraction must be in [0, 1), got {fraction!r}")
    return float(fraction)


@torch.no_grad()
def drop_smallest(weight: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """``mask`` without its ``k`` kept weights of smallest magnitude (ties broken by position)."""
    kept = int(mask.sum())
    if not 0 <= k <= kept:
        raise DynamicSparsityError(f"cannot drop {k} of {kept} kept weights")
    if k == 0:
        return mask.clone()
    score = weight.detach().abs().flatten().to(torch.float64)
    score = torch.where(mask.flatten(), score, torch.full_like(score, math.inf))
    dropped = torch.topk(score, k, largest=False, sorted=False).indices
    out = mask.clone().flatten()
    out[dropped] = False
    return out.view_as(mask)


def top_candidates(score: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """Bool tensor (shape of ``candidates``) marking the ``k`` candidate positions of largest ``score``."""
    available = int(candidates.sum())
    if not 0 <= k <= available:
        raise DynamicSparsityError(f"cannot grow {k} connections from {available} candidates")
    grown = torch.zeros(candidates.numel(), dtype=torch.bool, device=candidates.device)
    if k:
        flat = score.detach().flatten().to(torch.float64)
        flat = torch.where(candidates.flatten(), flat, torch.full_like(flat, -math.inf))
        grown[torch.topk(flat, k, sorted=False).indices] = True
    return grown.view_as(candidates)


class GrowthRule(ABC):
    """Where a dynamic sparse algorithm grows new connections."""

    name: ClassVar[str]

    @abstractmethod
    def grow(self, weight: torch.nn.Parameter, candidates: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        """Bool tensor of the ``k`` positions (among ``candidates``) that become kept."""
