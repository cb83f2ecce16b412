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

The ``surrogate`` section (issue 17) adds the graph-native Weisfeiler–Lehman features (``wl``) and the
training-curve prefix: with ``prefix_fraction`` f every network's full training records its validation
accuracy after the first f of its first epoch (``prefix_accuracy``; measuring changes nothing in the training),
and with ``prefix_candidates`` k predictor-ga trains the structure surrogate's top k children for exactly that
prefix and lets a second forest (features + prefix accuracy) choose which to train fully. Prefix trainings are
charged to the budget; each row reports the search's cost in network-epochs and training FLOPs. A chosen
candidate's full training continues its prefix training (``continue_prefix``, the default: same
initialisation, optimizer state and batches, so the prefix accuracy the screen saw is the one this run records,
and the prefix is paid once); ``continue_prefix: false`` restarts it under the next record's initialisation, as
searches before the option did.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from torch import nn

from sparsewire.architecture_search.assisted import (
    METHODS,
    AssistedConfig,
    Evaluate,
    PrefixScreen,
    assisted_search,
)
from sparsewire.architecture_search.spaces import Budget, CellSpace, FeedForwardSpace, SearchSpace
from sparsewire.architecture_search.surrogate import rank_correlation
from sparsewire.data.splits import Splits
from sparsewire.errors import TrainingDiverged
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import search as reports
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import DatasetConfig, DeviceOption, _omit_unset, load_splits
from sparsewire.studies.identity import config_hash
from sparsewire.studies.trials import Recorded
from sparsewire.studies.trials import TrialConfig as TrialModel
from sparsewire.training import TrainConfig, TrainResult, TrainState, evaluate, train


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
    readout: Literal["global-average", "flatten"] = "global-average"
    """conv-cells: the head reads global averages of the sinks, or the sinks flattened at the last stage."""
    readout_size: int | None = Field(None, ge=1)
    """conv-cells, flatten: the side the sinks are max-pooled to before flattening (None: the last stage's)."""

    @model_serializer(mode="wrap")
    def _omit_default_readout(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # the recorded runs' head: not part of their ids
        return _omit_unset(handler(self), readout="global-average", readout_size=None)

    @model_validator(mode="after")
    def _sizes(self) -> SpaceConfig:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes {self.min_nodes} exceeds max_nodes {self.max_nodes}")
        if self.kind == "feedforward" and self.min_nodes < 5:
            raise ValueError("feedforward genomes start as random priors: min_nodes must be >= 5")
        if any(c < 1 for c in self.channels):
            raise ValueError(f"channel widths must be positive (got {self.channels})")
        if self.readout_size is not None and (self.kind != "conv-cells" or self.readout != "flatten"):
            raise ValueError("readout_size is for conv-cells with readout: flatten")
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


class SurrogateSettings(BaseModel):
    """The surrogate's inputs beyond the 23 structural and size features, and predictor-ga's prefix stage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wl: bool = Field(False, description="add the Weisfeiler-Lehman pattern frequencies of each genome's DAG")
    prefix_fraction: float | None = Field(None, gt=0, le=1, description=(
        "record every network's validation accuracy after this fraction of its first epoch (None: not recorded)"))
    prefix_candidates: int = Field(0, ge=0, description=(
        "predictor-ga: children trained for the prefix per generation, of which offspring are trained fully (0: one stage)"))
    second_stage: Literal["forest", "prefix"] = Field("forest", description=(
        "predictor-ga's prefix stage ranks its candidates by a forest on features + prefix accuracy (forest) or by "
        "the prefix accuracy itself (prefix: successive halving)"))

    @model_serializer(mode="wrap")
    def _omit_default_second_stage(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_unset(handler(self), second_stage="forest")  # added later: not part of earlier ids


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
    surrogate: SurrogateSettings = Field(default_factory=lambda: SurrogateSettings())
    continue_prefix: bool = Field(True, description=(
        "predictor-ga with a prefix stage: a chosen candidate's full training continues its prefix training (same "
        "initialisation, optimizer state and batches), so its prefix is paid once; false repeats it from scratch "
        "under another initialisation, as searches before this option did"))

    @model_validator(mode="after")
    def _prefix(self) -> SearchStudyConfig:
        prefix = self.surrogate
        if prefix.prefix_candidates and prefix.prefix_fraction is None:
            raise ValueError("surrogate.prefix_candidates needs surrogate.prefix_fraction")
        if prefix.second_stage != "forest" and not prefix.prefix_candidates:
            raise ValueError("surrogate.second_stage ranks the prefix stage: it needs surrogate.prefix_candidates")
        if prefix.prefix_candidates and prefix.prefix_candidates <= self.search.offspring:
            raise ValueError(f"surrogate.prefix_candidates ({prefix.prefix_candidates}) must exceed search.offspring "
                             f"({self.search.offspring})")
        if prefix.prefix_fraction is not None and self.train.epochs < 1:
            raise ValueError("a training-curve prefix needs train.epochs >= 1")
        return self


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
    surrogate: Recorded[SurrogateSettings] = SurrogateSettings()
    prefix_continued: Recorded[bool] = False

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
                     max_mutations=config.max_mutations, readout=config.readout, readout_size=config.readout_size)


def train_alone(model: nn.Module, trial: SearchTrial, splits: Splits, device: torch.device, desc: str, *,
                record_at: int | None = None,
                resume: TrainState | None = None) -> tuple[TrainResult | None, float, float | None]:
    """Train ``model`` with the trial's recipe and batch order: (result, validation accuracy, validation accuracy
    after optimizer step ``record_at`` — None when not asked), or (None, 0.0, 0.0) when training diverged.
    Measuring at ``record_at`` changes nothing in the training (evaluation mode, no gradient, no random draw).
    ``resume``: the state a prefix training left ``model`` in (:func:`train_prefix`), continued to the end."""
    steps, at_prefix = 0, None

    def record(_: torch.optim.Optimizer) -> None:
        nonlocal steps, at_prefix
        steps += 1
        if steps == record_at:
            at_prefix = evaluate(model, splits.val)["accuracy"]

    try:
        result = train(model, splits.train, trial.train, val_data=splits.val, seed=trial.data_seed, progress=False,
                       desc=desc, device=device, post_step=record if record_at is not None else None, resume=resume)
    except TrainingDiverged:
        return None, 0.0, None if record_at is None else 0.0
    return result, evaluate(model, splits.val)["accuracy"], at_prefix


def prefix_steps(trial: SearchTrial, splits: Splits) -> int | None:
    """The optimizer steps of the trial's training-curve prefix: ``prefix_fraction`` of the first epoch's
    steps, rounded, at least 1 (None without a prefix)."""
    fraction = trial.surrogate.prefix_fraction
    if fraction is None:
        return None
    return max(1, round(fraction * math.ceil(len(splits.train[0]) / trial.train.batch_size)))


def train_prefix(model: nn.Module, trial: SearchTrial, splits: Splits, device: torch.device,
                 steps: int) -> tuple[float, TrainState | None]:
    """Validation accuracy of ``model`` after the first ``steps`` optimizer steps of the trial's recipe and
    batch order — the accuracy its full training records at that point (0.0 if it diverged) — and the state to
    continue that training from (None if it diverged)."""
    try:
        result = train(model, splits.train, trial.train, seed=trial.data_seed, progress=False, desc="prefix",
                       device=device, max_steps=steps)
    except TrainingDiverged:
        return 0.0, None
    return evaluate(model, splits.val)["accuracy"], result.state


@dataclass
class Suspended:
    """A candidate's prefix training, kept for its full training to continue: the genome's key, the model as
    the prefix left it, the training state and the prefix accuracy."""

    genome: str
    model: nn.Module
    state: TrainState
    prefix_accuracy: float


def training_flops(macs: int, trained: int, evaluated: int) -> float:
    """Training compute of a network of ``macs`` multiply-accumulates per example: 2 FLOPs per MAC forward,
    3× that for a forward and backward pass (Kaplan et al. 2020's 6N per token, per example here), over
    ``trained`` training examples plus ``evaluated`` forward-only examples."""
    return 2.0 * macs * (3 * trained + evaluated)


def _evaluator(space: SearchSpace, trial: SearchTrial, splits: Splits, device: torch.device,
               suspended: dict[int, Suspended] | None = None) -> Evaluate:
    """``evaluate(genomes, indices)`` for :func:`assisted_search`: each network's validation accuracy (and its
    prefix accuracy, with a ``prefix_fraction``), network-epochs and training FLOPs. A network whose number is
    in ``suspended`` (the prefix screen's, :func:`_prefix_screen`) continues that prefix training."""
    record_at = prefix_steps(trial, splits)
    n_train, n_val = len(splits.train[0]), len(splits.val[0])

    def one(genome: Any, index: int) -> dict[str, Any]:
        kept = suspended.pop(index, None) if suspended is not None else None
        if kept is not None and kept.genome != space.key(genome):
            raise RuntimeError(f"network {index}'s prefix training was of another genome")
        if kept is None:
            model = space.build(genome, trial.network_seed(index))
            result, accuracy, prefix = train_alone(model, trial, splits, device, f"network {index}",
                                                   record_at=record_at)
        else:
            result, accuracy, _ = train_alone(kept.model, trial, splits, device, f"network {index}",
                                              resume=kept.state)
            prefix = kept.prefix_accuracy  # what this run recorded at that step, before it was suspended
        epochs = result.epochs if result else 0
        out = {"accuracy": accuracy, "diverged": result is None, "seconds": result.seconds if result else math.nan,
               "history": history_entries(result.history) if result else []}
        if suspended is not None:
            out["prefix_continued"] = kept is not None
        if record_at is None:
            return out
        # history: one validation pass per epoch, one after training, one at the prefix
        flops = training_flops(space.cost(genome)["macs"], epochs * n_train, (epochs + 2) * n_val)
        return out | {"prefix_accuracy": prefix, "network_epochs": epochs, "flops": flops}

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

    if isinstance(space, FeedForwardSpace) and trial.train.grad_clip is None and record_at is None:
        return cohort
    return lambda genomes, indices: [one(g, i) for g, i in zip(genomes, indices, strict=True)]


def _prefix_screen(space: SearchSpace, trial: SearchTrial, splits: Splits, device: torch.device,
                   suspended: dict[int, Suspended]) -> PrefixScreen | None:
    """predictor-ga's prefix stage (:class:`~sparsewire.architecture_search.assisted.PrefixScreen`): each candidate
    trained for :func:`prefix_steps` steps, charged as that share of a full training. With the trial's
    ``prefix_continued`` each candidate's state goes into ``suspended`` (emptied first: the previous generation's
    unchosen candidates are dropped) for the evaluator to continue."""
    steps = prefix_steps(trial, splits)
    if steps is None or trial.method != "predictor-ga" or not trial.surrogate.prefix_candidates:
        return None
    per_epoch = math.ceil(len(splits.train[0]) / trial.train.batch_size)
    examples = min(steps * trial.train.batch_size, len(splits.train[0]))

    def screen(genomes: list[Any], indices: list[int]) -> list[dict[str, Any]]:
        suspended.clear()
        out = []
        for genome, index in zip(genomes, indices, strict=True):
            start = time.perf_counter()
            model = space.build(genome, trial.network_seed(index))
            accuracy, state = train_prefix(model, trial, splits, device, steps)
            if trial.prefix_continued and state is not None:
                suspended[index] = Suspended(space.key(genome), model, state, accuracy)
            out.append({"prefix_accuracy": accuracy, "network_epochs": steps / per_epoch,
                        "flops": training_flops(space.cost(genome)["macs"], examples, len(splits.val[0])),
                        "seconds": time.perf_counter() - start})
        return out

    return PrefixScreen(screen, steps / (per_epoch * trial.train.epochs), continues=trial.prefix_continued)


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
        # the prefix stage is predictor-ga's: the other methods' ids do not depend on it
        alone = config.surrogate.model_copy(update={"prefix_candidates": 0, "second_stage": "forest"})
        # seeds outer: an interrupted study has every method at its first seeds
        continued = config.continue_prefix and config.surrogate.prefix_candidates > 0
        return [SearchTrial.model_validate({**shared, "method": method, "search_seed": seed,
                                            "surrogate": config.surrogate if method == "predictor-ga" else alone,
                                            "prefix_continued": continued and method == "predictor-ga"})
                for seed in config.seeds for method in config.methods]

    def model_for(self, trial: SearchTrial, result: Mapping[str, Any] | None = None) -> torch.nn.Module:
        """The search's best network (its genome and network number from the trial's ``result``), untrained."""
        if result is None or "best_genome" not in result:
            raise ValueError("a search trial's network is its best genome: the trial's result row is needed")
        splits = image_splits(trial.dataset)
        return _network(make_space(trial.space, splits.image_shape, splits.num_classes), trial, result["best_genome"],
                        int(result["best_index"]))

    def run_trial(self, trial: SearchTrial, context: TrialContext) -> dict[str, Any]:
        torch.set_num_threads(trial.threads)
        start = time.perf_counter()
        device = context.torch_device()
        splits = image_splits(trial.dataset)
        space = make_space(trial.space, splits.image_shape, splits.num_classes)
        settings = AssistedConfig(method=trial.method, seed=trial.search_seed, wl=trial.surrogate.wl,
                                  prefix_candidates=trial.surrogate.prefix_candidates,
                                  second_stage=trial.surrogate.second_stage, **trial.search.model_dump())
        trial_id = config_hash({"study": self.name, **trial.model_dump()})
        suspended: dict[int, Suspended] = {}
        screen = _prefix_screen(space, trial, splits, device, suspended)
        evaluator = _evaluator(space, trial, splits, device, suspended if trial.prefix_continued else None)
        records = assisted_search(space, evaluator, settings, prefix=screen,
                                  checkpoint=context.cache_dir / f"search-{trial_id}.json", progress=context.progress)
        searched = time.perf_counter() - start
        best = max(records, key=lambda r: r["accuracy"])
        model = _network(space, trial, best["genome"], best["index"])
        _, retrained_val, _ = train_alone(model, trial, splits, device, "best network")
        row = {
            "dataset": trial.dataset.name, "space": space.kind, "method": trial.method,
            "search_seed": trial.search_seed, "networks": records, "search_seconds": searched,
            "best_genome": best["genome"], "best_index": best["index"], "best_val_accuracy": best["accuracy"],
            "best_val_retrained": retrained_val, "best_params": best["params"], "best_macs": best["macs"],
            "best_test_accuracy": evaluate(model, splits.test)["accuracy"],
            "curve": list(np.maximum.accumulate([r["accuracy"] for r in records])),
        }
        context.keep_model(model)  # the best genome's network, trained again alone: the one tested
        predicted = [r for r in records if r["predicted"] is not None]
        row["surrogate_spearman"] = rank_correlation([r["predicted"] for r in predicted], [r["accuracy"] for r in predicted])
        row["surrogate_pairs"] = len(predicted)
        if trial.surrogate.prefix_fraction is not None:
            row |= budget_spent(records, screen.trainings if screen is not None else [])
        if trial.lenet5 and len(splits.image_shape) == 3 and splits.image_shape[-1] in (28, 32):
            lenet, width = lenet5_like(best["params"], splits)
            lenet = reseeded(lenet, trial.search_seed)
            _, lenet_val, _ = train_alone(lenet, trial, splits, device, "lenet5")
            row |= {"lenet5_width": width, "lenet5_params": sum(p.numel() for p in lenet.parameters()),
                    "lenet5_val_accuracy": lenet_val, "lenet5_test_accuracy": evaluate(lenet, splits.test)["accuracy"]}
        return row | {"trial_seconds": time.perf_counter() - start}

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)


def _network(space: SearchSpace, trial: SearchTrial, genome: str, index: int) -> nn.Module:
    """Network number ``index`` of a search: the genome with key ``genome``, initialised with that number's seed."""
    return space.build(space.from_key(genome), trial.network_seed(index))


def budget_spent(records: list[dict[str, Any]], prefix_trainings: list[dict[str, Any]]) -> dict[str, Any]:
    """A search's cost: networks trained fully, prefix trainings, network-epochs and training FLOPs of both
    (a prefix training its full training continued counts once, in that network's record), and the prefix
    trainings themselves (``prefix_trainings``)."""
    trainings = [*records, *(t for t in prefix_trainings if not t.get("continued", False))]  # continued: in records
    return {"prefix_trainings": prefix_trainings, "networks_trained": len(records), "prefix_trained": len(prefix_trainings),
            "network_epochs": float(sum(r["network_epochs"] for r in trainings)),
            "train_flops": float(sum(r["flops"] for r in trainings))}


def reseeded(model: nn.Module, seed: int) -> nn.Module:
    """``model`` re-initialised with PyTorch's default schemes under ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None) if module is not model else None
            if callable(reset):
                reset()
    return model
