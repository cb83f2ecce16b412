"""SNIP (Lee, Ajanthan & Torr 2019): the mask is chosen once, at initialisation, before any training.

Each weight is scored by its connection sensitivity ``|Σ_batches ∂L/∂w · w|`` on a few training batches
(:func:`sparsewire.pruning.scores.saliency`, Eq. 6 of the paper up to its normalisation, which does not change
the ranking) and the highest scores are kept at the target density, with the layer densities of a sparse
training run (:func:`~sparsewire.pruning.allocation.keep_at_density`: ``uniform`` or ``erk``; the paper
ranks globally). The network is then trained sparse with the mask fixed.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch.nn.functional as F
from torch import nn

from sparsewire.batch import ModelLoss, OutputLoss
from sparsewire.masks import Masks
from sparsewire.pruning.allocation import keep_at_density
from sparsewire.pruning.context import Batch, PruneContext
from sparsewire.pruning.scores import saliency


def snip(model: nn.Module, density: float, batches: Iterable[Batch], *, distribution: str = "uniform",
         loss_fn: OutputLoss | ModelLoss = F.cross_entropy) -> Masks:
    """Give ``model`` (freshly initialised, unpruned) the SNIP mask keeping ``density`` of its prunable
    weights: those of highest ``|g·w|`` on ``batches``, allocated by ``distribution``. Returns its masks."""
    masks = Masks.of(model) if Masks.is_masked(model) else Masks(model)
    if masks.remaining() != masks.total():
        raise ValueError("SNIP scores an unpruned network at initialisation; this one is already pruned")
    scores = saliency(PruneContext(model, masks, batches, loss_fn=loss_fn))
    masks.update(keep_at_density(scores, masks, density, distribution))
    return masks
