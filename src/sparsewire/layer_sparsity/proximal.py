"""Proximal operators of the layer-, connection- and node-sparsity penalties (in place, exact zeros).

For a penalty ``g`` and step ``t`` the proximal step is ``prox_{t g}(v) = argmin_u ½‖u - v‖² + t g(u)``.
Applied after every gradient step it gives proximal gradient descent, whose iterates hold *exact*
zeros where the penalty is not differentiable — which a subgradient step never produces.

- ``g = ‖v‖₁`` (connection sparsity): soft-thresholding ``sign(v) max(|v| - t, 0)``.
- ``g = Σ_rows ‖v_i‖₂`` (node sparsity, group lasso over a neuron's incoming weights and bias):
  ``v_i max(0, 1 - t / ‖v_i‖₂)``.
- ``g = ‖neg(v)‖₂`` with ``neg(v) = min(v, 0)`` (layer sparsity, Hebiri & Lederer 2020):
  positive entries are untouched and the negative part is shrunk as one group,
  ``pos(v) + neg(v) max(0, 1 - t / ‖neg(v)‖₂)``. (``g`` is convex: ``‖max(-v, 0)‖₂`` is a monotone norm of
  a convex non-negative map; on positive entries ``g`` is constant, so the prox keeps them, and on the
  negative ones it is the group-lasso prox, whose output stays ``≤ 0``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _check_step(step: float) -> None:
    if step < 0:
        raise ValueError(f"proximal step size must be non-negative, got {step}")


@torch.no_grad()
def soft_threshold_(tensor: torch.Tensor, step: float) -> None:
    """``prox`` of ``step·‖·‖₁`` in place: entries with ``|v| ≤ step`` become exactly 0."""
    _check_step(step)
    tensor.copy_(tensor.sign() * (tensor.abs() - step).clamp_min(0))


@torch.no_grad()
def row_group_threshold_(weight: torch.Tensor, bias: torch.Tensor | None, step: float) -> None:
    """``prox`` of ``step·Σ_i ‖[W_i, b_i]‖₂`` in place (rows = a neuron's incoming weights and bias)."""
    _check_step(step)
    sq = weight.flatten(1).pow(2).sum(1)
    if bias is not None:
        sq = sq + bias.pow(2)
    norm = sq.sqrt()
    scale = torch.where(norm > step, 1 - step / norm.clamp_min(torch.finfo(norm.dtype).tiny), torch.zeros_like(norm))
    weight.mul_(scale.view(-1, *([1] * (weight.dim() - 1))))
    if bias is not None:
        bias.mul_(scale)


@torch.no_grad()
def negative_group_threshold_(tensors: Sequence[torch.Tensor], step: float) -> None:
    """``prox`` of ``step·‖neg(v)‖₂`` in place, ``v`` = all entries of ``tensors`` as one group.

    Positive entries are kept; the negative part is scaled by ``max(0, 1 - step/‖neg(v)‖₂)`` and so
    becomes exactly zero, all at once, when its norm is at most ``step``.
    """
    _check_step(step)
    norm = torch.sqrt(sum((t.clamp(max=0).pow(2).sum() for t in tensors), torch.zeros(())))
    if float(norm) == 0.0:
        return
    scale = max(0.0, 1.0 - step / float(norm))
    for t in tensors:
        t.copy_(t.clamp(min=0) + scale * t.clamp(max=0))
