"""The selection code every dynamic sparse algorithm shares: pick the ``k`` lowest / highest scores among
allowed positions, and split a total count across layers in proportion to weights.

An algorithm only says *what* it scores (magnitude, random, gradient, momentum, latent weight) and *how
many* connections each layer drops and grows; these functions do the choosing, so that SET, RigL, SNFS
and DNW differ only in their scores, counts and schedules (:mod:`sparsewire.dynamic.base`).
Ties are broken the same way everywhere (``torch.topk`` on float64 scores).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from sparsewire.errors import SparsewireError


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
    return chosen.view_as(among)


def lowest(score: torch.Tensor, among: torch.Tensor, k: int) -> torch.Tensor:
    """Bool tensor (shape of ``among``) marking the ``k`` positions of ``among`` with the smallest ``score``."""
    return _pick(score, among, k, largest=False)


def highest(score: torch.Tensor, among: torch.Tensor, k: int) -> torch.Tensor:
    """Bool tensor (shape of ``among``) marking the ``k`` positions of ``among`` with the largest ``score``."""
    return _pick(score, among, k, largest=True)


@torch.no_grad()
def drop_smallest(weight: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """``mask`` without its ``k`` kept weights of smallest magnitude."""
    if not 0 <= k <= int(mask.sum()):
        from sparsewire.dynamic.base import DynamicSparsityError

        raise DynamicSparsityError(f"cannot drop {k} of {int(mask.sum())} kept weights")
    return mask & ~lowest(weight.abs(), mask, k)


def top_candidates(score: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` candidate positions of largest ``score`` (kept for callers of the first API)."""
    if not 0 <= k <= int(candidates.sum()):
        from sparsewire.dynamic.base import DynamicSparsityError

        raise DynamicSparsityError(f"cannot grow {k} connections from {int(candidates.sum())} candidates")
    return highest(score, candidates, k)


def apportion(total: int, weights: Mapping[str, float], caps: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` into integer shares proportional to ``weights``, each at most its ``cap``.

    Largest-remainder rounding, so the shares always sum to ``total`` exactly; a share that would pass its
    cap is held at it and the excess goes to the others in proportion to their weights (SNFS's
    redistribution, Dettmers & Zettlemoyer 2019). Zero total weight: shares in proportion to the room left.
    """
    if total < 0 or total > sum(caps.values()):
        raise SelectionError(f"cannot place {total} connections in room for {sum(caps.values())}")
    out = dict.fromkeys(weights, 0)
    remaining = total
    while remaining > 0:
        room = {n: caps[n] - out[n] for n in out if caps[n] > out[n]}
        w = {n: max(float(weights[n]), 0.0) for n in room}
        if not sum(w.values()) > 0:
            w = {n: float(r) for n, r in room.items()}
        scale = remaining / sum(w.values())
        shares = {n: w[n] * scale for n in room}
        add = {n: min(math.floor(shares[n]), room[n]) for n in room}
        left = remaining - sum(add.values())
        for n in sorted(room, key=lambda n: (shares[n] - math.floor(shares[n]), w[n]), reverse=True):
            if left == 0:
                break
            if add[n] < room[n]:
                add[n] += 1
                left -= 1
        for n, a in add.items():
            out[n] += a
        remaining -= sum(add.values())
    return out
