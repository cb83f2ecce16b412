"""What a pruning score may look at: the model, its masks and (for data-driven scores) some batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.masks import Masks

Batch = Sequence[torch.Tensor]
"""A batch is a tuple of tensors; the last one is the target, the others are the model's inputs."""


@dataclass
class PruneContext:
    """Everything a score function receives.

    Attributes:
        model: the network being pruned.
        masks: its masks (already-pruned weights are ``False``).
        batches: training batches for data-driven scores (OBD, OBS); ``None`` for magnitude/random.
        loss_fn: ``loss_fn(output, target)``; cross-entropy by default.
        generator: random source for stochastic scores.
    """

    model: nn.Module
    masks: Masks
    batches: Iterable[Batch] | None = None
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy
    generator: torch.Generator = field(default_factory=lambda: torch.Generator().manual_seed(0))

    def require_batches(self, who: str) -> list[Batch]:
        if self.batches is None:
            raise ValueError(f"{who} needs data: pass batches=... (e.g. a few training batches)")
        batches = list(self.batches)
        if not batches:
            raise ValueError(f"{who} needs data but got no batches")
        return batches

    def masked(self) -> tuple[list[str], list[nn.Parameter]]:
        """Names and parameters of the masked weights, in mask order."""
        names = list(self.masks)
        return names, [self.masks.parameter(n) for n in names]
