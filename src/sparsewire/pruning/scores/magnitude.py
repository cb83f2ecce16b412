"""Magnitude score |w| (Han et al. 2015; Stier et al. 2021, Sec. 3.2): small weights matter least."""

from __future__ import annotations

import torch

from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.score import score_function


@score_function()
def magnitude(ctx: PruneContext) -> dict[str, torch.Tensor]:
    """Score every masked weight by its absolute value."""
    return {name: param.detach().abs() for name, param, _ in ctx.masks.parameters()}
