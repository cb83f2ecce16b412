"""Config pieces shared by the Reber study types: which data, and the recurrent model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sparsewire.reber.data import ReberSplits, load_reber


class ReberDataConfig(BaseModel):
    """The shipped Reber split (Stier et al. 2021): validation carved out of train with ``split_seed``."""

    model_config = ConfigDict(extra="forbid")

    data_dir: str | None = None
    val_size: int = Field(1875, ge=0, le=100_000_000)
    split_seed: int = 0
    train_limit: int | None = Field(None, ge=1, le=1_000_000_000)
    test_limit: int | None = Field(None, ge=1, le=1_000_000_000)

    def identity(self) -> dict[str, Any]:
        """What determines the data (not where it lies)."""
        return self.model_dump(exclude={"data_dir"})

    def load(self) -> ReberSplits:
        return load_reber(self.data_dir, val_size=self.val_size, seed=self.split_seed,
                          train_limit=self.train_limit, test_limit=self.test_limit)


class RecurrentModelConfig(BaseModel):
    """Options of :class:`sparsewire.models.recurrent.RecurrentClassifier` (the cell is chosen per trial)."""

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(32, ge=1, le=100_000)
    num_layers: int = Field(1, ge=1, le=1_000)
    embedding_dim: int | Literal["first-layer"] | None = Field(
        8, description="an int, 'first-layer' (= hidden_size, the authors') or null (one-hot)")
    readout: Literal["last-valid", "last-step"] = Field(
        "last-valid", description="last-valid: each string's last valid step; last-step: the padded batch's last "
        "step (Stier et al.'s)")
    padding_embedding: Literal["zero", "learned"] = Field(
        "zero", description="the padding token's embedding: zero, or learned like any character (the authors')")

    @model_validator(mode="after")
    def _embedding(self) -> RecurrentModelConfig:
        if isinstance(self.embedding_dim, int) and self.embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, 'first-layer' or null, got {self.embedding_dim}")
        return self

    def identity(self) -> dict[str, Any]:
        """The options as a trial records them: ``readout`` and ``padding_embedding`` only when they differ
        from the behaviour of the runs recorded before they existed (so those runs keep their trial ids)."""
        out = self.model_dump()
        for key, old in (("readout", "last-valid"), ("padding_embedding", "zero")):
            if out[key] == old:
                del out[key]
        return out
