"""RigL, Rigging the Lottery (Evci et al. 2020, ICML): regrow where the dense gradient is largest.

Masked weights are exact zeros that stay in the autograd graph (see :mod:`sparsewire.masks`), so after
``loss.backward()`` ``param.grad`` holds the *dense* gradient, pruned positions included: that is the
signal RigL grows from.
"""

from __future__ import annotations

import torch

from sparsewire.dynamic.base import DynamicSparsityError, GrowthRule, top_candidates


class RigL(GrowthRule):
    """Grow the ``k`` non-kept connections with the largest dense-gradient magnitude ``|∂L/∂w|``."""

    name = "rigl"

    def grow(self, weight: torch.nn.Parameter, candidates: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        if weight.grad is None:
            raise DynamicSparsityError("RigL needs the dense gradient: update after loss.backward() (post_step)")
        return top_candidates(weight.grad.abs(), candidates, k)
