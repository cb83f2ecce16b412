"""Pruning scores: ``score(ctx) -> {param name: tensor}``; higher means more important (kept longer)."""

from collections.abc import Callable

import torch

from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.scores.magnitude import magnitude
from sparsewire.pruning.scores.obd import (
    hessian_diagonal,
    hessian_diagonal_ggn,
    hessian_diagonal_hutchinson,
    obd,
)
from sparsewire.pruning.scores.obs import obs, obs_reconstruct
from sparsewire.pruning.scores.random import random
from sparsewire.pruning.scores.saliency import saliency

Score = Callable[[PruneContext], dict[str, torch.Tensor]]

obd.needs_data = True  # type: ignore[attr-defined]
obs.needs_data = True  # type: ignore[attr-defined]

SCORES: dict[str, Score] = {"magnitude": magnitude, "random": random, "obd": obd, "obs": obs, "saliency": saliency}
"""Score name → function; a score that reads training batches sets ``needs_data = True`` on itself."""

__all__ = ["SCORES", "Score", "hessian_diagonal", "hessian_diagonal_ggn", "hessian_diagonal_hutchinson", "magnitude", "obd", "obs", "obs_reconstruct", "random", "saliency"]
