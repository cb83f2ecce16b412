"""``study: reber-search`` — genetic architecture search with a performance predictor, checked by training.

Stier, Darji & Granitzer (2021): a predictor fitted on a structure study's rows (23 structural
features → test accuracy, :class:`~sparsewire.architecture_search.PredictorFitness`) is the fitness of a genetic search
over recurrent-network structures (:func:`~sparsewire.architecture_search.genetic_search`), which starts from BA/WS
priors drawn as in ``study: reber-structure``. The search costs milliseconds per candidate; whether it
found anything is only known by training: the ``top_k`` distinct structures of each search (kind
``search``) and as many fresh random priors (kind ``random``, the baseline) are trained on the Reber data
with every ``train_seeds`` seed, and each row records predicted and actual accuracy.

Each search runs once per search seed and is cached in ``DIR/cache`` (its checkpoint too, so an
interrupted search resumes); every trained network is an independent trial.
"""

from __future__ import annotations

import functools
import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from sparsewire.reber.config import ReberDataConfig
from sparsewire.reber.encoding import VOCAB_SIZE
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import reber_search as reports
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import DeviceOption, cached, check_cohort_precision, recurrent_cohort_runs
from sparsewire.studies.identity import config_hash
from sparsewire.studies.reber_structure import PriorConfig, _default_priors, _default_train, draw_nodes
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, evaluate, train

if TYPE_CHECKING:
    import networkx as nx

    from sparsewire.architecture_search import PredictorFitness
    from sparsewire.models.recurrent import GraphRecurrentClassifier


class PredictorSource(BaseModel):
    """Where the fitness predictor learns from: a results table with the 23 features and ``target``."""

    model_config = ConfigDict(extra="forbid")

    results: str = Field(description="a study folder or CSV with structural features and the target column")
    target: str = "test_accuracy"
    predictor: Literal["bayesian-ridge", "random-forest", "adaboost", "gradient-boosting"] = "random-forest"
    where: dict[str, Any] = Field(default_factory=dict, description="row filters, e.g. {cell: lstm}")


class SearchSettings(BaseModel):
    """:class:`~sparsewire.architecture_search.SearchConfig` without the seed (one search per ``search_seeds`` entry)."""

    model_config = ConfigDict(extra="forbid")

    population: int = Field(40, ge=2)
    generations: int = Field(25, ge=0)
    tournament: int = Field(3, ge=1)
    elite: int = Field(2, ge=0)
    crossover_rate: float = Field(0.5, ge=0, le=1)
    max_mutations: int = Field(3, ge=1)


class ReberSearchConfig(DeviceOption):
    """Config of ``study: reber-search`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["reber-search"] = "reber-search"
    name: str = "reber-search"
    predictor: PredictorSource
    search: SearchSettings = Field(default_factory=SearchSettings)
    search_seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    priors: list[PriorConfig] = Field(default_factory=_default_priors, min_length=1)
    """Generators of the initial population and of the random baseline (their ``networks`` is ignored)."""
    top_k: int = Field(5, ge=1, description="distinct best structures of each search that are trained")
    random_k: int = Field(5, ge=0, description="random prior structures trained per search seed (baseline)")
    cell: Literal["rnn-tanh", "rnn-relu", "gru", "lstm"] = "lstm"
    data: ReberDataConfig = Field(default_factory=lambda: ReberDataConfig(val_size=300, train_limit=1500, test_limit=1000))
    embedding_dim: int | None = Field(8, ge=1)
    train: TrainConfig = Field(default_factory=_default_train)
    train_seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    threads: int = Field(1, ge=1)
    cohort_size: int = Field(16, ge=1, le=4096, description="structures of one training seed trained together as "
                             "one computation (they share the seed's batch order anyway); 1 trains them one at a time. "
                             "Does not change any result.")

    @model_validator(mode="after")
    def _consistent(self) -> ReberSearchConfig:
        if self.search.tournament > self.search.population or self.search.elite >= self.search.population:
            raise ValueError("search.tournament must be <= search.population and search.elite < search.population")
        if self.top_k > self.search.population:
            raise ValueError(f"top_k {self.top_k} exceeds the population {self.search.population}")
        check_cohort_precision(self.train.precision, self.cohort_size > 1)
        return self

    def node_range(self) -> tuple[int, int]:
        return min(p.min_nodes for p in self.priors), max(p.max_nodes for p in self.priors)


class ReberSearchTrial(TrialConfig):
    """One trial of ``study: reber-search``: structure ``rank`` of ``kind`` ``search`` (the search of
    ``search_seed``'s rank-th best distinct structure) or ``random`` (the rank-th fresh prior of that seed),
    trained with ``train_seed``. Random trials carry no ``search`` or ``node_range`` (they use neither)."""

    data: ReberDataConfig
    train: TrainConfig
    cell: Literal["rnn-tanh", "rnn-relu", "gru", "lstm"]
    embedding_dim: int | None
    threads: int
    predictor: PredictorSource
    search: Recorded[SearchSettings | None] = None
    priors: list[PriorConfig]
    node_range: Recorded[list[int] | None] = None
    kind: Literal["search", "random"]
    search_seed: int
    rank: int
    train_seed: int

    @field_serializer("priors")
    def _prior_identities(self, priors: list[PriorConfig]) -> list[dict[str, Any]]:
        return [p.identity() for p in priors]  # tries only for connected-watts-strogatz (PriorConfig.identity)

    def search_spec(self) -> dict[str, Any]:
        """What determines the search of ``search_seed`` (its cache key and checkpoint name)."""
        if self.search is None or self.node_range is None:
            raise ValueError(f"a {self.kind} trial runs no search")
        return {"search": self.search.model_dump(), "predictor": self.predictor.model_dump(),
                "priors": [p.identity() for p in self.priors], "node_range": self.node_range, "seed": self.search_seed}


@functools.lru_cache(maxsize=4)
def _fitness(source_json: str) -> PredictorFitness:
    from sparsewire.architecture_search import PredictorFitness

    source = PredictorSource(**json.loads(source_json))
    return PredictorFitness(source.results, target=source.target, predictor=source.predictor, where=source.where)


def fitness_of(source: PredictorSource) -> PredictorFitness:
    """The (process-cached) predictor fitness a trial's ``predictor`` section describes."""
    return _fitness(json.dumps(source.model_dump(), sort_keys=True))


def _prior_graph(priors: list[PriorConfig], seed: int, index: int) -> nx.Graph:
    """Prior graph ``index`` of a draw: generators alternate, nodes uniform in the generator's range."""
    from sparsewire.graphs.priors import generate

    prior = priors[index % len(priors)]
    nodes = draw_nodes(seed, prior.generator, index, prior.min_nodes, prior.max_nodes)
    return generate(prior.generator, nodes, seed=seed * 1_000_003 + index, **prior.params(nodes))


def _network(trial: ReberSearchTrial, context: TrialContext) -> tuple[GraphRecurrentClassifier, dict[str, Any]]:
    """The trial's untrained network and the row fields known before training (structure, prediction)."""
    from sparsewire.architecture_search.genetic import from_key
    from sparsewire.architecture_search.operators import canonical
    from sparsewire.graphs.features import structural_features
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    fitness = fitness_of(trial.predictor)
    extra: dict[str, Any] = {}
    if trial.kind == "search":
        found = _search(trial, context)
        if trial.rank >= len(found["top"]):
            raise ValueError(f"the search found only {len(found['top'])} distinct structures; rank "
                             f"{trial.rank} does not exist (lower top_k or raise the population)")
        genome, _ = found["top"][trial.rank]
        dag = from_key(genome)
        extra = {"search_best_per_generation": [h["best"] for h in found["history"]],
                 "search_mean_per_generation": [h["mean"] for h in found["history"]],
                 "search_evaluations": found["evaluations"]}
    else:
        seed = 20_000 + trial.search_seed
        dag = canonical(_prior_graph(trial.priors, seed, trial.rank), seed=seed + trial.rank)
    predicted = fitness(dag)
    features = structural_features(dag)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GraphRecurrentClassifier(dag, trial.cell, 2, vocab_size=VOCAB_SIZE,
                                         embedding_dim=trial.embedding_dim, seed=trial.train_seed)
    return model, {
        "kind": trial.kind, "search_seed": trial.search_seed, "rank": trial.rank,
        "train_seed": trial.train_seed, "cell": trial.cell,
        "structure": f"{trial.kind}-{trial.search_seed}-{trial.rank}",
        "predicted_accuracy": predicted, **features, "feature_convention": "stier2021",
        "warnings": [str(w.message) for w in caught][:3], **extra,
    }


def _search(trial: ReberSearchTrial, context: TrialContext) -> dict[str, Any]:
    """Run (or load) the genetic search of the trial's ``search_seed``."""
    from sparsewire.architecture_search import SearchConfig, genetic_search
    from sparsewire.architecture_search.genetic import key

    spec = trial.search_spec()
    seed = trial.search_seed
    low, high = spec["node_range"]
    settings = SearchConfig(**spec["search"], min_nodes=low, max_nodes=high, seed=seed)

    def make() -> dict[str, Any]:
        initial = [_prior_graph(trial.priors, 10_000 + seed, i) for i in range(settings.population)]
        checkpoint = context.cache_dir / f"search-{config_hash(spec)}.json"
        result = genetic_search(initial, fitness_of(trial.predictor), settings, checkpoint=checkpoint,
                                progress=context.progress)
        distinct: dict[Any, float] = {}
        for graph, value in zip(result.graphs, result.fitness, strict=True):
            distinct.setdefault(key(graph), value)
        return {"top": [[[k[0], [list(e) for e in k[1]]], f] for k, f in distinct.items()],
                "history": result.history, "evaluations": result.evaluations}

    return cached(context.cache_dir, {"reber-search": 1, **spec}, make)


@register
class ReberSearchStudy(StudyType[ReberSearchConfig, ReberSearchTrial]):
    name = "reber-search"
    Config = ReberSearchConfig
    TrialConfig = ReberSearchTrial

    def check(self, config: ReberSearchConfig) -> None:
        config.data.load()
        fitness_of(config.predictor)  # a missing or unusable predictor table fails here

    def trials(self, config: ReberSearchConfig) -> list[ReberSearchTrial]:
        shared = {"data": config.data, "train": config.train, "cell": config.cell,
                  "embedding_dim": config.embedding_dim, "threads": config.threads, "predictor": config.predictor,
                  "priors": config.priors}
        search = {"search": config.search, "node_range": list(config.node_range())}
        out = []
        for seed in config.search_seeds:
            for rank in range(config.top_k):
                out += [ReberSearchTrial(**shared, **search, kind="search", search_seed=seed, rank=rank, train_seed=t)
                        for t in config.train_seeds]
            for index in range(config.random_k):
                out += [ReberSearchTrial(**shared, kind="random", search_seed=seed, rank=index, train_seed=t)
                        for t in config.train_seeds]
        return out

    def run_trial(self, trial: ReberSearchTrial, context: TrialContext) -> dict[str, Any]:
        torch.set_num_threads(trial.threads)
        start = time.perf_counter()
        model, row = _network(trial, context)
        splits = trial.data.load()
        result = train(model, splits.train, trial.train, val_data=splits.val,
                       seed=trial.train_seed, progress=context.progress,
                       desc=f"{trial.kind} {trial.search_seed}/{trial.rank} seed {trial.train_seed}",
                       device=context.torch_device())
        return row | {"test_accuracy": evaluate(model, splits.test)["accuracy"], "val_accuracy": result.best_val_accuracy,
                      "epochs": result.epochs, "train_seconds": result.seconds,
                      "trial_seconds": time.perf_counter() - start, "history": history_entries(result.history)}

    def cohorts(self, config: ReberSearchConfig, trials: list[ReberSearchTrial]) -> list[list[int]]:
        """Every structure trained with one seed sees that seed's batches: they train together in cohorts of
        ``cohort_size`` (nothing a trial computes changes, so no trial id does)."""
        by_seed: dict[int, list[int]] = {}
        for i, trial in enumerate(trials):
            by_seed.setdefault(trial.train_seed, []).append(i)
        size = config.cohort_size
        return [g[i:i + size] for g in by_seed.values() for i in range(0, len(g), size)]

    def run_cohort(self, trials: list[ReberSearchTrial],
                   context: TrialContext) -> Iterator[tuple[int, dict[str, Any] | BaseException]]:
        first = trials[0]
        torch.set_num_threads(first.threads)
        splits = first.data.load()
        for index, outcome in recurrent_cohort_runs(
                trials, lambda trial: _network(trial, context), splits, first.train,
                seed=first.train_seed, context=context, eval_batch_size=2048, desc=f"cohort of {len(trials)}"):
            if isinstance(outcome, BaseException):
                yield index, outcome
                continue
            _, row, result, test, timing = outcome
            yield index, row | {
                "test_accuracy": test, "val_accuracy": result.best_val_accuracy, "epochs": result.epochs,
                "train_seconds": result.seconds, "history": history_entries(result.history)} | timing

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)
