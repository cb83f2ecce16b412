"""Connection sensitivity |∂L/∂w · w| (SNIP, Lee, Ajanthan & Torr 2019; their normalisation does not change the ranking): the first-order change of
the loss when a weight is removed, summed over a few batches. Works on any differentiable model and loss."""

from __future__ import annotations

import torch

from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.score import score_function


@score_function(needs_data=True)
def saliency(ctx: PruneContext) -> dict[str, torch.Tensor]:
    """Score every masked weight by ``|Σ_batches ∂L/∂w · w|`` (gradients of the masked network)."""
    batches = ctx.require_batches("the saliency score")
    names, params = ctx.masked()
    total = [torch.zeros_like(p) for p in params]
    was_training = ctx.model.training
    ctx.model.eval()
    for batch in batches:
        grads = torch.autograd.grad(ctx.loss(batch), params, allow_unused=True)
        for acc, g in zip(total, grads, strict=True):
            if g is not None:
                acc.add_(g)
    ctx.model.train(was_training)
    return {n: (g * p.detach()).abs() for n, g, p in zip(names, total, params, strict=True)}
