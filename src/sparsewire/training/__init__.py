"""Seeded training and evaluation with masks enforced after every optimizer step."""

from sparsewire.training.config import TrainConfig
from sparsewire.training.loop import TrainResult, TrainState, batches, evaluate, make_optimizer, train
from sparsewire.training.norms import recalibrate_norms, running_norms

__all__ = ["TrainConfig", "TrainResult", "TrainState", "batches", "evaluate", "make_optimizer", "recalibrate_norms",
           "running_norms", "train"]
