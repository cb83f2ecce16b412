"""``study: prune`` — train dense, prune (one-shot or iterative), re-train, compare methods.

Reproduces the MNIST comparison of Stier, Darji & Granitzer (2021), Sec. 4.1: magnitude pruning with
class-blinded, class-uniform and class-distributed allocation (plus random, OBD, OBS) at several
compressions, with re-training. The dense network of each seed is trained once and shared by all of its
trials (cached in ``DIR/cache``). Method ``"none"`` is the unpruned baseline re-trained with the same
recipe, so every pruned result has a baseline that saw exactly as much training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import torch
from pydantic import ConfigDict, Field, field_validator, model_validator

from sparsewire.masks import Masks
from sparsewire.pruning import (
    check_compression,
    prune,
    reinitialize,
    resolve_method,
    rewind,
    schedule,
    snapshot,
)
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import prune as reports
from sparsewire.results.reports.prune import BASELINE
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import (
    DatasetConfig,
    DeviceOption,
    FurtherPruningOptions,
    ModelConfig,
    build,
    cached,
    further_pruning_columns,
    load_splits,
)
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, batches, evaluate, train

if TYPE_CHECKING:
    from sparsewire.studies.common import StudySplits

Rewind = Literal["none", "init", "epoch", "reinit"]


def _one_shot() -> list[Literal["one-shot", "iterative", "gradual"]]:
    return ["one-shot"]


class PruneStudyConfig(FurtherPruningOptions, DeviceOption):
    """Config of ``study: prune`` (every key is checked; unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["prune"] = "prune"
    name: str = "prune"
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    models: list[ModelConfig] = Field(default_factory=lambda: [ModelConfig()], min_length=1)
    train: TrainConfig = Field(default_factory=TrainConfig)
    retrain: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=3))
    methods: list[str] = Field(default_factory=lambda: ["class-blinded", "class-uniform", "class-distributed", "random"],
                               min_length=1)
    compressions: list[float] = Field(default_factory=lambda: [0.5, 0.8, 0.9, 0.95], min_length=1)
    schedules: list[Literal["one-shot", "iterative", "gradual"]] = Field(default_factory=_one_shot, min_length=1)
    iterative_rate: float = Field(0.5, gt=0, lt=1)
    gradual_rounds: int = Field(5, ge=1, le=10_000, description="rounds of the cubic (Zhu & Gupta 2017) schedule")
    prune_at: Literal["trained", "init"] = "trained"
    """``trained`` (default): prune the trained dense network, then re-train. ``init``: prune the freshly
    initialised network (pruning at initialisation, as SNIP intends) and train it from scratch with the
    ``retrain`` recipe; one-shot only, no rewinding, and the ``none`` baseline is the dense network trained
    with that same recipe."""
    rewind: Rewind | list[Rewind] = "none"
    rewind_epoch: int = Field(1, ge=1, le=100_000)
    prune_batches: int = Field(8, ge=1, le=1_000_000)
    prunable: str | None = Field(None, description="regex over parameter names; default: weights of Linear/Conv/RNN")
    baseline: bool = True
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)

    @field_validator("methods")
    @classmethod
    def _methods(cls, methods: list[str]) -> list[str]:
        for m in methods:
            if m != BASELINE:
                resolve_method(m)
        return methods

    @model_validator(mode="after")
    def _at_init(self) -> PruneStudyConfig:
        rewinds = self.rewind if isinstance(self.rewind, list) else [self.rewind]
        if self.prune_at == "init" and (self.schedules != ["one-shot"] or rewinds != ["none"]):
            raise ValueError("prune_at: init prunes once before any training: use schedules: [one-shot] and rewind: none")
        return self

    @field_validator("compressions")
    @classmethod
    def _compressions(cls, values: list[float]) -> list[float]:
        return [check_compression(v) for v in values]


class PruneTrial(TrialConfig):
    """One trial of ``study: prune``: a model and seed, trained dense (or not, ``prune_at: init``), pruned by
    ``method`` to ``compression`` on ``schedule`` with ``rewind``, and re-trained."""

    dataset: DatasetConfig
    dataset_identity: dict[str, Any]
    """What determines the data (:meth:`DatasetConfig.identity`); keys the cached dense network."""
    train: TrainConfig
    retrain: TrainConfig
    rewind_epoch: int
    prune_batches: int
    prunable: Recorded[str | None] = None
    prune_at: Recorded[Literal["trained", "init"]] = "trained"
    further_pruning: Recorded[list[float]] = []
    further_pruning_method: Recorded[str | None] = None
    further_pruning_recalibrate: Recorded[bool] = False
    model: ModelConfig
    seed: int
    rewind: Rewind
    method: str
    compression: float
    schedule: Literal["one-shot", "iterative", "gradual"]
    rate: float | None
    rounds: Recorded[int | None] = None
    """Rounds of the gradual schedule (only gradual trials have them)."""

    def dense_key(self) -> dict[str, Any]:
        """The cache key of the seed's dense network (shared by every trial that starts from it)."""
        key = {"dense": 1, "dataset": self.dataset_identity, "model": self.model.model_dump(),
               "train": self.train.model_dump(), "seed": self.seed, "rewind_epoch": self.rewind_epoch}
        if self.prunable is not None:
            key["prunable"] = self.prunable
        return key


def _dense(trial: PruneTrial, context: TrialContext, splits: StudySplits) -> dict[str, Any]:
    """Train (or load) the dense network of one seed; keeps the init and the rewind point."""
    seed = trial.seed

    def make() -> dict[str, Any]:
        torch.manual_seed(seed)
        model = build(trial.model, splits)  # built on the CPU: the same initial weights on every device
        Masks(model, prunable=trial.prunable)
        init = snapshot(model)
        model.to(context.torch_device())
        point: dict[str, Any] = {}

        def keep(epoch: int, m: torch.nn.Module) -> None:
            if epoch == trial.rewind_epoch:
                point["state"] = snapshot(m)

        result = train(model, splits.train, trial.train, val_data=splits.val, seed=seed, progress=context.progress,
                       desc=f"dense seed {seed}", on_epoch=keep, device=context.torch_device())
        return {
            "state": model.state_dict(),
            "init": init,
            "rewind_point": point.get("state"),
            "test_accuracy": evaluate(model, splits.test)["accuracy"],
            "seconds": result.seconds,
            "epochs": result.epochs,
            "history": history_entries(result.history, phase="train", density=1.0),
        }

    return cached(context.cache_dir, trial.dense_key(), make)


@register
class PruneStudy(StudyType[PruneStudyConfig, PruneTrial]):
    name = "prune"
    Config = PruneStudyConfig
    TrialConfig = PruneTrial

    def check(self, config: PruneStudyConfig) -> None:
        splits = load_splits(config.dataset)  # a missing or corrupt dataset fails here, before any training
        for model_cfg in config.models:
            Masks(build(model_cfg, splits), prunable=config.prunable)  # unknown model or nothing prunable fails here
        config.warn_stale_norms(config.models)

    def trials(self, config: PruneStudyConfig) -> list[PruneTrial]:
        shared = {"dataset": config.dataset, "dataset_identity": config.dataset.identity(), "train": config.train,
                  "retrain": config.retrain, "rewind_epoch": config.rewind_epoch, "prune_batches": config.prune_batches,
                  "prunable": config.prunable, "prune_at": config.prune_at, **config.trial_options()}
        rewinds = config.rewind if isinstance(config.rewind, list) else [config.rewind]
        out = []
        for model in config.models:
            for seed in config.seeds:
                base = {**shared, "model": model, "seed": seed}
                if config.baseline:
                    out.append(PruneTrial(**base, rewind="none", method=BASELINE, compression=0.0, schedule="one-shot",
                                          rate=None))
                for method in config.methods:
                    if method == BASELINE:
                        continue
                    for sched in config.schedules:
                        for c in config.compressions:
                            for policy in rewinds:
                                out.append(PruneTrial(
                                    **base, rewind=policy, method=method, compression=c, schedule=sched,
                                    rate=config.iterative_rate if sched == "iterative" else None,
                                    rounds=config.gradual_rounds if sched == "gradual" else None))
        return out

    def model_for(self, trial: PruneTrial, result: Mapping[str, Any] | None = None) -> torch.nn.Module:
        return build(trial.model, load_splits(trial.dataset))

    def run_trial(self, trial: PruneTrial, context: TrialContext) -> dict[str, Any]:
        splits = load_splits(trial.dataset)
        at_init = trial.prune_at == "init"
        seed = trial.seed
        torch.manual_seed(seed)
        model = build(trial.model, splits)
        masks = Masks(model, prunable=trial.prunable)
        if at_init:  # the same initial weights _dense starts from; nothing trained yet
            dense: dict[str, Any] = {"init": snapshot(model), "rewind_point": None, "test_accuracy": math.nan,
                                     "seconds": 0.0}
        else:
            dense = _dense(trial, context, splits)
            model.load_state_dict(dense["state"])
        model.to(context.torch_device())
        retrain_cfg = trial.retrain
        generator = torch.Generator().manual_seed(seed)
        method = trial.method
        rounds = [] if method == BASELINE else schedule(trial.schedule, trial.compression, trial.rate or 0.5,
                                                      rounds=trial.rounds if trial.rounds is not None else 5)
        before = evaluate(model, splits.test)["accuracy"]
        retrain_seconds = 0.0
        history = list(dense.get("history", []))  # (cache files written before issue 16 hold none)
        start = time.perf_counter()
        for i, target in enumerate(rounds):
            data = batches(splits.train, 128, generator)[: trial.prune_batches] if resolve_method(method).needs_data else None
            prune(model, target, method, masks=masks, batches=data, generator=generator)
            before = evaluate(model, splits.test)["accuracy"]
            if trial.rewind == "reinit":  # same structure, fresh random weights
                reinitialize(model, masks, seed=seed + 7919 * (i + 1))
            elif trial.rewind != "none":
                point = dense["init"] if trial.rewind == "init" else dense["rewind_point"]
                rewind(model, point, masks)
            result = train(model, splits.train, retrain_cfg, val_data=splits.val, seed=seed + 1000 * (i + 1),
                           masks=masks, progress=context.progress, desc=f"{method} {target:.3f}")
            retrain_seconds += result.seconds
            history += history_entries(result.history, phase="retrain", round=i + 1, density=masks.density())
        if not rounds:  # the baseline: the dense network re-trained with the same recipe
            result = train(model, splits.train, retrain_cfg, val_data=splits.val, seed=seed + 1000,
                           masks=masks, progress=context.progress, desc="baseline")
            retrain_seconds += result.seconds
            history += history_entries(result.history, phase="retrain", round=0, density=masks.density())
        counts = masks.counts()
        context.keep_model(model)
        return {
            "dataset": trial.dataset.name,
            "model": trial.model.name,
            "method": method,
            "schedule": trial.schedule,
            "rate": trial.rate,
            "rewind": trial.rewind,
            "prune_at": trial.prune_at,
            "compression": trial.compression,
            "seed": seed,
            "test_accuracy": evaluate(model, splits.test)["accuracy"],
            "test_accuracy_before_retrain": before,
            "dense_test_accuracy": dense["test_accuracy"],
            "val_accuracy": evaluate(model, splits.val)["accuracy"],
            "params_remaining": masks.remaining(),
            "params_total": masks.total(),
            "density": masks.density(),
            "layer_density": {n: k / t for n, (k, t) in counts.items()},
            "empty_layers": masks.empty_layers(),
            "rounds": len(rounds),
            **further_pruning_columns(model, splits.test, trial, splits.train),
            "train_seconds": dense["seconds"],
            "retrain_seconds": retrain_seconds,
            "trial_seconds": time.perf_counter() - start,
            "history": history,
        }

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)
