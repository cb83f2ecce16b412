"""The built-in pruning scores (each a :class:`~sparsewire.pruning.score.Score`); higher = kept longer."""

from sparsewire.pruning.score import Score
from sparsewire.pruning.scores.magnitude import magnitude
from sparsewire.pruning.scores.obd import (
    hessian_diagonal,
    hessian_diagonal_ggn,
    hessian_diagonal_hutchinson,
    obd,
)
from sparsewire.pruning.scores.obs import LayerwiseOBS, layer_hessians, obs, refit_rows
from sparsewire.pruning.scores.random import random
from sparsewire.pruning.scores.saliency import saliency

SCORES: dict[str, Score] = {"magnitude": magnitude, "random": random, "obd": obd, "obs": obs, "saliency": saliency}
"""Score name → score; add yours to use it in method strings (``"myscore/class-uniform"``)."""

__all__ = ["SCORES", "LayerwiseOBS", "Score", "hessian_diagonal", "hessian_diagonal_ggn", "hessian_diagonal_hutchinson",
           "layer_hessians", "magnitude", "obd", "obs", "random", "refit_rows", "saliency"]
