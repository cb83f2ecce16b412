"""``study: prior`` — train networks built from random-graph priors and record structure + accuracy.

Stier, Darji & Granitzer (2021), Sec. 3–4: sparse networks made by *prior initialisation* from
Watts–Strogatz, Barabási–Albert and Erdős–Rényi graphs, trained on MNIST / Fashion-MNIST, with the 23
structural features of each graph recorded so that accuracy can be predicted from structure alone.
Each trial generates one graph (generator, size, parameters, seed), builds a
:class:`~sparsewire.graphs.feedforward.GraphNetwork` (input fully attached to the sources, output read
from the sinks by default so that no node is dead), trains it and records its test accuracy, its
structural features (of the oriented DAG the network is built from; same names as
:data:`~sparsewire.graphs.features.FEATURE_NAMES`, the authors' definitions, column ``feature_convention``)
and layered metrics (dead units, log10 paths).

``orientation``: ``edge-order`` (default; each prior edge ``u → v`` as networkx lists it, as Stier et al.
built their networks) or ``random`` (a node ranking seeded by the trial seed, how every run before issue 11
was built). The key joins a trial's config only when it is not ``random``, so configs that ask for
``random`` keep the ids of their recorded rows and edge-order trials get new ones.

``batch_order``: ``shared`` (default) shuffles the training batches of every network with ``data_seed``, so
networks of one dataset and recipe train together as a :class:`~sparsewire.cohorts.FeedForwardCohort` of
up to ``cohort_size`` members (each member's result equals training it alone with that batch order; see
:mod:`sparsewire.cohorts.train`); the trial then records ``data_seed``. ``per-network`` shuffles by each
trial's own seed and trains networks one at a time (every run before cohorts; its trials keep their ids).
Every row records ``batch_order``, ``data_seed`` and ``cohort_size``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sparsewire.graphs.errors import GraphWarning
from sparsewire.graphs.features import structural_features
from sparsewire.graphs.feedforward import ACTIVATIONS, GraphNetwork
from sparsewire.graphs.io import load_graphml
from sparsewire.graphs.priors import GENERATORS, generate
from sparsewire.graphs.structure_metrics import structure_metrics
from sparsewire.masks import Masks
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import prior as reports
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import DatasetConfig, DeviceOption, check_cohort_precision, load_splits
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, TrainResult, evaluate, train

if TYPE_CHECKING:
    from sparsewire.studies.common import StudySplits

GRAPHML = "graphml"


class NodeDraw(BaseModel):
    """``count`` distinct graph sizes drawn uniformly from ``uniform: [low, high]`` (both included) with
    ``seed``: the sizes of Stier et al.'s prior studies, which draw ``n`` uniformly from a range (Sec. 4.3).
    Drawn without replacement, so that no two trials of one generator and seed are the same network; the same
    ``(uniform, count, seed)`` always gives the same sizes in the same order."""

    model_config = ConfigDict(extra="forbid")

    uniform: tuple[int, int]
    count: int = Field(ge=1)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _range(self) -> NodeDraw:
        low, high = self.uniform
        if not 1 <= low <= high:
            raise ValueError(f"uniform must be [low, high] with 1 <= low <= high, got {list(self.uniform)}")
        if self.count > high - low + 1:
            raise ValueError(f"cannot draw {self.count} distinct sizes from the {high - low + 1} in {list(self.uniform)}")
        return self

    def sizes(self) -> list[int]:
        """The drawn sizes, in draw order."""
        low, high = self.uniform
        offsets = np.random.default_rng(self.seed).choice(high - low + 1, size=self.count, replace=False)
        return [low + int(o) for o in offsets]


class PriorConfig(BaseModel):
    """One family of priors: a generator, the graph sizes to try (a list, or a seeded uniform draw:
    :class:`NodeDraw`) and its parameters — or ``generator: graphml`` with ``path`` naming a user graph
    (``nodes`` and ``params`` are then unused; seeds vary the initial weights, and the orientation when it
    is ``random``)."""

    model_config = ConfigDict(extra="forbid")

    generator: str
    nodes: list[int] | NodeDraw = Field(default_factory=lambda: [100])
    params: dict[str, int | float] = Field(default_factory=dict)
    path: str | None = None

    @field_validator("generator")
    @classmethod
    def _generator(cls, name: str) -> str:
        if name not in GENERATORS and name != GRAPHML:
            raise ValueError(f"unknown generator {name!r}; choose from {sorted(GENERATORS) + [GRAPHML]}")
        return name

    @model_validator(mode="after")
    def _path(self) -> PriorConfig:
        if (self.generator == GRAPHML) != (self.path is not None):
            raise ValueError("give `path` exactly when generator is 'graphml'")
        return self

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, nodes: list[int] | NodeDraw) -> list[int] | NodeDraw:
        if isinstance(nodes, list) and (not nodes or any(n < 1 for n in nodes)):
            raise ValueError(f"nodes must be a non-empty list of positive sizes, got {nodes}")
        return nodes

    def sizes(self) -> list[int]:
        """The graph sizes to try: the listed ones, or those drawn."""
        return self.nodes.sizes() if isinstance(self.nodes, NodeDraw) else list(self.nodes)


class PriorStudyConfig(DeviceOption):
    """Config of ``study: prior`` (every key is checked; unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["prior"] = "prior"
    name: str = "prior"
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    priors: list[PriorConfig] = Field(default_factory=lambda: [
        PriorConfig(generator="watts-strogatz", params={"k": 4, "p": 0.3}),
        PriorConfig(generator="barabasi-albert", params={"m": 2})])
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=3, batch_size=128))
    activation: str = "relu"
    outputs: Literal["last-layer", "sinks"] = "sinks"
    orientation: Literal["edge-order", "random"] = Field(
        "edge-order", description="edge-order: each prior edge u -> v as networkx lists it (Stier et al.); random: "
        "a node ranking seeded by the trial seed (every run before issue 11)")
    seeds: list[int] = Field(default_factory=lambda: [0])
    batch_order: Literal["shared", "per-network"] = Field(
        "shared", description="shared: every network sees the same batches in the same order (shuffled by "
        "`data_seed`), which lets networks train together in cohorts; per-network: shuffled by each trial's seed "
        "(every run before cohorts), one network at a time")
    data_seed: int = Field(0, description="seed of the shared batch order (batch_order: shared)")
    cohort_size: int = Field(32, ge=1, le=4096, description="networks trained together as one computation "
                             "(batch_order: shared); 1 trains them one at a time. Does not change any result.")

    @model_validator(mode="after")
    def _precision(self) -> PriorStudyConfig:
        check_cohort_precision(self.train.precision, self.batch_order == "shared" and self.cohort_size > 1)
        return self

    @field_validator("activation")
    @classmethod
    def _activation(cls, name: str) -> str:
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
        return name


class PriorTrial(TrialConfig):
    """One trial of ``study: prior``: the network of one prior graph (a generator's draw of ``nodes`` nodes
    with ``params`` and ``seed``, or a GraphML file) trained on ``dataset``."""

    NETWORK_FIELDS = frozenset({"generator", "nodes", "params", "seed", "path", "graph_sha256"})

    dataset: DatasetConfig
    dataset_identity: dict[str, Any]
    train: TrainConfig
    activation: str
    outputs: Literal["last-layer", "sinks"]
    orientation: Recorded[Literal["edge-order", "random"]] = "random"
    """Absent from a trial's dict when ``random``, the orientation of every run before issue 11."""
    data_seed: Recorded[int | None] = None
    """The study's batch order (``batch_order: shared``); None: shuffled by the trial's own seed."""
    generator: str
    nodes: int
    params: dict[str, int | float]
    path: Recorded[str | None] = None
    graph_sha256: Recorded[str | None] = None
    """The GraphML file's digest: the graph, not where it lies, is the identity."""
    seed: int

    @property
    def batch_seed(self) -> int:
        """The seed of the trial's batch order: the study's ``data_seed`` (shared) or the trial's own seed."""
        return self.data_seed if self.data_seed is not None else self.seed

    def generator_params(self) -> dict[str, Any]:
        """Integer-valued parameters (k, m) back to int: YAML and JSON may carry them as floats."""
        return _params(self.params)


def build_network(trial: PriorTrial, splits: StudySplits) -> GraphNetwork:
    """The trial's network (graph from its generator or file, initialised with its seed)."""
    seed = trial.seed
    if trial.generator == GRAPHML:
        assert trial.path is not None, "a graphml trial names its file (validated)"
        graph = load_graphml(trial.path)
    else:
        graph = generate(trial.generator, trial.nodes, seed=seed, **trial.generator_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)  # dead nodes are recorded by result_row instead
        return GraphNetwork(graph, math.prod(splits.input_shape), splits.num_classes, activation=trial.activation,
                            seed=seed, outputs=trial.outputs, orientation=trial.orientation)


def result_row(trial: PriorTrial, net: GraphNetwork, test_accuracy: float, val_accuracy: float,
               result: TrainResult) -> dict[str, Any]:
    """One network's results row (the same whether it trained alone or in a cohort)."""
    masks = Masks.of(net)
    metrics = structure_metrics(net)
    row = {
        "dataset": trial.dataset.name,
        "generator": trial.generator,
        "nodes_requested": trial.nodes,
        "params": trial.params,
        "seed": trial.seed,
        "orientation": trial.orientation,
        "batch_order": "per-network" if trial.data_seed is None else "shared",
        "data_seed": trial.batch_seed,
        "test_accuracy": test_accuracy,
        "val_accuracy": val_accuracy,
        "weights_remaining": masks.remaining(),
        "weights_total": masks.total(),
        "density": masks.density(),
        "layer_sizes": net.structure.sizes,
        "dead_units": metrics["dead_units"],
        "log10_paths": metrics["log10_paths"],
        "effective_parameters": metrics["effective_parameters"],
        "epochs": result.epochs,
        "train_seconds": result.seconds,
        "history": history_entries(result.history),
    }
    row |= structural_features(net.dag)
    row["feature_convention"] = "stier2021"
    return row


def _params(params: dict[str, Any]) -> dict[str, Any]:
    """Integer-valued parameters (k, m) back to int: YAML and JSON may carry them as floats."""
    return {k: int(v) if float(v).is_integer() and k in ("k", "m", "tries") else v for k, v in params.items()}


@register
class PriorStudy(StudyType[PriorStudyConfig, PriorTrial]):
    name = "prior"
    Config = PriorStudyConfig
    TrialConfig = PriorTrial

    def check(self, config: PriorStudyConfig) -> None:
        load_splits(config.dataset)  # missing data fails here, before any training
        for prior in config.priors:
            if prior.generator == GRAPHML:
                assert prior.path is not None, "a graphml prior names its file (validated)"
                load_graphml(prior.path)  # a missing or unreadable file fails here
                continue
            for n in prior.sizes():
                generate(prior.generator, n, seed=config.seeds[0], **_params(prior.params))

    def trials(self, config: PriorStudyConfig) -> list[PriorTrial]:
        shared = {"dataset": config.dataset, "dataset_identity": config.dataset.identity(), "train": config.train,
                  "activation": config.activation, "outputs": config.outputs, "orientation": config.orientation,
                  "data_seed": config.data_seed if config.batch_order == "shared" else None}
        out = []
        for prior in config.priors:
            if prior.generator == GRAPHML:
                assert prior.path is not None, "a graphml prior names its file (validated)"
                path = Path(prior.path)
                graph = load_graphml(path)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out += [PriorTrial(**shared, generator=GRAPHML, nodes=graph.number_of_nodes(), params={},
                                   path=str(path), graph_sha256=digest, seed=seed) for seed in config.seeds]
                continue
            out += [PriorTrial(**shared, generator=prior.generator, nodes=n, params=dict(sorted(prior.params.items())),
                               seed=seed) for n in prior.sizes() for seed in config.seeds]
        return out

    def model_for(self, trial: PriorTrial, result: Mapping[str, Any] | None = None) -> torch.nn.Module:
        return build_network(trial, load_splits(trial.dataset))

    def run_trial(self, trial: PriorTrial, context: TrialContext) -> dict[str, Any]:
        start = time.perf_counter()
        splits = load_splits(trial.dataset)
        net = build_network(trial, splits)
        torch.manual_seed(trial.seed)
        result = train(net, splits.train, trial.train, val_data=splits.val, seed=trial.batch_seed,
                       progress=context.progress, desc=f"{trial.generator} n={trial.nodes} seed {trial.seed}",
                       device=context.torch_device())
        test, val = evaluate(net, splits.test)["accuracy"], evaluate(net, splits.val)["accuracy"]
        row = result_row(trial, net.cpu(), test, val, result)
        context.keep_model(net)
        return row | {"cohort_size": 1, "trial_seconds": time.perf_counter() - start}

    def cohorts(self, config: PriorStudyConfig, trials: list[PriorTrial]) -> list[list[int]]:
        """Trials of a shared batch order and the same data, recipe and activation, in chunks of ``cohort_size``."""
        if config.batch_order != "shared" or config.cohort_size == 1:
            return [[i] for i in range(len(trials))]
        groups: dict[str, list[int]] = {}
        for i, trial in enumerate(trials):
            groups.setdefault(json.dumps(trial.cohort_key(), sort_keys=True, default=str), []).append(i)
        return [g[i:i + config.cohort_size] for g in groups.values() for i in range(0, len(g), config.cohort_size)]

    def run_cohort(self, trials: list[PriorTrial],
                   context: TrialContext) -> Iterator[tuple[int, dict[str, Any] | BaseException]]:
        from sparsewire.cohorts import (
            DenseFeedForwardCohort,
            FeedForwardCohort,
            evaluate_cohort,
            iter_train_cohort,
        )
        from sparsewire.errors import TrainingDiverged

        if len(trials) == 1:  # one network: trained alone, exactly as run_trial
            try:
                yield 0, self.run_trial(trials[0], context)
            except Exception as err:  # noqa: BLE001 - recorded per trial (diverged or failed) by the runner
                yield 0, err
            return
        first = trials[0]
        start = time.perf_counter()
        splits = load_splits(first.dataset)
        nets, members = {}, []
        for index, trial in enumerate(trials):
            try:
                nets[index] = build_network(trial, splits)
                members.append(index)
            except Exception as err:  # noqa: BLE001 - e.g. an unreadable graph fails alone
                yield index, err
        if not members:
            return
        device = context.torch_device()  # networks are built on the CPU (the same weights everywhere), then moved
        models = [nets[i].to(device) for i in members]
        config = first.train
        # Clipping counts the gradients of masked weights (absent edges), as train() alone does: only the
        # dense cohort computes those; otherwise the edge-list cohort, whose cost follows the present edges.
        build = FeedForwardCohort if config.grad_clip is None else DenseFeedForwardCohort
        for pos, net, result in iter_train_cohort(
                models, splits.train, config, build=build, val_data=splits.val,
                seed=first.batch_seed, progress=context.progress, desc=f"cohort of {len(models)} priors"):
            index = members[pos]
            if result.stopped == "diverged":
                yield index, TrainingDiverged(result.diverged_epoch or result.epochs, result.diverged_reason)
                continue
            tick = time.perf_counter()
            alone = FeedForwardCohort([net])
            test, val = (evaluate_cohort(alone, data, 2048)[0]["accuracy"] for data in (splits.test, splits.val))
            assert isinstance(net, GraphNetwork), "iter_train_cohort yields the members it was given"
            context.keep_model(net, member=index)
            yield index, result_row(trials[index], net.cpu(), test, val, result) | {
                "cohort_size": len(models), "trial_seconds": result.seconds + time.perf_counter() - tick,
                "cohort_wall_seconds": time.perf_counter() - start}

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)
