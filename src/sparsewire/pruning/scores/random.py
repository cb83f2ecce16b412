"""Random score: the baseline every structured criterion must beat."""

from __future__ import annotations

import torch

from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.score import score_function


@score_function()
def random(ctx: PruneContext) -> dict[str, torch.Tensor]:
    """I.i.d. uniform scores drawn from ``ctx.generator`` (seeded, reproducible)."""
    return {
        name: torch.rand(param.shape, generator=ctx.generator).to(param.device)
        for name, param, _ in ctx.masks.parameters()
    }
