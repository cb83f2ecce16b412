"""Config pieces shared by study types: dataset, model, and the cached dense network of a seed."""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from sparsewire.studies.identity import config_hash


class DatasetConfig(BaseModel):
    """Which dataset, where to find it and how to split it (the split seed is fixed across trial seeds)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "mnist"
    data_dir: str | None = None
    val_size: int = Field(10000, ge=0)
    split_seed: int = 0
    train_limit: int | None = Field(None, ge=1)
    download: bool = True

    def identity(self) -> dict[str, Any]:
        """What determines the data (not where it lies)."""
        return self.model_dump(exclude={"data_dir", "download"})


class ModelConfig(BaseModel):
    """A model from :data:`sparsewire.models.MODELS` and its options."""

    model_config = ConfigDict(extra="forbid")

    name: str = "mlp-100"
    options: dict[str, Any] = Field(default_factory=dict)


@functools.lru_cache(maxsize=4)
def _splits(name: str, data_dir: str | None, val_size: int, split_seed: int, train_limit: int | None, download: bool):
    from sparsewire.data import load_dataset

    return load_dataset(
        name, data_dir=data_dir, val_size=val_size, seed=split_seed, train_limit=train_limit, download=download
    )


def load_splits(config: DatasetConfig):
    """Load (and cache in this process) the dataset splits a config names."""
    return _splits(config.name, config.data_dir, config.val_size, config.split_seed, config.train_limit, config.download)


def build(model: ModelConfig, splits: Any) -> nn.Module:
    from sparsewire.models import build_model

    return build_model(model.name, splits.input_shape, splits.num_classes, **model.options)


def cached(cache_dir: Path, key: dict[str, Any], make: Any) -> dict[str, Any]:
    """Load ``cache_dir/<hash(key)>.pt`` or create it with ``make()`` (written atomically)."""
    path = cache_dir / f"{config_hash(key)}.pt"
    if path.exists():
        return torch.load(path, weights_only=False)
    value = make()
    tmp = path.with_suffix(f".tmp{uuid.uuid4().hex}")
    torch.save(value, tmp)
    tmp.replace(path)
    return value
