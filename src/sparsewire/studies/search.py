"""``study: search`` — architecture search by training, with and without an online performance predictor.

Stier, Darji & Granitzer (2021) report a genetic search enhanced with performance prediction reaching
82.4 % on CIFAR-10. This study compares, at an equal budget of trained networks, three methods of
:func:`~sparsewire.architecture_search.assisted_search` — ``predictor-ga`` (children screened by a random
forest retrained on every trained network), ``ga`` (the same genetic algorithm, every child trained) and
``random`` — over one search space: sparse feed-forward DAGs (``feedforward``, trained a generation at a
time as a :class:`~sparsewire.cohorts.FeedForwardCohort`) or DAGs of convolutional cells (``conv-cells``,
trained one at a time: their shapes differ, so they neither pack nor stack).

A trial is one search (method, search seed); it trains ``search.budget`` networks, each on the training
split with the study's batch order (``data_seed``) and scored by validation accuracy (the fitness). Its best
network by validation accuracy is then trained again with its seed and tested on the test split, and so is
a LeNet-5 whose width is scaled to the same parameter count (same recipe and data). Each search writes a
checkpoint per generation to ``DIR/cache``, so an interrupted one resumes where it stopped.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from sparsewire.architecture_search.assisted import METHODS, AssistedConfig, Evaluate, assisted_search
from sparsewire.architecture_search.spaces import Budget, CellSpace, FeedForwardSpace, SearchSpace
from sparsewire.architecture_search.surrogate import rank_correlation
from sparsewire.data.splits import Splits
from sparsewire.errors import TrainingDiverged
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import search as reports
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import DatasetConfig, DeviceOption, load_splits
from sparsewire.studies.identity import config_hash
from sparsewire.studies.trials import TrialConfig as TrialModel
from sparsewire.training import TrainConfig, TrainResult, evaluate, train


class SpaceConfig(BaseModel):
    """The search space and its budgets (see :mod:`sparsewire.architecture_search.spaces`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["conv-cells", "feedforward"] = "conv-cells"
    min_nodes: int = Field(2, ge=1, le=10_000)
    max_nodes: int = Field(8, ge=1, le=10_000)
    channels: list[int] = Field(default_factory=lambda: [8, 16, 32], min_length=1)
    """conv-cells: the widths a cell may have."""
    stages: int = Field(3, ge=1, le=6)
    """conv-cells: resolutions (image size halved per stage)."""
    edge_probability: float = Field(0.4, ge=0, le=1)
    """conv-cells: chance of each forward edge in a random genome."""
    max_mutations: int = Field(2, ge=1)
    max_params: int | None = Field(None, ge=1)
    max_macs: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _sizes(self) -> SpaceConfig:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes {self.min_nodes} exceeds max_nodes {self.max_nodes}")
        if self.kind == "feedforward" and self.min_nodes < 5:
            raise ValueError("feedforward genomes start as random priors: min_nodes must be >= 5")
        if any(c < 1 for c in self.channels):
            raise ValueError(f"channel widths must be positive (got {self.channels})")
        return self


class SearchSettings(BaseModel):
    """:class:`~sparsewire.architecture_search.AssistedConfig` without method and seed (the trial's)."""

    model_config = ConfigDict(extra="forbid")

    budget: int = Field(30, ge=2, description="networks trained per search (equal for every method)")
    population: int = Field(10, ge=2)
    offspring: int = Field(5, ge=1, description="networks trained per generation")
    candidates: int = Field(5, ge=1, description="predictor-ga: children screened per child trained")
    tournament: int = Field(3, ge=1)
    crossover_rate: float = Field(0.5, ge=0, le=1)
    acquisition: Literal["ucb", "ei"] = "ucb"
    kappa: float = Field(1.0, ge=0)
    min_fit: int = Field(5, ge=2, description="networks trained before the surrogate is first fitted")
    trees: int = Field(100, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> SearchSettings:
        AssistedConfig(budget=self.budget, population=self.population, offspring=self.offspring,
                       candidates=self.candidates, tournament=self.tournament)  # raises on an inconsistent set
        return self


class SearchStudyConfig(DeviceOption):
    """Config of ``study: search`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["search"] = "search"
    name: str = "search"
    dataset: DatasetConfig = Field(default_factory=lambda: DatasetConfig(name="fashion-mnist", val_size=2000,
                                                                         train_limit=8000))
    space: SpaceConfig = Field(default_factory=lambda: SpaceConfig())
    search: SearchSettings = Field(default_factory=lambda: SearchSettings())
    methods: list[Literal["predictor-ga", "ga", "random"]] = Field(default_factory=lambda: list(METHODS), min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=2, batch_size=64, lr=3e-3))
    data_seed: int = Field(0, description="seed of the batch order every network shares")
    lenet5: bool = Field(True, description="train a LeNet-5 of the best network's parameter count (image datasets)")
    threads: int = Field(1, ge=1)


class SearchTrial(TrialModel):
    """One trial of ``study: search``: the search of ``method`` with ``search_seed`` over ``space``, every
    network trained with ``train`` in the batch order of ``data_seed``, then its best network retested (and
    a LeNet-5 of the same parameter count trained, when ``lenet5``)."""

    dataset: DatasetConfig
    dataset_identity: dict[str, Any]
    space: SpaceConfig
    search: SearchSettings
    train: TrainConfig
    data_seed: int
    lenet5: bool
    threads: int
    method: Literal["predictor-ga", "ga", "random"]
    search_seed: int

    def network_seed(self, index: int) -> int:
        """The initialisation seed of network ``index`` of this search."""
        return self.search_seed * 1_000_003 + index


def make_space(config: SpaceConfig, image_shape: tuple[int, int, int], num_classes: int) -> SearchSpace:
    """The :class:`~sparsewire.architecture_search.spaces.SearchSpace` a ``space`` section describes."""
    budget = Budget(config.max_params, config.max_macs)
    if config.kind == "feedforward":
        return FeedForwardSpace(image_shape, num_classes, budget, min_nodes=config.min_nodes, max_nodes=config.max_nodes,
                                max_mutations=config.max_mutations)
    return CellSpace(image_shape, num_classes, budget, min_nodes=config.min_nodes, max_nodes=config.max_nodes,
                     channels=tuple(config.channels), stages=config.stages, edge_probability=config.edge_probability,
                     max_mutations=config.max_mutations)


def train_alone(model: nn.Module, trial: SearchTrial, splits: Splits, device: torch.device,
                desc: str) -> tuple[TrainResult | None, float]:
    """Train ``model`` with the trial's recipe and batch order: (result, validation accuracy), or (None, 0.0)
    when training diverged."""
    try:
        result = train(model, splits.train, trial.train, val_data=splits.val, seed=trial.data_seed, progress=False,
                       desc=desc, device=device)
    except TrainingDiverged:
        return None, 0.0
    return result, evaluate(model, splits.val)["accuracy"]


def _evaluator(space: SearchSpace, trial: SearchTrial, splits: Splits, device: torch.device) -> Evaluate:
    """``evaluate(genomes, indices)`` for :func:`assisted_search`: each network's validation accuracy."""

    def one(genome: Any, index: int) -> dict[str, Any]:
        model = space.build(genome, trial.network_seed(index))
        result, accuracy = train_alone(model, trial, splits, device, f"network {index}")
        return {"accuracy": accuracy, "diverged": result is None, "seconds": result.seconds if result else math.nan,
                "history": history_entries(result.history) if result else []}

    def cohort(genomes: list[Any], indices: list[int]) -> list[dict[str, Any]]:
        from sparsewire.cohorts import FeedForwardCohort, evaluate_cohort, iter_train_cohort

        models = [space.build(g, trial.network_seed(i)).to(device) for g, i in zip(genomes, indices, strict=True)]
        out: list[dict[str, Any]] = [{} for _ in models]
        for pos, net, result in iter_train_cohort(models, splits.train, trial.train, build=FeedForwardCohort,
                                                  val_data=splits.val, seed=trial.data_seed, progress=False):
            diverged = result.stopped == "diverged"
            accuracy = 0.0 if diverged else evaluate_cohort(FeedForwardCohort([net]), splits.val, 2048)[0]["accuracy"]
            out[pos] = {"accuracy": accuracy, "diverged": diverged, "seconds": result.seconds,
                        "history": history_entries(result.history)}
        return out

    if isinstance(space, FeedForwardSpace) and trial.train.grad_clip is None:
        return cohort
    return lambda genomes, indices: [one(g, i) for g, i in zip(genomes, indices, strict=True)]


def lenet5_like(params: int, splits: Splits) -> tuple[nn.Module, float]:
    """The LeNet-5 whose parameter count is closest to ``params`` (width found by bisection) and its width."""
    from sparsewire.models.conv import LeNet5

    channels, size = splits.image_shape[0], splits.image_shape[-1]

    def model(width: float) -> nn.Module:
        return LeNet5(channels, splits.num_classes, size, width=width)

    def count(width: float) -> int:
        return sum(p.numel() for p in model(width).parameters())

    low, high = 0.01, 16.0
    for _ in range(40):
        mid = math.sqrt(low * high)
        low, high = (mid, high) if count(mid) < params else (low, mid)
    width = min((low, high), key=lambda w: abs(count(w) - params))
    return model(width), width


def image_splits(dataset: DatasetConfig) -> Splits:
    """The splits of one of the shipped image datasets; the search spaces are built for ``(C, H, W)`` images,
    so a dataset factory (whose splits carry no image shape) is refused with a clear error."""
    splits = load_splits(dataset)
    if not isinstance(splits, Splits):
        raise ValueError("study: search needs one of the shipped image datasets (mnist, fashion-mnist, cifar10); "
                         "a dataset factory is not supported yet")
    return splits


@register
class SearchStudy(StudyType[SearchStudyConfig, SearchTrial]):
    name = "search"
    Config = SearchStudyConfig
    TrialConfig = SearchTrial

    def check(self, config: SearchStudyConfig) -> None:
        splits = image_splits(config.dataset)  # missing data fails here, before any training
        space = make_space(config.space, splits.image_shape, splits.num_classes)
        rng = np.random.default_rng(0)
        if space.draw(lambda: space.random(rng), tries=200) is None:
            raise ValueError(f"no random {space.kind} genome fits the budget {space.budget}: widen it")

    def trials(self, config: SearchStudyConfig) -> list[SearchTrial]:
        shared = {"dataset": config.dataset, "dataset_identity": config.dataset.identity(), "space": config.space,
                  "search": config.search, "train": config.train, "data_seed": config.data_seed,
                  "lenet5": config.lenet5, "threads": config.threads}
        # seeds outer: an interrupted study has every method at its first seeds
        return [SearchTrial.model_validate({**shared, "method": method, "search_seed": seed})
                for seed in config.seeds for method in config.methods]

    def run_trial(self, trial: SearchTrial, context: TrialContext) -> dict[str, Any]:
        torch.set_num_threads(trial.threads)
        start = time.perf_counter()
        device = context.torch_device()
        splits = image_splits(trial.dataset)
        space = make_space(trial.space, splits.image_shape, splits.num_classes)
        settings = AssistedConfig(method=trial.method, seed=trial.search_seed, **trial.search.model_dump())
        trial_id = config_hash({"study": self.name, **trial.model_dump()})
        records = assisted_search(space, _evaluator(space, trial, splits, device), settings,
                                  checkpoint=context.cache_dir / f"search-{trial_id}.json", progress=context.progress)
        searched = time.perf_counter() - start
        best = max(records, key=lambda r: r["accuracy"])
        model = space.build(space.from_key(best["genome"]), trial.network_seed(best["index"]))
        _, retrained_val = train_alone(model, trial, splits, device, "best network")
        row = {
            "dataset": trial.dataset.name, "space": space.kind, "method": trial.method,
            "search_seed": trial.search_seed, "networks": records, "search_seconds": searched,
            "best_genome": best["genome"], "best_index": best["index"], "best_val_accuracy": best["accuracy"],
            "best_val_retrained": retrained_val, "best_params": best["params"], "best_macs": best["macs"],
            "best_test_accuracy": evaluate(model, splits.test)["accuracy"],
            "curve": list(np.maximum.accumulate([r["accuracy"] for r in records])),
        }
        predicted = [r for r in records if r["predicted"] is not None]
        row["surrogate_spearman"] = rank_correlation([r["predicted"] for r in predicted], [r["accuracy"] for r in predicted])
        row["surrogate_pairs"] = len(predicted)
        if trial.lenet5 and len(splits.image_shape) == 3 and splits.image_shape[-1] in (28, 32):
            lenet, width = lenet5_like(best["params"], splits)
            lenet = reseeded(lenet, trial.search_seed)
            _, lenet_val = train_alone(lenet, trial, splits, device, "lenet5")
            row |= {"lenet5_width": width, "lenet5_params": sum(p.numel() for p in lenet.parameters()),
                    "lenet5_val_accuracy": lenet_val, "lenet5_test_accuracy": evaluate(lenet, splits.test)["accuracy"]}
        return row | {"trial_seconds": time.perf_counter() - start}

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)


def reseeded(model: nn.Module, seed: int) -> nn.Module:
    """``model`` re-initialised with PyTorch's default schemes under ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None) if module is not model else None
            if callable(reset):
                reset()
    return model
