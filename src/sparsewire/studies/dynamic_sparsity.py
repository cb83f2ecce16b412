"""``study: dynamic-sparsity`` — how early dynamic sparse training settles its structure, and freezing it.

Van Gelder, Wortsman & Ehsani (2020), "Deconstructing the Structure of Sparse Neural Networks": the mask
a dynamic sparse algorithm (here SET, Mocanu et al. 2018; RigL, Evci et al. 2020; SNFS, Dettmers &
Zettlemoyer 2019; DNW, Wortsman et al. 2019) ends with is largely found within the first epoch, so the mask
can be frozen after about one epoch at little cost, and training is purely sparse after it.
A trial trains one network from a random sparse mask (density, ``uniform`` or ``erk`` allocation) with
one algorithm and freezes its mask after ``freeze_epoch`` epochs (``None``: never; ``0``: never
updated, a static random sparse network, run once per density and seed as algorithm ``static``).
Trials of one seed share the initial weights and mask, so a frozen run follows its never-frozen run
exactly up to the freeze. Each row records the global Jaccard overlap of every epoch's mask (epoch 0 =
the initial mask) with the final one and the overlap expected by chance
(:func:`sparsewire.graphs.compare.compare_masks`), and what the algorithm's dense gradients cost: the steps
at which it read one, those freezing saved against the never-frozen run, and the training FLOPs
(:mod:`sparsewire.dynamic.cost`). ``update_every`` and ``drop_fraction`` are shared by all algorithms;
SNFS updates at the end of each epoch (its paper's cadence) and DNW after every step, whatever
``update_every`` says. DNW starts from the top-k ``|w|`` of the seed's dense initialisation (its latent
weights) rather than from the random mask the other algorithms share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import torch
from pydantic import ConfigDict, Field, field_validator, model_validator

from sparsewire.dynamic import (
    ALGORITHMS,
    STATIC,
    DynamicSparsity,
    SparseRun,
    check_density,
    check_drop_fraction,
    train_sparse,
    training_cost,
    weight_uses,
)
from sparsewire.graphs.compare import compare_masks
from sparsewire.masks import Masks
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import dynamic_sparsity as reports
from sparsewire.results.reports.dynamic_sparsity import NEVER
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import (
    DatasetConfig,
    DeviceOption,
    FurtherPruningOptions,
    ModelConfig,
    build,
    further_pruning_columns,
    load_splits,
)
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, evaluate, train

if TYPE_CHECKING:
    from sparsewire.studies.common import StudySplits


class DynamicSparsityConfig(FurtherPruningOptions, DeviceOption):
    """Config of ``study: dynamic-sparsity`` (unknown keys are errors).

    Restoring the best validation epoch (``train.restore_best``) is switched off: it would also restore
    that epoch's mask.
    """

    model_config = ConfigDict(extra="forbid")

    study: Literal["dynamic-sparsity"] = "dynamic-sparsity"
    name: str = "dynamic-sparsity"
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    models: list[ModelConfig] = Field(default_factory=lambda: [ModelConfig()], min_length=1)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=10, restore_best=False))
    algorithms: list[str] = Field(default_factory=lambda: ["set", "rigl"], min_length=1)
    densities: list[float] = Field(default_factory=lambda: [0.1], min_length=1)
    distribution: Literal["uniform", "erk"] = "uniform"
    freeze_epochs: list[int | None] = Field(default_factory=lambda: [None, 1, 2, 5], min_length=1)
    update_every: int = Field(100, ge=1, le=100_000_000, description="optimizer steps between mask updates")
    drop_fraction: float = Field(0.3, description="initial fraction of kept weights replaced per update")
    drop_schedule: Literal["cosine", "constant"] = "cosine"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    reinit_seeds: list[int] = Field(default_factory=list, description=(
        "re-initialisations (Van Gelder et al. 2020): after training, the final mask is trained again with the "
        "same recipe from fresh random weights, once per seed listed; empty (default): not run"))

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in ALGORITHMS:
                raise ValueError(f"unknown dynamic sparse algorithm {name!r}; choose from {sorted(ALGORITHMS)}")
        return names

    @field_validator("densities")
    @classmethod
    def _densities(cls, values: list[float]) -> list[float]:
        return [check_density(v) for v in values]

    @field_validator("drop_fraction")
    @classmethod
    def _drop_fraction(cls, value: float) -> float:
        return check_drop_fraction(value)

    @field_validator("freeze_epochs", mode="before")
    @classmethod
    def _never(cls, values: Any) -> Any:
        if isinstance(values, list):
            return [None if isinstance(v, str) and v.lower() in ("none", NEVER) else v for v in values]
        return values

    @model_validator(mode="after")
    def _consistent(self) -> DynamicSparsityConfig:
        if "restore_best" in self.train.model_fields_set and self.train.restore_best:
            raise ValueError("train.restore_best must be false: restoring the best epoch would restore its mask too")
        self.train = self.train.model_copy(update={"restore_best": False})
        for f in self.freeze_epochs:
            if f is not None and not 0 <= f < self.train.epochs:
                raise ValueError(f"freeze epoch {f} must be in [0, train.epochs={self.train.epochs}) "
                                 "(use none for never freezing)")
        return self


class DynamicSparsityTrial(TrialConfig):
    """One trial of ``study: dynamic-sparsity``: a model trained from a random mask of ``density`` by
    ``algorithm`` (or ``static``), its mask frozen after ``freeze_epoch`` epochs (``None``: never)."""

    dataset: DatasetConfig
    dataset_identity: dict[str, Any]
    train: TrainConfig
    distribution: Literal["uniform", "erk"]
    update_every: int
    drop_fraction: float
    drop_schedule: Literal["cosine", "constant"]
    further_pruning: Recorded[list[float]] = []
    further_pruning_method: Recorded[str | None] = None
    reinit_seeds: Recorded[list[int]] = []
    model: ModelConfig
    density: float
    seed: int
    algorithm: str
    freeze_epoch: int | None


@register
class DynamicSparsityStudy(StudyType[DynamicSparsityConfig, DynamicSparsityTrial]):
    name = "dynamic-sparsity"
    Config = DynamicSparsityConfig
    TrialConfig = DynamicSparsityTrial

    def check(self, config: DynamicSparsityConfig) -> None:
        splits = load_splits(config.dataset)
        for model_cfg in config.models:
            Masks(build(model_cfg, splits))

    def trials(self, config: DynamicSparsityConfig) -> list[DynamicSparsityTrial]:
        shared = {"dataset": config.dataset, "dataset_identity": config.dataset.identity(), "train": config.train,
                  "distribution": config.distribution, "update_every": config.update_every,
                  "drop_fraction": config.drop_fraction, "drop_schedule": config.drop_schedule,
                  **config.trial_options(), "reinit_seeds": config.reinit_seeds}
        out = []
        for model in config.models:
            for density in config.densities:
                for seed in config.seeds:
                    base = {**shared, "model": model, "density": density, "seed": seed}
                    if 0 in config.freeze_epochs:
                        out.append(DynamicSparsityTrial(**base, algorithm=STATIC, freeze_epoch=0))
                    for algorithm in config.algorithms:
                        for freeze in config.freeze_epochs:
                            if freeze != 0:
                                out.append(DynamicSparsityTrial(**base, algorithm=algorithm, freeze_epoch=freeze))
        return out

    def run_trial(self, trial: DynamicSparsityTrial, context: TrialContext) -> dict[str, Any]:
        start = time.perf_counter()
        splits = load_splits(trial.dataset)
        seed = trial.seed
        model, masks, dyn, result = _train_sparse(trial, splits, progress=context.progress, device=context.torch_device())
        cost = freeze_savings(masks, dyn, splits.train, result.epochs)
        final = masks.state()
        overlaps = [compare_masks(m, final)["global"] for m in [dyn.initial, *dyn.snapshots]]
        return {
            "dataset": trial.dataset.name,
            "model": trial.model.name,
            "algorithm": trial.algorithm,
            "distribution": trial.distribution,
            "density": trial.density,
            "freeze_epoch": trial.freeze_epoch,
            "seed": seed,
            "test_accuracy": evaluate(model, splits.test)["accuracy"],
            "val_accuracy": evaluate(model, splits.val)["accuracy"],
            "epochs": result.epochs,
            "density_actual": masks.density(),
            "layer_density": masks.densities(),
            "mask_updates": sum(u.replaced > 0 for u in dyn.updates),
            "replaced_per_epoch": dyn.replaced_per_epoch(),
            "jaccard_to_final": [o["jaccard"] for o in overlaps],
            "chance_jaccard_to_final": [o["expected_jaccard"] for o in overlaps],
            "corrected_jaccard_to_final": [o["chance_corrected"] for o in overlaps],
            "jaccard_epoch1_to_final": overlaps[1]["jaccard"] if len(overlaps) > 1 else math.nan,
            **cost,
            **reinit_columns(trial, splits, final, device=context.torch_device()),
            **further_pruning_columns(model, splits.test, trial),
            "train_seconds": result.seconds,
            "trial_seconds": time.perf_counter() - start,
            "history": mask_history(result.history, dyn.replaced_per_epoch(), [o["jaccard"] for o in overlaps],
                                    trial.density),
        }

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)


def _train_sparse(trial: DynamicSparsityTrial, splits: StudySplits, *, progress: bool = False,
                  device: torch.device | None = None) -> SparseRun:
    """The network of one trial, built with the trial's seed on the CPU and trained by
    :func:`sparsewire.dynamic.train_sparse` on ``device`` (``None``: the CPU)."""
    torch.manual_seed(trial.seed)
    model = build(trial.model, splits)
    return train_sparse(
        model, splits.train, trial.train, val_data=splits.val, algorithm=trial.algorithm,
        density=trial.density, seed=trial.seed, distribution=trial.distribution,
        freeze_epoch=trial.freeze_epoch, update_every=trial.update_every,
        drop_fraction=trial.drop_fraction, drop_schedule=trial.drop_schedule, progress=progress, device=device)


def mask_history(history: list[dict[str, Any]], replaced: list[int], jaccard: list[float],
                 density: float) -> list[dict[str, Any]]:
    """The training history with each epoch's mask changes: connections replaced in the epoch and the
    Jaccard overlap of the mask after it with the final mask (``jaccard[0]`` is the initial mask's)."""
    return [history_entries([entry], density=density,
                            replaced=replaced[i] if i < len(replaced) else 0,
                            jaccard_to_final=jaccard[i + 1] if i + 1 < len(jaccard) else None)[0]
            for i, entry in enumerate(history)]


def reinit_columns(trial: DynamicSparsityTrial, splits: StudySplits, mask: dict[str, torch.Tensor], *,
                   device: torch.device | None = None) -> dict[str, Any]:
    """Structure kept, weights re-drawn: ``mask`` trained from a fresh initialisation per reinit seed, with the
    trial's recipe and batch order, mask fixed (static), on ``device`` (weights drawn on the CPU, then moved).
    Nothing when the trial names no reinit seeds."""
    if not trial.reinit_seeds:
        return {}
    accuracies = []
    for r in trial.reinit_seeds:
        torch.manual_seed(1_000_003 * (r + 1) + trial.seed)  # never the trial's own initialisation
        model = build(trial.model, splits)
        masks = Masks(model)
        masks.update(mask)
        if device is not None:
            model.to(device)
        train(model, splits.train, trial.train, val_data=splits.val, seed=trial.seed, masks=masks, progress=False)
        accuracies.append(evaluate(model, splits.test)["accuracy"])
    return {"reinit_test_accuracy": accuracies, "reinit_test_accuracy_mean": sum(accuracies) / len(accuracies)}


def freeze_savings(masks: Masks, dyn: DynamicSparsity, train_data: Sequence[torch.Tensor], epochs: int) -> dict[str, Any]:
    """Row columns: dense-gradient steps read and saved by freezing, and training GFLOPs
    (:func:`sparsewire.dynamic.training_cost`; ``flops_saved_fraction`` is of the never-frozen run's FLOPs)."""
    uses = weight_uses(masks, *[t[:2] for t in train_data[:-1]])
    cost = training_cost(masks, uses, examples=epochs * len(train_data[0]), steps=dyn.step,
                         dense_steps=dyn.dense_gradient_steps, dense_steps_unfrozen=dyn.dense_gradient_steps_unfrozen())
    return {"dense_grad_steps": cost.dense_gradient_steps, "dense_grad_steps_saved": cost.dense_gradient_steps_saved,
            "train_gflops": cost.train_flops / 1e9, "dense_grad_gflops": cost.dense_gradient_flops / 1e9,
            "gflops_saved": cost.flops_saved / 1e9, "flops_saved_fraction": cost.flops_saved_fraction}
