"""Config pieces shared by the Reber study types: which data, and the recurrent model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sparsewire.reber.data import ReberSplits, load_reber


class ReberDataConfig(BaseModel):
    """The shipped Reber split (Stier et al. 2021): validation carved out of train with ``split_seed``."""

    model_config = ConfigDict(extra="forbid")

    data_dir: str | None = None
    val_size: int = Field(1875, ge=0)
    split_seed: int = 0
    train_limit: int | None = Field(None, ge=1)
    test_limit: int | None = Field(None, ge=1)

    def identity(self) -> dict[str, Any]:
        """What determines the data (not where it lies)."""
        return self.model_dump(exclude={"data_dir"})

    def load(self) -> ReberSplits:
        return load_reber(self.data_dir, val_size=self.val_size, seed=self.split_seed,
                          train_limit=self.train_limit, test_limit=self.test_limit)


class RecurrentModelConfig(BaseModel):
    """Options of :class:`sparsewire.models.recurrent.RecurrentClassifier` (the cell is chosen per trial)."""

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(32, ge=1)
    num_layers: int = Field(1, ge=1)
    embedding_dim: int | None = Field(8, ge=1)
