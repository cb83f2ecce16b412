"""Training recipe as a typed config (part of every trial's canonical config)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

#: Most epochs a config may ask for (bounds stop typos such as ``epochs: 1000000000`` before any work).
MAX_EPOCHS = 100_000


class TrainConfig(BaseModel):
    """How a network is trained.

    ``schedule="plateau"`` is the recipe of Stier et al. (2021): after each epoch, if the validation
    accuracy improved by less than ``plateau_threshold`` (absolute), the learning rate is multiplied by
    ``lr_factor``; training stops once it falls below ``min_lr`` (or after ``epochs``).
    ``patience`` enables early stopping on validation accuracy; the best weights are restored.
    ``precision="bf16"`` runs the forward pass under bfloat16 autocast (meant for GPUs; weights, gradients
    and optimizer state stay fp32). It appears in a dump (and so in a trial id) only when not ``fp32``,
    so the trials recorded before it existed keep their ids.
    """

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(10, ge=0, le=MAX_EPOCHS)
    batch_size: int = Field(64, ge=1, le=10_000_000)
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = Field(1e-3, gt=0, le=1e6)
    momentum: float = Field(0.9, ge=0, le=1)
    weight_decay: float = Field(0.0, ge=0, le=1e3)
    schedule: Literal["constant", "plateau", "cosine"] = "constant"
    plateau_threshold: float = Field(1e-3, ge=0, le=1)
    lr_factor: float = Field(0.1, gt=0, lt=1)
    min_lr: float = Field(1e-6, gt=0, le=1e6)
    patience: int | None = Field(None, ge=1, le=MAX_EPOCHS)
    restore_best: bool = True
    grad_clip: float | None = Field(None, gt=0, le=1e12)
    precision: Literal["fp32", "bf16"] = "fp32"

    @model_serializer(mode="wrap")
    def _omit_default_precision(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict:
        data = handler(self)
        if data.get("precision") == "fp32":  # the behaviour before the option existed: not part of ids
            del data["precision"]
        return data
