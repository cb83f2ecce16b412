"""SNFS, sparse momentum (Dettmers & Zettlemoyer 2019, "Sparse Networks from Scratch: Faster Training
without Losing Performance", arXiv:1907.04840, Sec. 3 and Algorithm 1).

Every update (the paper: at the end of every epoch):

1. **Momentum.** ``M_t = β M_{t−1} + (1 − β) g_t``, the exponentially smoothed *dense* gradient of every
   weight, pruned ones included (kept here by the algorithm itself after every optimizer step, so it does
   not depend on the optimizer: Adam's moments and SGD's buffer would do the same up to a scale, and only
   ratios of ``|M|`` are used).
2. **Redistribution.** Layer ``i``'s momentum contribution is the mean ``|M|`` over its *active* (kept)
   weights, ``m_i``, normalised to ``m_i / Σ_j m_j``.
3. **Magnitude pruning.** Each layer drops the fraction ``p_t`` of its kept weights with the smallest ``|w|``.
4. **Momentum regrowth.** The total pruned, ``P = Σ_i p_t n_i``, is regrown: layer ``i`` gets
   ``P · m_i / Σ_j m_j`` connections (integer shares that sum to ``P`` exactly; a layer that would exceed
   density 1 is capped and its excess goes to the others), at the free positions with the largest ``|M|``.
5. **Schedule.** The prune rate decays with a cosine, ``p_t = p_0/2 · (1 + cos(π t / T))``.

Layer densities therefore change; the total number of kept weights never does. New weights start at zero.
SNFS needs the dense gradient at every step (to keep the momentum).
"""

from __future__ import annotations

import torch

from sparsewire.dynamic.base import Driver, DynamicSparsityError, MaskUpdater
from sparsewire.masks.quotas import apportion


class SNFS(MaskUpdater):
    """Sparse momentum: magnitude pruning, momentum-based redistribution across layers and regrowth.

    Args:
        beta: smoothing of the momentum ``M_t = β M_{t−1} + (1 − β) g_t`` (the paper's momentum 0.9).
    """

    name = "snfs"
    drop_score = "|w|: magnitude pruning of the fraction p_t of each layer's kept weights"
    grow_score = "|M|: momentum magnitude of the missing connections; layer shares by mean |M| of kept weights"
    schedule = "end of every epoch, prune rate cosine-decayed p_t = p_0/2 (1 + cos(pi t / T))"
    cadence = "epoch"
    dense_gradient = "every-step"

    def __init__(self, beta: float = 0.9) -> None:
        if not 0 <= beta < 1:
            raise DynamicSparsityError(f"SNFS momentum beta must be in [0, 1), got {beta!r}")
        self.beta = beta
        self.momentum: dict[str, torch.Tensor] = {}

    def attach(self, dyn: Driver) -> None:
        self.momentum = {name: torch.zeros_like(param, dtype=torch.float32) for name, param, _ in dyn.masks.parameters()}

    def detach(self, dyn: Driver) -> None:
        self.momentum = {}

    @torch.no_grad()
    def observe(self, dyn: Driver) -> None:
        for name, param, _ in dyn.masks.parameters():
            if param.grad is None:
                raise DynamicSparsityError("SNFS needs the dense gradient after every step (post_step)")
            self.momentum[name].mul_(self.beta).add_(param.grad.float(), alpha=1 - self.beta)

    def contributions(self, dyn: Driver) -> dict[str, float]:
        """``m_i / Σ_j m_j``: each layer's mean momentum magnitude over its kept weights, normalised."""
        means = {}
        for name, mask in dyn.masks.items():
            kept = mask.to(self.momentum[name].device)
            means[name] = float(self.momentum[name].abs()[kept].mean()) if kept.any() else 0.0
        total = sum(means.values())
        return {n: (m / total if total > 0 else 0.0) for n, m in means.items()}

    def counts(self, dyn: Driver, fraction: float) -> dict[str, tuple[int, int]]:
        dropped = {name: dyn.count(fraction, int(mask.sum())) for name, mask in dyn.masks.items()}
        room = {name: mask.numel() - int(mask.sum()) + dropped[name] for name, mask in dyn.masks.items()}
        grown = apportion(sum(dropped.values()), self.contributions(dyn), room)
        return {name: (dropped[name], grown[name]) for name in dropped}

    def grow_scores(self, name: str, weight: torch.nn.Parameter, candidates: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
        return self.momentum[name].abs()
