"""Optimal Brain Damage (LeCun, Denker & Solla 1990): saliency s_i = ½ h_ii w_i² (their Eq. 5).

h_ii is the diagonal of the loss Hessian. Two estimators:

* ``"ggn"`` (default for cross-entropy and linear layers): the exact diagonal of the Gauss–Newton matrix
  JᵀSJ, with J the Jacobian of the logits and S = diag(p) − ppᵀ the softmax Hessian. This is the approximation LeCun et al. use, and for ReLU networks it *equals* the
  Hessian's diagonal, because the logits are linear in each single weight.
* ``"hutchinson"``: E_z[z ⊙ Hz] over Rademacher probes z, for any loss and any differentiable model; unbiased
  but noisy on large layers (the off-diagonal mass of H enters its variance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.batch import logits as output_logits
from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.score import score_function


def hessian_diagonal_hutchinson(ctx: PruneContext, probes: int = 4) -> dict[str, torch.Tensor]:
    """Hutchinson estimate of the loss Hessian's diagonal for every masked parameter."""
    batches = ctx.require_batches("OBD")
    names, params = ctx.masked()
    diag = [torch.zeros_like(p) for p in params]
    was_training = ctx.model.training
    ctx.model.eval()
    count = 0
    for batch in batches:
        loss = ctx.loss(batch)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        for probe in range(probes):
            z = [(torch.randint(0, 2, p.shape, generator=ctx.generator) * 2 - 1).to(p) for p in params]
            hz = torch.autograd.grad(grads, params, grad_outputs=z, retain_graph=probe < probes - 1)
            for d, zi, hzi in zip(diag, z, hz, strict=True):
                d.add_(zi * hzi)
            count += 1
    ctx.model.train(was_training)
    return {n: d / count for n, d in zip(names, diag, strict=True)}


def _linear_modules(ctx: PruneContext) -> dict[str, nn.Linear] | None:
    modules = {}
    for name in ctx.masks:
        module_name, _, param_name = name.rpartition(".")
        module = ctx.model.get_submodule(module_name)
        if not isinstance(module, nn.Linear) or param_name != "weight":
            return None
        modules[name] = module
    return modules


def hessian_diagonal_ggn(ctx: PruneContext) -> dict[str, torch.Tensor]:
    """Exact Gauss–Newton diagonal of the mean cross-entropy loss for masked ``nn.Linear`` weights.

    For a linear layer with input a and output z, J_c = (∂logit_c/∂z) aᵀ, so per example
    diag(JᵀSJ)_ij = a_j² (Σ_c p_c g_ci² − (Σ_c p_c g_ci)²) with g_c = ∂logit_c/∂z: one backward pass per
    class gives the exact diagonal for a whole batch.
    """
    modules = _linear_modules(ctx)
    if modules is None:
        raise ValueError("the Gauss-Newton OBD estimator supports nn.Linear weights only; use estimator='hutchinson'")
    batches = ctx.require_batches("OBD")
    diag = {n: torch.zeros_like(m.weight) for n, m in modules.items()}
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(name: str) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
        def record(_m: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            if args[0].dim() != 2:
                raise ValueError(f"Gauss-Newton OBD needs (batch, features) inputs at {name}; use estimator='hutchinson'")
            captured[name] = (args[0].detach(), out)

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in modules.items()]
    was_training = ctx.model.training
    ctx.model.eval()
    count = 0
    try:
        for batch in batches:
            logits = output_logits(ctx.forward(batch))
            p = F.softmax(logits.detach(), dim=-1)
            names = list(captured)
            outs = [captured[n][1] for n in names]
            first = {n: torch.zeros_like(o) for n, o in zip(names, outs, strict=True)}
            second = {n: torch.zeros_like(o) for n, o in zip(names, outs, strict=True)}
            for c in range(logits.shape[-1]):
                grads = torch.autograd.grad(logits[:, c].sum(), outs, retain_graph=c < logits.shape[-1] - 1)
                pc = p[:, c : c + 1]
                for n, g in zip(names, grads, strict=True):
                    first[n] += pc * g
                    second[n] += pc * g**2
            for n in names:
                v = second[n] - first[n] ** 2  # (B, n_out)
                diag[n] += v.T @ captured[n][0] ** 2
            count += logits.shape[0]
            captured.clear()
    finally:
        for h in handles:
            h.remove()
        ctx.model.train(was_training)
    return {n: d / count for n, d in diag.items()}


def hessian_diagonal(ctx: PruneContext, estimator: Literal["auto", "ggn", "hutchinson"] = "auto",
                     probes: int = 4) -> dict[str, torch.Tensor]:
    """The loss Hessian's diagonal: exact GGN for cross-entropy (``"auto"``), Hutchinson otherwise."""
    if estimator == "auto":
        exact = ctx.loss_fn is F.cross_entropy and _linear_modules(ctx) is not None
        estimator = "ggn" if exact else "hutchinson"
    if estimator == "ggn":
        return hessian_diagonal_ggn(ctx)
    return hessian_diagonal_hutchinson(ctx, probes)


@score_function(needs_data=True)
def obd(ctx: PruneContext) -> dict[str, torch.Tensor]:
    """OBD saliency ½ h_ii w_i²; the lowest are pruned first."""
    h = hessian_diagonal(ctx)
    return {name: 0.5 * h[name] * param.detach() ** 2 for name, param, _ in ctx.masks.parameters()}
