"""One network trained with dynamic sparsity from a seeded random sparse mask (Van Gelder et al. 2020's recipe).

``study: dynamic-sparsity`` trains every trial with :func:`train_sparse`; a benchmark that wants a network
trained as the study does calls it with the trial's values.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from sparsewire.dynamic.dnw import DNW
from sparsewire.dynamic.init import Distribution, sparse_init
from sparsewire.dynamic.sparsity import DynamicSparsity, Schedule, steps_per_epoch
from sparsewire.masks import Masks
from sparsewire.training import TrainConfig, TrainResult, train
from sparsewire.training.norms import recalibrate_norms as recalibrate

STATIC = "static"
"""Algorithm name of a network whose random initial mask is never updated (frozen before the first step)."""


class SparseRun(NamedTuple):
    """What :func:`train_sparse` returns; ``dynamic`` holds the initial mask and the per-epoch snapshots."""

    model: nn.Module
    masks: Masks
    dynamic: DynamicSparsity
    result: TrainResult


def train_sparse(
    model: nn.Module,
    train_data: Any,
    config: TrainConfig,
    *,
    algorithm: str,
    density: float,
    seed: int,
    distribution: Distribution = "uniform",
    freeze_epoch: int | None = None,
    update_every: int = 100,
    drop_fraction: float = 0.3,
    drop_schedule: Schedule = "cosine",
    val_data: Any = None,
    progress: bool = False,
    device: torch.device | str | None = None,
    recalibrate_norms: bool = True,
) -> SparseRun:
    """Give ``model`` (freshly initialised, on the CPU) a random mask of ``density`` (``distribution``, drawn
    with a generator seeded by ``seed``), move it to ``device`` (``None``: stay on the CPU) and train it with
    ``algorithm`` (:data:`~sparsewire.dynamic.ALGORITHMS`, or :data:`STATIC`: the mask is never updated),
    freezing the mask after ``freeze_epoch`` epochs (``None``: never).

    DNW starts from the top-k ``|w|`` of the dense initialisation (its latent weights) instead of the random
    mask. Training shuffles with ``seed``; the algorithm's random draws use ``seed + 1``. With
    ``recalibrate_norms`` the batch-norm running statistics are re-estimated for the final mask on ``train_data``
    (:func:`sparsewire.training.recalibrate_norms`; a no-op without batch norm).
    """
    masks = Masks(model)
    dense = {name: masks.parameter(name).detach().clone() for name in masks}
    sparse_init(masks, density, distribution, torch.Generator().manual_seed(seed))
    if device is not None:
        model.to(device)
        dense = {name: weight.to(device) for name, weight in dense.items()}
    static = algorithm == STATIC
    updater = "set" if static else algorithm
    dyn = DynamicSparsity(
        masks, DNW(dense) if updater == "dnw" else updater,
        total_steps=max(1, config.epochs * steps_per_epoch(len(train_data[0]), config.batch_size)),
        update_every=update_every, drop_fraction=drop_fraction,
        schedule=drop_schedule, freeze_epoch=0 if static else freeze_epoch, seed=seed + 1,
    )
    result = train(model, train_data, config, val_data=val_data, seed=seed, masks=masks, **dyn.hooks(),
                   progress=progress, desc=f"{algorithm} d={density} freeze={freeze_epoch}")
    dyn.close()
    if recalibrate_norms:
        recalibrate(model, train_data, config.batch_size)
    return SparseRun(model, masks, dyn, result)
