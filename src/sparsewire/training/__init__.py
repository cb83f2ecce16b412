"""Seeded training and evaluation with masks enforced after every optimizer step."""

from sparsewire.training.config import TrainConfig
from sparsewire.training.loop import TrainResult, batches, evaluate, make_optimizer, train

__all__ = ["TrainConfig", "TrainResult", "batches", "evaluate", "make_optimizer", "train"]
