"""SET, Sparse Evolutionary Training (Mocanu et al. 2018, Nature Communications 9:2383): regrow at random."""

from __future__ import annotations

import torch

from sparsewire.dynamic.base import GrowthRule, top_candidates


class SET(GrowthRule):
    """Grow ``k`` connections chosen uniformly at random among the positions not kept."""

    name = "set"

    def grow(self, weight: torch.nn.Parameter, candidates: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        score = torch.rand(candidates.shape, generator=generator, dtype=torch.float64)
        return top_candidates(score.to(candidates.device), candidates, k)
