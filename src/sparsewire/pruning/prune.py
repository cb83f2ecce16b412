"""One pruning step: score → allocation → new masks (→ the score's refit of the survivors, if it has one)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.batch import ModelLoss, OutputLoss
from sparsewire.masks import Masks
from sparsewire.masks.fractions import check_fraction
from sparsewire.pruning.context import Batch, PruneContext
from sparsewire.pruning.methods import Method, resolve_method
from sparsewire.pruning.score import score_and_refit


def check_compression(compression: float) -> float:
    """Validate a compression (fraction of prunable weights removed) in [0, 1)."""
    return check_fraction(compression, "[0, 1)", "compression", "fraction of prunable weights removed")


def prune(
    model: nn.Module,
    compression: float,
    method: str | Method = "class-blinded",
    *,
    masks: Masks | None = None,
    batches: Iterable[Batch] | None = None,
    generator: torch.Generator | None = None,
    loss_fn: OutputLoss | ModelLoss = F.cross_entropy,
    max_batches: int | None = None,
) -> Masks:
    """Prune ``model`` until ``compression`` of its prunable weights are removed.

    Compression is counted over all masked weights (sparsity, not density). Pruning never revives a
    weight: already-pruned weights stay pruned, and the step removes the missing fraction of what
    remains. With class-uniform allocation every layer ends at the same compression.

    Args:
        model: the network (masks are attached if it has none).
        compression: target fraction of prunable weights removed, in [0, 1).
        method: a preset (``"class-blinded"``, ``"class-uniform"``, ``"class-distributed"``, ``"random"``,
            ``"obd"``, ``"obs"``, ``"2:4"``) or ``"score/allocation"`` (allocation may be ``"N:M"``, whose
            compression must be ``1 - N/M``).
        masks: masks to use (default: those on ``model``, created if absent).
        batches: training batches for data-driven scores (OBD, OBS, saliency): a list, a DataLoader or any
            iterable of tensors, tuples ``(*inputs, target)`` or dicts (see :mod:`sparsewire.batch`); each is
            moved to the model's device.
        generator: random source for the random score.
        loss_fn: ``loss_fn(output, target)`` (default cross-entropy on the output's logits) or a
            ``(model, batch) -> loss`` callable marked with :func:`sparsewire.batch.model_loss`.
        max_batches: read at most this many of ``batches`` (e.g. the first 8 of a DataLoader).

    Returns:
        The model's :class:`Masks`, updated in place.
    """
    compression = check_compression(compression)
    method = resolve_method(method) if isinstance(method, str) else method
    method.check(compression)
    masks = masks if masks is not None else Masks(model)
    current = masks.sparsity()
    if compression < current - 1e-12:
        raise ValueError(
            f"model is already at compression {current:.4f}; pruning cannot reach the lower {compression:.4f}"
        )
    if batches is not None and max_batches is not None:
        batches = itertools.islice(batches, max_batches)
    ctx = PruneContext(model, masks, batches, loss_fn=loss_fn, generator=generator or torch.Generator().manual_seed(0))
    scores, refit = score_and_refit(method.score, ctx)
    masks.update(method.allocation(scores, masks, compression))
    if refit is not None:
        refit(masks)
        masks.apply()
    return masks
