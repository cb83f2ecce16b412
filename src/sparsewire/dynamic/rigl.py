"""RigL, Rigging the Lottery (Evci et al. 2020, ICML): regrow where the dense gradient is largest.

Drop score: ``|θ|`` (``ArgTopK(−|θ|, k)`` over the kept weights, Sec. 3); grow score: ``|∇_θ L|`` of the
dense gradient (``ArgTopK(|∇_θ L|, k)`` over the positions not kept after the drop); schedule: every ``ΔT``
steps, ``k = f_decay(t) · (1 − s_l) · N_l`` per layer with the cosine decay ``f_decay(t) = α/2 (1 + cos(π t /
T_end))`` (Eq. 1 of the paper). RigL needs the dense gradient only at its updates.

Masked weights are exact zeros that stay in the autograd graph (see :mod:`sparsewire.masks`), so after
``loss.backward()`` ``param.grad`` holds the *dense* gradient, pruned positions included.
"""

from __future__ import annotations

import torch

from sparsewire.dynamic.base import DynamicSparsityError, MaskUpdater


class RigL(MaskUpdater):
    """Drop the smallest-magnitude kept weights; grow as many where ``|∂L/∂w|`` is largest."""

    name = "rigl"
    grow_score = "|dL/dw| of the dense gradient at the update step"
    dense_gradient = "at-updates"

    def grow_scores(self, name: str, weight: torch.nn.Parameter, candidates: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
        if weight.grad is None:
            raise DynamicSparsityError("RigL needs the dense gradient: update after loss.backward() (post_step)")
        return weight.grad.abs()
