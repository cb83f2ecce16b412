"""Structural robustness: how much accuracy a trained sparse network keeps under further pruning.

Van Gelder, Wortsman & Ehsani (2020), "Deconstructing the Structure of Sparse Neural Networks":
take a network that an algorithm has already made sparse and trained, remove a further fraction of its
*remaining* weights (by magnitude, no re-training) and measure accuracy. Algorithms differ starkly in how
gracefully their networks degrade; the curve is a property of the structure and weights they found.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from sparsewire.masks import EmptyLayerWarning, Masks
from sparsewire.masks.fractions import check_fraction
from sparsewire.pruning.methods import resolve_method
from sparsewire.pruning.prune import prune
from sparsewire.training import evaluate, recalibrate_norms


def check_fractions(fractions: Sequence[float]) -> list[float]:
    """Validate fractions of the remaining weights to remove: each in (0, 1], sorted, no duplicates."""
    return sorted({check_fraction(f, "(0, 1]", "further-pruning fractions", "fractions of the remaining weights")
                   for f in fractions})


def check_data_free(method: str) -> str:
    """Further pruning runs without training data: refuse scores that need it (OBD, OBS)."""
    if resolve_method(method).needs_data:
        raise ValueError(f"further pruning uses no training data, so {method!r} (which scores with data) is not "
                         "supported; use a magnitude or random method such as 'class-blinded'")
    return method


def pruned_further(model: nn.Module, fraction: float, *, method: str = "class-blinded", seed: int = 0) -> nn.Module:
    """A copy of ``model`` with ``fraction`` of its remaining prunable weights removed by ``method``.

    From compression ``c`` (the model's current one; 0 for an unmasked model) to ``c + fraction·(1 − c)``;
    ``fraction = 1`` removes every prunable weight. ``model`` itself is unchanged.
    """
    (fraction,) = check_fractions([fraction])
    check_data_free(method)
    clone = copy.deepcopy(model)
    masks = Masks.of(clone) if Masks.is_masked(clone) else Masks(clone)
    current, total = masks.sparsity(), masks.total()
    target = current + fraction * (1.0 - current)
    if round(target * total) >= total:  # everything goes (prune() only reaches compressions < 1)
        masks.update({name: torch.zeros_like(m) for name, m in masks.items()}, warn_empty=False)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyLayerWarning)  # a layer may empty at high fractions: the point
            prune(clone, target, method, masks=masks, generator=torch.Generator().manual_seed(seed))
    return clone


@torch.no_grad()
def further_pruning(
    model: nn.Module,
    data: tuple[torch.Tensor, ...],
    fractions: Sequence[float],
    *,
    method: str = "class-blinded",
    seed: int = 0,
    recalibrate_on: Sequence[torch.Tensor] | None = None,
    batch_size: int = 256,
) -> list[float]:
    """Accuracy of ``model`` on ``data`` after removing each fraction of its remaining weights, no re-training.

    Each point is :func:`pruned_further` of the model (``f`` of the surviving weights removed by ``method``,
    default global magnitude, class-blinded), evaluated on ``data``. ``model`` is unchanged.

    Args:
        model: a trained network with its masks attached; an unmasked network is treated as dense (its
            default prunable weights).
        data: ``(inputs, targets)`` to evaluate on.
        fractions: fractions of the remaining weights to remove, each in (0, 1].
        method: a data-free pruning preset (``"class-blinded"``, ``"class-uniform"``, ``"random"``, …).
        seed: random source of the ``random`` method.
        recalibrate_on: if given, training data on which each pruned copy's batch-norm running statistics are
            re-estimated (:func:`sparsewire.training.recalibrate_norms`, batches of ``batch_size``) before it
            is evaluated: what the removed weights cost the structure, rather than what they cost statistics
            measured on the unpruned network. No weight changes.

    Returns:
        Accuracies in the (sorted) order of ``fractions``.
    """
    check_data_free(method)
    if recalibrate_on is None:
        return [evaluate(pruned_further(model, f, method=method, seed=seed), data)["accuracy"]
                for f in check_fractions(fractions)]
    return further_pruning_with_recalibration(model, data, fractions, recalibrate_on, method=method, seed=seed,
                                              batch_size=batch_size)[1]


@torch.no_grad()
def further_pruning_with_recalibration(
    model: nn.Module,
    data: tuple[torch.Tensor, ...],
    fractions: Sequence[float],
    recalibrate_on: Sequence[torch.Tensor],
    *,
    method: str = "class-blinded",
    seed: int = 0,
    batch_size: int = 256,
) -> tuple[list[float], list[float]]:
    """Both curves of :func:`further_pruning` from one pruned copy per fraction: accuracies with the batch-norm
    statistics as trained, and after recalibrating them on ``recalibrate_on`` (each copy is pruned once, tested,
    recalibrated and tested again). Equal to two calls of :func:`further_pruning`, at about half the cost."""
    check_data_free(method)
    as_trained, recalibrated = [], []
    for f in check_fractions(fractions):
        pruned = pruned_further(model, f, method=method, seed=seed)
        as_trained.append(evaluate(pruned, data)["accuracy"])
        recalibrate_norms(pruned, recalibrate_on, batch_size)
        recalibrated.append(evaluate(pruned, data)["accuracy"])
    return as_trained, recalibrated
