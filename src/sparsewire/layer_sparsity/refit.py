"""Refitting (Hebiri & Lederer 2020): retrain the collapsed, shallower network without the layer penalty.

The collapsed network starts from the merged weights (it computes the same function as the penalised
network) and is trained further with an ordinary recipe. A connection or node penalty may be kept
(the layer penalty may not: refitting is what frees the merged layers from it), and so may a pruning
mask: a collapsed model that carries masks (see :func:`~sparsewire.layer_sparsity.collapse.collapse`) keeps them
enforced during refitting.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sparsewire.layer_sparsity.penalties import LayerPenalty, Penalties, Penalty
from sparsewire.layer_sparsity.train import Optimisation, train_penalized
from sparsewire.training import TrainConfig, TrainResult


def refit(
    collapsed: nn.Module,
    train_data: Sequence[torch.Tensor],
    config: TrainConfig,
    *,
    penalty: Penalty | Penalties | None = None,
    optimisation: Optimisation = "proximal",
    val_data: Sequence[torch.Tensor] | None = None,
    seed: int = 0,
    progress: bool = True,
    device: str | torch.device | None = None,
) -> TrainResult:
    """Retrain ``collapsed`` in place from its current (merged) weights; masks it carries stay enforced.

    Raises:
        ValueError: if ``penalty`` contains a :class:`LayerPenalty`.
    """
    members = list(penalty) if isinstance(penalty, Penalties) else [penalty] if penalty is not None else []
    if any(isinstance(p, LayerPenalty) and p.lam > 0 for p in members):
        raise ValueError("refitting trains without the layer penalty; keep only connection/node penalties")
    return train_penalized(collapsed, train_data, config, penalty if members else None, optimisation=optimisation,
                           val_data=val_data, seed=seed, progress=progress, desc="refit", device=device)
