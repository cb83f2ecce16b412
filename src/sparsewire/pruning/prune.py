"""One pruning step: score → allocation → new masks (→ optional weight reconstruction)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.batch import ModelLoss, OutputLoss
from sparsewire.masks import Masks
from sparsewire.pruning.context import Batch, PruneContext
from sparsewire.pruning.methods import Method, resolve_method


def check_compression(compression: float) -> float:
    """Validate a compression (fraction of prunable weights removed) in [0, 1)."""
    compression = float(compression)
    if not 0.0 <= compression < 1.0:
        raise ValueError(f"compression (fraction of prunable weights removed) must be in [0, 1), got {compression}")
    return compression


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
    if method.fixed_density is not None and abs(compression - (1 - method.fixed_density)) > 1e-9:
        raise ValueError(f"{method.allocation_name} pruning keeps {method.fixed_density:g} of every group: pass "
                         f"compression {1 - method.fixed_density:g}, not {compression:g}")
    masks = masks if masks is not None else Masks(model)
    current = masks.sparsity()
    if compression < current - 1e-12:
        raise ValueError(
            f"model is already at compression {current:.4f}; pruning cannot reach the lower {compression:.4f}"
        )
    if method.allocation_name == "class-uniform":
        # the same final compression in every layer, whatever each layer's current density
        amount: float | dict[str, float] = {
            name: 0.0 if kept == 0 else max(0.0, 1.0 - (total - round(compression * total)) / kept)
            for name, (kept, total) in masks.counts().items()
        }
    else:
        # from whole counts: 1 - (1 - c) / (1 - current) in floats can land just above a .5 boundary
        # (c = 0.15 of 950 weights gave 143 removed instead of round(142.5) = 142)
        total, kept = masks.total(), masks.remaining()
        amount = 0.0 if kept == 0 else max(0.0, (kept - (total - round(compression * total))) / kept)
    if batches is not None and max_batches is not None:
        batches = itertools.islice(batches, max_batches)
    ctx = PruneContext(model, masks, batches, loss_fn=loss_fn, generator=generator or torch.Generator().manual_seed(0))
    new = method.allocation(method.score(ctx), masks, amount)
    masks.update(new)
    reconstruct = getattr(method.score, "reconstruct", None)
    if reconstruct is not None:
        reconstruct(ctx)
        masks.apply()
    return masks
