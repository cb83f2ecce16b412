"""What a pruning score may look at: the model, its masks and (for data-driven scores) some batches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.batch import ModelLoss, OutputLoss, batch_loss, forward
from sparsewire.masks import Masks

Batch = object
"""A batch as a DataLoader yields it: ``(*inputs, target)``, a mapping (target under ``labels``, ...) or a
tensor; see :mod:`sparsewire.batch` for the rule."""


@dataclass
class PruneContext:
    """Everything a score function receives.

    Attributes:
        model: the network being pruned.
        masks: its masks (already-pruned weights are ``False``).
        batches: training batches for data-driven scores (OBD, OBS, saliency): any iterable of batches (a
            list, a DataLoader; read once and kept); ``None`` for magnitude/random.
        loss_fn: ``loss_fn(output, target)`` (cross-entropy by default) or a ``(model, batch)`` loss marked
            with :func:`sparsewire.batch.model_loss`.
        generator: random source for stochastic scores.
    """

    model: nn.Module
    masks: Masks
    batches: Iterable[Batch] | None = None
    loss_fn: OutputLoss | ModelLoss = F.cross_entropy
    generator: torch.Generator = field(default_factory=lambda: torch.Generator().manual_seed(0))

    def require_batches(self, who: str) -> list[Batch]:
        """The batches as a list (an iterator or DataLoader is read once, then kept)."""
        if self.batches is None:
            raise ValueError(f"{who} needs data: pass batches=... (e.g. a few training batches)")
        if not isinstance(self.batches, list):
            self.batches = list(self.batches)
        if not self.batches:
            raise ValueError(f"{who} needs data but got no batches")
        return self.batches

    def loss(self, batch: Batch) -> torch.Tensor:
        """The model's loss on ``batch`` (moved to the model's device), with :attr:`loss_fn`."""
        return batch_loss(self.model, batch, self.loss_fn)

    def forward(self, batch: Batch) -> object:
        """The model's raw output on ``batch``'s inputs (moved to the model's device)."""
        return forward(self.model, batch)

    def masked(self) -> tuple[list[str], list[nn.Parameter]]:
        """Names and parameters of the masked weights, in mask order."""
        names = list(self.masks)
        return names, [self.masks.parameter(n) for n in names]
