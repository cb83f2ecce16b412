"""Architecture search by training networks, optionally screened by an online surrogate.

Three methods spend the same budget of trained networks (``budget``):

- ``random`` — every network a fresh random genome;
- ``ga`` — a (μ + λ) genetic algorithm: generation 0 is ``population`` random genomes, then every
  generation trains ``offspring`` children (tournament selection among the best ``population`` networks so
  far, crossover with probability ``crossover_rate``, then a mutation), and the best ``population`` of all
  trained networks are the next parents;
- ``predictor-ga`` — the same, but each generation breeds ``candidates × offspring`` children, a
  :class:`~sparsewire.architecture_search.surrogate.ForestSurrogate` retrained on every network trained so far
  scores them, and only the ``offspring`` with the highest acquisition (UCB or expected improvement) are
  trained (Stier, Darji & Granitzer 2021: genetic search with performance prediction).

Every network of a generation is handed to ``evaluate`` together (a cohort). For every method the surrogate
is also fitted before each generation (once ``min_fit`` networks exist) and its prediction for each new
network is recorded, so its rank correlation with the real accuracy of new genomes can be measured where
it selected nothing (``ga``, ``random``) as well as where it did. Genomes are distinct within a search; every
one respects the space's budget. After each generation the state is written to ``checkpoint`` (JSON);
a search that finds it resumes after the last finished generation, with the same result as one
uninterrupted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sparsewire.architecture_search.genetic import CROSSOVER_RATE
from sparsewire.architecture_search.operators import tournament
from sparsewire.architecture_search.spaces import SearchSpace
from sparsewire.architecture_search.surrogate import (
    ForestSurrogate,
    expected_improvement,
    genome_features,
    upper_confidence_bound,
)
from sparsewire.atomic import write_text
from sparsewire.masks.fractions import check_fraction
from sparsewire.progress import progress as tqdm

Method = Literal["predictor-ga", "ga", "random"]
METHODS: tuple[Method, ...] = ("predictor-ga", "ga", "random")

Evaluate = Callable[[list[Any], list[int]], list[dict[str, Any]]]
"""``evaluate(genomes, indices)`` trains the networks (``indices``: their numbers in the search, e.g. to seed
them) and returns one dict per genome with at least ``accuracy`` (the fitness, e.g. validation accuracy)."""


@dataclass(frozen=True)
class AssistedConfig:
    """Settings of :func:`assisted_search` (validated on construction)."""

    method: Method = "predictor-ga"
    budget: int = 30
    population: int = 10
    offspring: int = 5
    candidates: int = 5
    tournament: int = 3
    crossover_rate: float = 0.5
    acquisition: Literal["ucb", "ei"] = "ucb"
    kappa: float = 1.0
    min_fit: int = 5
    trees: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.method in METHODS, f"method must be one of {METHODS}"),
            (self.population >= 2 and self.offspring >= 1 and self.candidates >= 1, "need population >= 2, offspring >= 1, candidates >= 1"),
            (self.budget >= self.population, "budget must be at least the population"),
            (1 <= self.tournament <= self.population, "tournament must be in [1, population]"),
            (self.acquisition in ("ucb", "ei"), "acquisition must be ucb or ei"),
            (self.min_fit >= 2, "min_fit must be at least 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message} (got {self})")
        check_fraction(self.crossover_rate, "[0, 1]", "crossover_rate", CROSSOVER_RATE)


def assisted_search(space: SearchSpace, evaluate: Evaluate, config: AssistedConfig, *,
                    checkpoint: str | Path | None = None, progress: bool = True) -> list[dict[str, Any]]:
    """Search ``space`` with ``config.method`` until ``config.budget`` networks are trained.

    Returns one record per trained network in training order: ``index``, ``generation``, ``genome`` (the
    space's key), ``params``, ``macs``, ``predicted``/``predicted_std`` (the surrogate's, before training;
    None while fewer than ``min_fit`` networks exist), ``screened`` (whether the surrogate chose it) and the
    evaluator's fields (``accuracy``, …).
    """
    rng = np.random.default_rng(config.seed)
    path = Path(checkpoint) if checkpoint is not None else None
    records: list[dict[str, Any]] = []
    generation = 0
    if path is not None and path.exists():
        state = json.loads(path.read_text())
        if state["config"] != asdict(config) or state["space"] != space.kind:
            raise ValueError(f"checkpoint {path} was written by another search ({state['space']}, {state['config']}); "
                             "delete it or use another path")
        records, generation = state["records"], state["generation"] + 1
        rng.bit_generator.state = state["rng"]
    seen = {r["genome"] for r in records}
    features: dict[str, dict[str, float]] = {}

    def featurise(key: str) -> dict[str, float]:
        if key not in features:
            features[key] = genome_features(space, space.from_key(key))
        return features[key]

    bar = tqdm(total=config.budget, initial=len(records), desc=f"{config.method} search", disable=not progress)
    while len(records) < config.budget:
        size = config.population if generation == 0 else config.offspring
        size = min(size, config.budget - len(records))
        if generation == 0 or config.method == "random":
            batch = _fresh(space, rng, seen, size, lambda: space.random(rng))
            screened = False
        else:
            parents = sorted(records, key=lambda r: r["accuracy"], reverse=True)[: config.population]
            breed = _breeder(space, rng, parents, config)
            pool = size * (config.candidates if config.method == "predictor-ga" else 1)
            batch = _fresh(space, rng, seen, pool, breed)
            screened = config.method == "predictor-ga" and len(batch) > size
        surrogate = _fit(records, featurise, config)
        mean: list[float | None] = [None] * len(batch)
        std: list[float | None] = [None] * len(batch)
        if surrogate is not None and batch:
            mu, sigma = surrogate.predict([featurise(space.key(g)) for g in batch])
            if screened:
                best = max(r["accuracy"] for r in records)
                score = (upper_confidence_bound(mu, sigma, config.kappa) if config.acquisition == "ucb"
                         else expected_improvement(mu, sigma, best))
                order = np.argsort(-score, kind="stable")[:size]
                batch, mu, sigma = [batch[i] for i in order], mu[order], sigma[order]
            mean, std = [float(m) for m in mu], [float(s) for s in sigma]
        batch, mean, std = batch[:size], mean[:size], std[:size]
        if not batch:
            raise RuntimeError(f"the {space.kind} space yields no new genome within its budget {space.budget}; "
                               "widen the budget or the space")
        indices = list(range(len(records), len(records) + len(batch)))
        results = evaluate(batch, indices)
        for genome, index, m, s, result in zip(batch, indices, mean, std, results, strict=True):
            if not math.isfinite(result["accuracy"]):
                raise ValueError(f"network {index} has a non-finite accuracy {result['accuracy']}")
            records.append({"index": index, "generation": generation, "genome": space.key(genome), **space.cost(genome),
                            "predicted": m, "predicted_std": s, "screened": screened and surrogate is not None, **result})
            seen.add(space.key(genome))
        bar.update(len(batch))
        if path is not None:
            _save(path, {"config": asdict(config), "space": space.kind, "generation": generation, "records": records,
                         "rng": rng.bit_generator.state})
        generation += 1
    bar.close()
    return records


def _fresh(space: SearchSpace, rng: np.random.Generator, seen: set[str], size: int, make: Callable[[], Any],
           tries: int = 20) -> list[Any]:
    """Up to ``size`` feasible genomes from ``make`` not in ``seen`` and distinct from each other."""
    out: list[Any] = []
    keys = set(seen)
    for _ in range(size * tries):
        if len(out) == size:
            break
        genome = space.draw(make)
        if genome is None:
            continue
        key = space.key(genome)
        if key not in keys:
            keys.add(key)
            out.append(genome)
    return out


def _breeder(space: SearchSpace, rng: np.random.Generator, parents: list[dict[str, Any]],
             config: AssistedConfig) -> Callable[[], Any]:
    """A child: tournament-selected parent, crossover with a second one (probability ``crossover_rate``), a mutation."""
    genomes = [space.from_key(r["genome"]) for r in parents]
    accuracy = [r["accuracy"] for r in parents]

    def pick() -> Any:
        return genomes[tournament(rng, accuracy, config.tournament)]

    def breed() -> Any:
        child = pick()
        if rng.random() < config.crossover_rate:
            child = space.crossover(child, pick(), rng)
        return space.mutate(child, rng)

    return breed


def _fit(records: Sequence[dict[str, Any]], featurise: Callable[[str], dict[str, float]],
         config: AssistedConfig) -> ForestSurrogate | None:
    if len(records) < config.min_fit:
        return None
    return ForestSurrogate(config.trees, config.seed).fit([featurise(r["genome"]) for r in records],
                                                          [r["accuracy"] for r in records])


def _save(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(state))  # atomic: a search killed while writing keeps its last checkpoint
