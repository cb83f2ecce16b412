"""Optimal Brain Damage (LeCun, Denker & Solla 1990): saliency s_i = ½ h_ii w_i².

h_ii, the diagonal of the loss Hessian, is estimated with Hutchinson's estimator
diag(H) ≈ E_z[z ⊙ Hz] over Rademacher probes z, one Hessian-vector product per probe and batch. For
ReLU networks the exact Hessian diagonal equals the Gauss–Newton diagonal LeCun et al. used, since the
network output is linear in each single weight; the estimator also works for any other differentiable
model (CNNs, RNNs).
"""

from __future__ import annotations

import torch

from sparsewire.pruning.context import PruneContext


def hessian_diagonal(ctx: PruneContext, probes: int = 4) -> dict[str, torch.Tensor]:
    """Hutchinson estimate of the loss Hessian's diagonal for every masked parameter."""
    batches = ctx.require_batches("OBD")
    names = list(ctx.masks)
    params = [ctx.masks.parameter(n) for n in names]
    diag = [torch.zeros_like(p) for p in params]
    was_training = ctx.model.training
    ctx.model.eval()
    count = 0
    for batch in batches:
        *inputs, target = batch
        loss = ctx.loss_fn(ctx.model(*inputs), target)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        for probe in range(probes):
            z = [(torch.randint(0, 2, p.shape, generator=ctx.generator) * 2 - 1).to(p) for p in params]
            hz = torch.autograd.grad(grads, params, grad_outputs=z, retain_graph=probe < probes - 1)
            for d, zi, hzi in zip(diag, z, hz, strict=True):
                d.add_(zi * hzi)
            count += 1
    ctx.model.train(was_training)
    return {n: d / count for n, d in zip(names, diag, strict=True)}


def obd(ctx: PruneContext, probes: int = 4) -> dict[str, torch.Tensor]:
    """OBD saliency ½ h_ii w_i² (Eq. 5 of LeCun et al. 1990); the lowest are pruned first."""
    h = hessian_diagonal(ctx, probes)
    return {name: 0.5 * h[name] * param.detach() ** 2 for name, param, _ in ctx.masks.parameters()}
