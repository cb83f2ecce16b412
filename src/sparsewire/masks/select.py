"""Which positions of a mask: the ``k`` lowest or highest scores among allowed positions.

One implementation for every package that chooses weights: pruning keeps the highest scores among the
surviving weights (:mod:`sparsewire.pruning.allocation`), dynamic sparse training drops the lowest drop
scores among the kept weights and grows the highest grow scores among the free positions
(:mod:`sparsewire.dynamic`). Ties are broken the same way everywhere (``torch.topk`` on float64 scores).
"""

from __future__ import annotations

import math

import torch

from sparsewire.errors import SparsewireError

__all__ = ["SelectionError", "highest", "lowest"]


class SelectionError(SparsewireError, ValueError):
    """A selection asked for more positions than are allowed."""


def _pick(score: torch.Tensor, among: torch.Tensor, k: int, largest: bool) -> torch.Tensor:
    available = int(among.sum())
    if not 0 <= k <= available:
        raise SelectionError(f"cannot choose {k} of {available} positions")
    chosen = torch.zeros(among.numel(), dtype=torch.bool, device=among.device)
    if k:
        flat = score.detach().flatten().to(device=among.device, dtype=torch.float64)
        fill = -math.inf if largest else math.inf
        flat = torch.where(among.flatten(), flat, torch.full_like(flat, fill))
        chosen[torch.topk(flat, k, largest=largest, sorted=False).indices] = True
    return chosen.view_as(among) & among


def lowest(score: torch.Tensor, among: torch.Tensor, k: int) -> torch.Tensor:
    """Bool tensor (shape of ``among``) marking the ``k`` positions of ``among`` with the smallest ``score``."""
    return _pick(score, among, k, largest=False)


def highest(score: torch.Tensor, among: torch.Tensor, k: int) -> torch.Tensor:
    """Bool tensor (shape of ``among``) marking the ``k`` positions of ``among`` with the largest ``score``."""
    return _pick(score, among, k, largest=True)
