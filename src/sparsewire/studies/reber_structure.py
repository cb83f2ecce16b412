"""``study: reber-structure`` — recurrent networks built from random-graph priors learn the Reber grammar.

Stier, Darji & Granitzer (2021), Sec. 3.1 and 4.3: for each recurrent type, ``networks`` graphs per
generator — Barabási–Albert with ``m = n // 10`` and Watts–Strogatz with ``k = n // 5`` and rewiring ``p``
(both configurable), ``n`` drawn uniformly from ``[min_nodes, max_nodes]`` — become recurrent networks via
:class:`~sparsewire.models.recurrent.GraphRecurrentClassifier`, are trained on the Reber data and give one
row each: the 23 structural features of the network's DAG
(:func:`~sparsewire.graphs.features.structural_features`, the authors' definitions; column
``feature_convention``) and the test accuracy. The table feeds ``sparsewire predict DIR --by cell``.

Network conventions (config keys; defaults first, the authors' in ``configs/reber-structure-paper.yaml``):

- ``orientation``: ``edge-order`` (each prior edge ``u → v`` as networkx lists it, the authors') or
  ``random`` (a random node ranking seeded by the graph seed; how every run before issue 11 was built);
- ``embedding_dim``: an int, ``first-layer`` (as wide as the graph's first layer, the authors') or ``null``;
- ``readout``: ``last-valid`` (each string's last valid step) or ``last-step`` (the zero-padded batch's last
  step, the authors'): see :mod:`sparsewire.models.recurrent` for why a network with every weight pruned
  still reads string lengths through its biases with ``last-valid``;
- ``padding_embedding``: ``zero`` or ``learned`` (the authors' embedding has no padding index).

Trial ids: ``orientation`` joins a trial's config only when it is ``edge-order``, ``readout`` only when it
is ``last-step`` and ``padding_embedding`` only when ``learned``, so a config that asks for the earlier
behaviour (``orientation: random``, the other two at their defaults) keeps the ids of its recorded rows,
and every trial under a new convention gets a new id.

The authors' recipe and code (``innvariant/sparsity-experiments-2021``, ``rnn/``), and what differs here
(:data:`DEVIATIONS`): see ``configs/reber-structure-paper.yaml``.

A graph whose layered network has no input → output path makes the model raise; that trial is
recorded as failed with the error and the sweep goes on. Trials are ordered network by network
(all cells and generators of network 0, then of network 1, …), so a sweep stopped early is balanced.
"""

from __future__ import annotations

import itertools
import json
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sparsewire.masks import Masks
from sparsewire.reber.config import ReberDataConfig
from sparsewire.reber.encoding import VOCAB_SIZE
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import reber_structure as reports
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import check_cohort_precision, recurrent_cohort_runs
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, TrainResult, evaluate, train

if TYPE_CHECKING:
    from sparsewire.models.recurrent import Cell, GraphRecurrentClassifier

GENERATORS = ("barabasi-albert", "watts-strogatz", "connected-watts-strogatz")

DEVIATIONS: list[str] = [
    "graphs, node counts and initial weights are seeded (the authors' script draws them unseeded)",
    "characters are ids 1-26 of a 27-row embedding (the authors': ASCII codes, 128 rows); only the table's "
    "size differs, unused rows never take part",
    "with readout last-step the test set is read in batches of the training batch size in file order (the "
    "authors': the same size, shuffled); a string's prediction depends on the longest string of its batch",
    "diameter, path length and eccentricity of a disconnected graph use its largest component (the authors' "
    "connected priors never needed it); average_shortest_path_length is the 23rd feature, which the "
    "authors' Reber script does not write",
    "a trial whose network has no input-output path is recorded as failed (the authors' script would crash)",
    "networkx >= 2.6 starts Barabasi-Albert graphs from a star centred on node 0 (2.5: on node m); with "
    "edge-order orientation the first hub is then a source (layer 0) instead of following its first m "
    "neighbours. Which version the authors ran is not recorded; we use the installed networkx",
    "units within a layer follow the graph's node order (the authors': the order their layer index found "
    "them): a permutation of units, so only which initial weight a unit draws differs",
]
"""Where ``configs/reber-structure-paper.yaml`` still differs from the authors' code."""


class PriorConfig(BaseModel):
    """One random-graph generator and how many networks to draw from it."""

    model_config = ConfigDict(extra="forbid")

    generator: Literal["barabasi-albert", "watts-strogatz", "connected-watts-strogatz"]
    networks: int = Field(100, ge=1)
    min_nodes: int = Field(10, ge=3)
    max_nodes: int = Field(50, ge=3)
    m: int | None = Field(None, ge=1, description="BA edges per new node (default: the paper's n // 10, at least 1)")
    k: int | None = Field(None, ge=1, description="WS ring neighbours (default: the paper's n // 5, at least 2)")
    p: float = Field(0.5, ge=0, le=1, description="WS rewiring probability (the authors' code: 1.0)")
    tries: int = Field(100, ge=1, description="connected-watts-strogatz: draws until connected (the authors': 10)")

    @model_validator(mode="after")
    def _range(self) -> PriorConfig:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes {self.min_nodes} exceeds max_nodes {self.max_nodes}")
        return self

    def identity(self) -> dict[str, Any]:
        """The fields as a trial records them: ``tries`` only for ``connected-watts-strogatz`` (the only
        generator that reads it), so trials of the other generators keep their ids."""
        out = self.model_dump()
        if self.generator != "connected-watts-strogatz":
            del out["tries"]
        return out

    def params(self, nodes: int) -> dict[str, Any]:
        """Generator keyword arguments for a graph of ``nodes`` nodes."""
        if self.generator == "barabasi-albert":
            return {"m": self.m if self.m is not None else max(1, nodes // 10)}
        params = {"k": self.k if self.k is not None else max(2, nodes // 5), "p": self.p}
        if self.generator == "connected-watts-strogatz":
            params["tries"] = self.tries
        return params


def _default_priors() -> list[PriorConfig]:
    return [PriorConfig(generator="barabasi-albert"), PriorConfig(generator="watts-strogatz")]


def _gru_and_lstm() -> list[Cell]:
    return ["gru", "lstm"]


def _default_train() -> TrainConfig:
    return TrainConfig(epochs=3, batch_size=128, lr=0.01, grad_clip=1.0)


class ReberStructureConfig(BaseModel):
    """Config of ``study: reber-structure`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["reber-structure"] = "reber-structure"
    name: str = "reber-structure"
    data: ReberDataConfig = Field(default_factory=lambda: ReberDataConfig(val_size=500, train_limit=2000, test_limit=2000))
    cells: list[Literal["rnn-tanh", "rnn-relu", "gru", "lstm"]] = Field(default_factory=_gru_and_lstm)
    priors: list[PriorConfig] = Field(default_factory=_default_priors)
    embedding_dim: int | Literal["first-layer"] | None = Field(8, description="character embedding size: an int, "
                                                                "'first-layer' (the graph's first layer) or null (one-hot)")
    orientation: Literal["edge-order", "random"] = Field(
        "edge-order", description="edge-order: each prior edge u -> v as networkx lists it (the authors'); random: "
        "a node ranking seeded by the graph seed (every run before issue 11)")
    readout: Literal["last-valid", "last-step"] = Field(
        "last-valid", description="last-valid: each string's last valid step; last-step: the padded batch's last "
        "step (the authors')")
    padding_embedding: Literal["zero", "learned"] = Field(
        "zero", description="the padding token's embedding: zero, or learned like any character (the authors')")
    train: TrainConfig = Field(default_factory=_default_train)
    seed: int = 0
    train_seeds: list[int] | None = Field(
        None, description="train every graph once per seed (initialisation and data order; the orientation "
        "stays the graph's): repeated runs measure how much of the accuracy is training noise. Default: "
        "one run per graph, seeded by its graph seed.")
    threads: int = Field(1, ge=1)
    batch_order: Literal["shared", "per-network"] = Field(
        "shared", description="shared: every network sees the same batches in the same order (shuffled by `seed`), "
        "which lets networks train together in cohorts; per-network: shuffled by each network's own seed (every "
        "run before cohorts), one network at a time")
    cohort_size: int = Field(16, ge=1, le=4096, description="networks trained together as one computation "
                             "(batch_order: shared); 1 trains them one at a time. Does not change any result.")
    device: str = Field("cpu", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$", description="where cohorts train: auto "
                        "(CUDA when present), cpu, cuda or cuda:N; not part of any trial id")

    @model_validator(mode="after")
    def _non_empty(self) -> ReberStructureConfig:
        if not self.cells or not self.priors:
            raise ValueError("cells and priors must not be empty")
        if self.train_seeds is not None and (not self.train_seeds or len(set(self.train_seeds)) != len(self.train_seeds)):
            raise ValueError(f"train_seeds must be a non-empty list of distinct seeds, got {self.train_seeds}")
        if isinstance(self.embedding_dim, int) and self.embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, 'first-layer' or null, got {self.embedding_dim}")
        check_cohort_precision(self.train.precision, self.batch_order == "shared" and self.cohort_size > 1)
        return self

    def conventions(self) -> dict[str, Any]:
        """The network conventions every trial carries (its :class:`ReberStructureTrial` leaves out those at
        the behaviour of the runs recorded before they existed), and ``data_seed`` with a shared batch order."""
        return {"orientation": self.orientation, "readout": self.readout, "padding_embedding": self.padding_embedding,
                "data_seed": self.seed if self.batch_order == "shared" else None}


class ReberStructureTrial(TrialConfig):
    """One trial of ``study: reber-structure``: network ``index`` of ``generator`` (``nodes`` nodes, ``params``,
    ``graph_seed``) as a recurrent ``cell`` network, trained on the Reber data.

    ``orientation``, ``readout``, ``padding_embedding``, ``data_seed`` and ``train_seed`` are
    :data:`~sparsewire.studies.trials.Recorded`: at the behaviour of the runs before they existed (random
    orientation, last-valid read-out, zero padding, batches shuffled by the network's seed, one run per
    graph seeded by it) they are not part of the trial's dict, so those runs keep their ids.
    """

    NETWORK_FIELDS = frozenset({"generator", "nodes", "params", "graph_seed", "index", "train_seed", "embedding_dim"})

    data: ReberDataConfig
    train: TrainConfig
    embedding_dim: int | Literal["first-layer"] | None
    threads: int
    orientation: Recorded[Literal["edge-order", "random"]] = "random"
    readout: Recorded[Literal["last-valid", "last-step"]] = "last-valid"
    padding_embedding: Recorded[Literal["zero", "learned"]] = "zero"
    data_seed: Recorded[int | None] = None
    cell: Literal["rnn-tanh", "rnn-relu", "gru", "lstm"]
    generator: Literal["barabasi-albert", "watts-strogatz", "connected-watts-strogatz"]
    nodes: int
    params: dict[str, int | float]
    graph_seed: int
    index: int
    train_seed: Recorded[int | None] = None

    @property
    def network_seed(self) -> int:
        """The seed of the network's initialisation (and, with ``batch_order: per-network``, of its data order)."""
        return self.train_seed if self.train_seed is not None else self.graph_seed

    @property
    def batch_seed(self) -> int:
        """The seed of the training batch order: the study's (shared) or the network's."""
        return self.data_seed if self.data_seed is not None else self.network_seed

    @property
    def eval_batch_size(self) -> int:
        """Test batches: with ``readout: last-step`` a string's prediction depends on its batch's padding, so
        the test set is read in batches of the training batch size, as the authors' loaders did (in file order,
        not shuffled); otherwise in batches of 2048 (the read-out is then independent of batching)."""
        return self.train.batch_size if self.readout == "last-step" else 2048

    def cohort_key(self) -> dict[str, Any]:
        """Members of one cohort share everything but the network, and embed characters alike (or all one-hot)."""
        return super().cohort_key() | {"one_hot": self.embedding_dim is None}


def build_network(trial: ReberStructureTrial) -> tuple[GraphRecurrentClassifier, dict[str, float], list[str]]:
    """The trial's network, the 23 features of the DAG it is built on, and the warnings its construction gave."""
    from sparsewire.graphs.build import orient
    from sparsewire.graphs.features import structural_features
    from sparsewire.graphs.priors import generate
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    params: Mapping[str, Any] = trial.params  # the generator's keywords (k, m, p, tries)
    graph = generate(trial.generator, trial.nodes, seed=trial.graph_seed, **params)
    # Orient once (random orientations seeded by the graph, not the training seed), then initialise with the
    # run's seed; the network is built on this DAG.
    dag = orient(graph, trial.orientation, trial.graph_seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GraphRecurrentClassifier(dag, trial.cell, 2, vocab_size=VOCAB_SIZE,
                                         embedding_dim=trial.embedding_dim, seed=trial.network_seed,
                                         readout=trial.readout, padding_embedding=trial.padding_embedding)
    # The features of the DAG the network was built on, so that the directed counts (layers, first and last
    # layer) describe this network.
    return model, structural_features(model.graph_rnn.dag), [str(w.message) for w in caught][:3]


def result_row(trial: ReberStructureTrial, model: GraphRecurrentClassifier, features: dict[str, float], caught: list[str],
               test_accuracy: float, result: TrainResult) -> dict[str, Any]:
    """One network's results row (the same whether it trained alone or in a cohort)."""
    masks = Masks.of(model)
    return {
        "cell": trial.cell, "generator": trial.generator, "index": trial.index,
        "graph_seed": trial.graph_seed, **({"train_seed": trial.train_seed} if trial.train_seed is not None else {}),
        **{f"param_{k}": v for k, v in trial.params.items()},
        "orientation": trial.orientation, "readout": trial.readout,
        "batch_order": "per-network" if trial.data_seed is None else "shared",
        "data_seed": trial.batch_seed,
        "embedding_size": model.graph_rnn.input_size,
        **features, "feature_convention": "stier2021",
        "layer_sizes": list(model.graph_rnn.structure.sizes),
        "masked_weights_remaining": masks.remaining(), "masked_weights_total": masks.total(),
        "warnings": caught,
        "test_accuracy": test_accuracy,
        "val_accuracy": result.best_val_accuracy,
        "epochs": result.epochs, "stopped": result.stopped, "train_seconds": result.seconds,
        "history": history_entries(result.history),
    }


def draw_nodes(seed: int, generator: str, index: int, low: int, high: int) -> int:
    """The node count of network ``index`` of ``generator``: uniform in ``[low, high]``, seeded."""
    rng = np.random.default_rng([seed, GENERATORS.index(generator), index])
    return int(rng.integers(low, high + 1))


@register
class ReberStructureStudy(StudyType[ReberStructureConfig, ReberStructureTrial]):
    name = "reber-structure"
    Config = ReberStructureConfig
    TrialConfig = ReberStructureTrial

    def check(self, config: ReberStructureConfig) -> None:
        from sparsewire.graphs.features import FEATURE_NAMES  # noqa: F401 - the graphs package must be present

        config.data.load()

    def trials(self, config: ReberStructureConfig) -> list[ReberStructureTrial]:
        shared = {"data": config.data, "train": config.train, "embedding_dim": config.embedding_dim,
                  "threads": config.threads, **config.conventions()}
        out = []
        for index in range(max(p.networks for p in config.priors)):
            for prior in config.priors:
                if index >= prior.networks:
                    continue
                nodes = draw_nodes(config.seed, prior.generator, index, prior.min_nodes, prior.max_nodes)
                graph_seed = config.seed * 1_000_003 + index
                for cell in config.cells:
                    network = {**shared, "cell": cell, "generator": prior.generator, "nodes": nodes,
                               "params": prior.params(nodes), "graph_seed": graph_seed, "index": index}
                    seeds: list[int | None] = list(config.train_seeds) if config.train_seeds else [None]
                    out += [ReberStructureTrial(**network, train_seed=s) for s in seeds]
        return out

    def model_for(self, trial: ReberStructureTrial, result: Mapping[str, Any] | None = None) -> torch.nn.Module:
        return build_network(trial)[0]

    def run_trial(self, trial: ReberStructureTrial, context: TrialContext) -> dict[str, Any]:
        torch.set_num_threads(trial.threads)
        start = time.perf_counter()
        splits = trial.data.load()
        model, features, caught = build_network(trial)
        device = context.torch_device()
        result = train(model.to(device), splits.train, trial.train, val_data=splits.val, seed=trial.batch_seed,
                       progress=context.progress, desc=f"{trial.cell} {trial.generator} n={trial.nodes}", device=device)
        test = evaluate(model, splits.test, batch_size=trial.eval_batch_size, device=device)["accuracy"]
        model.cpu()
        context.keep_model(model)
        return result_row(trial, model, features, caught, test, result) | {"trial_seconds": time.perf_counter() - start}

    def cohorts(self, config: ReberStructureConfig, trials: list[ReberStructureTrial]) -> list[list[int]]:
        """Trials of a shared batch order and the same cell, data and recipe, in chunks of ``cohort_size``
        (taken in turn from each cell)."""
        if config.batch_order != "shared" or config.cohort_size == 1:
            return [[i] for i in range(len(trials))]
        groups: dict[str, list[int]] = {}
        for i, trial in enumerate(trials):
            groups.setdefault(json.dumps(trial.cohort_key(), sort_keys=True, default=str), []).append(i)
        chunks = [[g[i:i + config.cohort_size] for i in range(0, len(g), config.cohort_size)] for g in groups.values()]
        # round-robin over cells (and other groups), so a sweep stopped early is balanced
        return [chunk for round_ in itertools.zip_longest(*chunks) for chunk in round_ if chunk is not None]

    def run_cohort(self, trials: list[ReberStructureTrial],
                   context: TrialContext) -> Iterator[tuple[int, dict[str, Any] | BaseException]]:
        first = trials[0]
        torch.set_num_threads(first.threads)
        splits = first.data.load()

        def build(trial: ReberStructureTrial) -> tuple[GraphRecurrentClassifier, tuple[dict[str, float], list[str]]]:
            model, features, caught = build_network(trial)
            return model, (features, caught)

        for index, outcome in recurrent_cohort_runs(
                trials, build, splits, first.train, seed=first.batch_seed, context=context,
                eval_batch_size=first.eval_batch_size, desc=f"cohort of {len(trials)} {first.cell}"):
            if isinstance(outcome, BaseException):
                yield index, outcome
                continue
            model, (features, caught), result, test, timing = outcome
            context.keep_model(model, member=index)
            yield index, result_row(trials[index], model, features, caught, test, result) | timing

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)
