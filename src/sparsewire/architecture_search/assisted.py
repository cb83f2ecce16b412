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
  trained (Stier, Darji & Granitzer 2021: genetic search with performance prediction). With ``wl`` the forest
  also reads the Weisfeiler–Lehman pattern frequencies of each genome's DAG, over a vocabulary refitted on the
  genomes trained so far (:class:`~sparsewire.architecture_search.surrogate.SurrogateFeatures`). With
  ``prefix_candidates`` k > 0 the screen has two stages: the structure surrogate keeps the top k children,
  those are trained for a short prefix (a :class:`PrefixScreen`, e.g. the first quarter of the first epoch),
  and a second forest on the features plus the validation accuracy after that prefix — fitted on every
  network trained so far, whose full training records its accuracy at the same point — chooses the
  ``offspring`` to train fully.

The budget is counted in full trainings: a network trained fully costs 1, a prefix training its
:attr:`PrefixScreen.cost` (its share of a full training), so at equal ``budget`` every method spends the same
network-epochs (the last generation shrinks to fit; a generation that cannot afford the prefix stage is
screened by the structure surrogate alone). With :attr:`PrefixScreen.continues` a chosen candidate's full
training continues its prefix training (it keeps the candidate's number, so the same initialisation), and the
prefix is paid once: a chosen candidate costs 1 in all, one not chosen its prefix share.

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sparsewire.architecture_search.genetic import CROSSOVER_RATE
from sparsewire.architecture_search.operators import tournament
from sparsewire.architecture_search.spaces import SearchSpace
from sparsewire.architecture_search.surrogate import (
    ForestSurrogate,
    SurrogateFeatures,
    expected_improvement,
    upper_confidence_bound,
)
from sparsewire.atomic import write_text
from sparsewire.masks.fractions import check_fraction
from sparsewire.progress import progress as tqdm

Method = Literal["predictor-ga", "ga", "random"]
METHODS: tuple[Method, ...] = ("predictor-ga", "ga", "random")

Evaluate = Callable[[list[Any], list[int]], list[dict[str, Any]]]
"""``evaluate(genomes, indices)`` trains the networks (``indices``: their numbers in the search, e.g. to seed
them) and returns one dict per genome with at least ``accuracy`` (the fitness, e.g. validation accuracy); with
a continuing :class:`PrefixScreen` also ``prefix_continued`` (whether the network's prefix training was
continued rather than repeated)."""


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
    wl: bool = False
    """The surrogate also reads the genome DAG's Weisfeiler–Lehman pattern frequencies."""
    prefix_candidates: int = 0
    """predictor-ga: children the structure surrogate passes to the prefix stage per generation (0: one stage)."""
    second_stage: Literal["forest", "prefix"] = "forest"
    """How the prefix stage ranks its candidates: ``forest`` by the acquisition of a forest on features + prefix
    accuracy; ``prefix`` by the prefix accuracy itself (successive halving, Jamieson & Talwalkar 2016)."""

    def __post_init__(self) -> None:
        checks = [
            (self.method in METHODS, f"method must be one of {METHODS}"),
            (self.population >= 2 and self.offspring >= 1 and self.candidates >= 1, "need population >= 2, offspring >= 1, candidates >= 1"),
            (self.budget >= self.population, "budget must be at least the population"),
            (1 <= self.tournament <= self.population, "tournament must be in [1, population]"),
            (self.acquisition in ("ucb", "ei"), "acquisition must be ucb or ei"),
            (self.min_fit >= 2, "min_fit must be at least 2"),
            (self.prefix_candidates == 0 or self.prefix_candidates > self.offspring,
             "prefix_candidates must be 0 (one stage) or more than offspring"),
            (self.second_stage in ("forest", "prefix"), "second_stage must be forest or prefix"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message} (got {self})")
        check_fraction(self.crossover_rate, "[0, 1]", "crossover_rate", CROSSOVER_RATE)


@dataclass
class PrefixScreen:
    """predictor-ga's second screening stage: ``evaluate(genomes, indices)`` trains each candidate for a
    prefix of its training and returns ``prefix_accuracy`` per genome (``indices``: the numbers the
    candidates would get if all were trained, in the structure surrogate's order, e.g. to seed them);
    ``cost`` is one prefix training as a share of a full training (the first quarter of a one-epoch
    training: 0.25). :func:`assisted_search` logs every prefix training in ``trainings``. ``continues``: the
    search's ``evaluate``, given a chosen candidate's number, continues that candidate's prefix training
    instead of starting again (and says so with ``prefix_continued``), so its prefix is not paid twice."""

    evaluate: Evaluate
    cost: float
    trainings: list[dict[str, Any]] = field(default_factory=list)
    continues: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.cost < 1:
            raise ValueError(f"a prefix must cost a share of a full training in (0, 1) (got {self.cost})")

    def spent(self) -> float:
        """Full trainings' worth spent on prefix trainings so far, less those a full training continued (their
        cost is part of that network's 1)."""
        return self.cost * sum(1 for t in self.trainings if not t.get("continued", False))


def assisted_search(space: SearchSpace, evaluate: Evaluate, config: AssistedConfig, *,
                    prefix: PrefixScreen | None = None, checkpoint: str | Path | None = None,
                    progress: bool = True) -> list[dict[str, Any]]:
    """Search ``space`` with ``config.method`` until ``config.budget`` full trainings' worth is spent.

    Returns one record per fully trained network in training order: ``index`` (the number ``evaluate`` got;
    with a continuing prefix screen numbers also count prefix trainings, so they leave gaps), ``generation``,
    ``genome`` (the space's key), ``params``, ``macs``, ``predicted``/``predicted_std`` (the structure surrogate's, before
    training; None while fewer than ``min_fit`` networks exist), ``screened`` (whether the surrogate chose it)
    and the evaluator's fields (``accuracy``, …; with a prefix stage also ``prefix_accuracy``, and
    ``predicted_prefix``/``predicted_prefix_std``: the second forest's, None where it did not choose).
    Prefix trainings are logged in ``prefix.trainings``.
    """
    two_stage_method = config.method == "predictor-ga" and config.prefix_candidates > 0
    if two_stage_method and prefix is None:
        raise ValueError("prefix_candidates > 0 needs a PrefixScreen (prefix=...)")
    rng = np.random.default_rng(config.seed)
    path = Path(checkpoint) if checkpoint is not None else None
    records: list[dict[str, Any]] = []
    generation = 0
    if path is not None and path.exists():
        state = json.loads(path.read_text())
        if {**asdict(AssistedConfig()), **state["config"]} != asdict(config) or state["space"] != space.kind:
            raise ValueError(f"checkpoint {path} was written by another search ({state['space']}, {state['config']}); "
                             "delete it or use another path")
        records, generation = state["records"], state["generation"] + 1
        rng.bit_generator.state = state["rng"]
        if prefix is not None:
            prefix.trainings[:] = state.get("prefix_trainings", [])
    seen = {r["genome"] for r in records}
    features = SurrogateFeatures(space, wl=config.wl)

    def spent() -> float:
        return len(records) + (prefix.spent() if prefix is not None else 0.0)

    def acquisition(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        if config.acquisition == "ucb":
            return upper_confidence_bound(mu, sigma, config.kappa)
        return expected_improvement(mu, sigma, max(r["accuracy"] for r in records))

    bar = tqdm(total=config.budget, initial=len(records), desc=f"{config.method} search", disable=not progress)
    while (room := math.floor(config.budget - spent() + 1e-9)) >= 1:
        size = min(config.population if generation == 0 else config.offspring, room)
        two_stage = two_stage_method and generation > 0 and prefix is not None
        # a continuing screen's numbers count prefix trainings, so every network built gets its own
        base = len(records) + (len(prefix.trainings) if prefix is not None and prefix.continues else 0)
        if two_stage and prefix is not None:
            # continued, a chosen candidate pays only the rest of its training after the prefix stage
            left = config.budget - spent() - prefix.cost * config.prefix_candidates
            affordable = math.floor(left / (1 - prefix.cost if prefix.continues else 1) + 1e-9)
            two_stage = affordable >= 1
            size = min(size, affordable) if two_stage else size
        if generation == 0 or config.method == "random":
            batch = _fresh(space, rng, seen, size, lambda: space.random(rng))
            screened = False
        else:
            parents = sorted(records, key=lambda r: r["accuracy"], reverse=True)[: config.population]
            breed = _breeder(space, rng, parents, config)
            pool = size * (config.candidates if config.method == "predictor-ga" else 1)
            pool = max(pool, config.prefix_candidates) if two_stage else pool
            batch = _fresh(space, rng, seen, pool, breed)
            screened = config.method == "predictor-ga" and len(batch) > size
        features.refit([r["genome"] for r in records])
        surrogate = _fit(records, features, config)
        mean: list[float | None] = [None] * len(batch)
        std: list[float | None] = [None] * len(batch)
        second: dict[str, list[float | None]] = {}
        indices = list(range(base, base + len(batch)))
        if surrogate is not None and batch:
            mu, sigma = surrogate.predict([features(space.key(g)) for g in batch])
            if screened:
                keep = config.prefix_candidates if two_stage else size
                order = np.argsort(-acquisition(mu, sigma), kind="stable")[:keep]
                batch, mu, sigma = [batch[i] for i in order], mu[order], sigma[order]
                if two_stage and prefix is not None and len(batch) > size:
                    chosen, second = _prefix_stage(space, batch, records, features, prefix, config, generation, size,
                                                    acquisition, base)
                    batch, mu, sigma = [batch[i] for i in chosen], mu[chosen], sigma[chosen]
                    if prefix.continues:  # the chosen keep the numbers their prefix trainings had
                        indices = [base + i for i in chosen]
            mean, std = [float(m) for m in mu], [float(s) for s in sigma]
        batch, mean, std = batch[:size], mean[:size], std[:size]
        if not batch:
            raise RuntimeError(f"the {space.kind} space yields no new genome within its budget {space.budget}; "
                               "widen the budget or the space")
        indices = indices[:len(batch)]
        results = evaluate(batch, indices)
        if prefix is not None and prefix.continues:
            _mark_continued(prefix, generation, indices, results)
        for k, (genome, index, m, s, result) in enumerate(zip(batch, indices, mean, std, results, strict=True)):
            if not math.isfinite(result["accuracy"]):
                raise ValueError(f"network {index} has a non-finite accuracy {result['accuracy']}")
            if two_stage_method and "prefix_accuracy" not in result:
                raise ValueError("with a prefix stage, evaluate must record each network's prefix_accuracy")
            extra = {name: values[k] if values else None for name, values in
                     (("predicted_prefix", second.get("mean")), ("predicted_prefix_std", second.get("std")))}
            records.append({"index": index, "generation": generation, "genome": space.key(genome), **space.cost(genome),
                            "predicted": m, "predicted_std": s, "screened": screened and surrogate is not None,
                            **(extra if two_stage_method else {}), **result})
            seen.add(space.key(genome))
        bar.update(len(batch))
        if path is not None:
            state = {"config": asdict(config), "space": space.kind, "generation": generation, "records": records,
                     "rng": rng.bit_generator.state}
            _save(path, state | ({"prefix_trainings": prefix.trainings} if prefix is not None else {}))
        generation += 1
    bar.close()
    return records


def _mark_continued(prefix: PrefixScreen, generation: int, indices: list[int], results: list[dict[str, Any]]) -> None:
    """Flag the generation's prefix trainings whose full training continued them (``prefix_continued``)."""
    continued = {i for i, r in zip(indices, results, strict=True) if r.get("prefix_continued", False)}
    for training in prefix.trainings:
        if training["generation"] == generation and training["index"] in continued:
            training["continued"] = True


def _prefix_stage(space: SearchSpace, candidates: list[Any], records: list[dict[str, Any]], features: SurrogateFeatures,
                  prefix: PrefixScreen, config: AssistedConfig, generation: int, size: int,
                  acquisition: Callable[[np.ndarray, np.ndarray], np.ndarray],
                  base: int) -> tuple[list[int], dict[str, list[float | None]]]:
    """Train ``candidates`` (numbered from ``base``) for the prefix, rank them by a forest on features + prefix
    accuracy fitted on ``records`` (their prefix accuracy recorded during full training) — or, with
    ``second_stage: prefix``, by the prefix accuracy itself (then the "prediction" is that accuracy, spread 0):
    the ``size`` chosen positions, best first, and the ranking's mean and spread for them."""
    keys = [space.key(g) for g in candidates]
    numbers = list(range(base, base + len(candidates)))
    results = prefix.evaluate(candidates, numbers)
    accuracy = [float(r["prefix_accuracy"]) for r in results]
    if config.second_stage == "prefix":
        mu, sigma = np.array(accuracy), np.zeros(len(accuracy))
        order = [int(i) for i in np.argsort(-mu, kind="stable")[:size]]
    else:
        forest = ForestSurrogate(config.trees, config.seed).fit(
            [features(r["genome"]) | {"prefix_accuracy": r["prefix_accuracy"]} for r in records],
            [r["accuracy"] for r in records])
        mu, sigma = forest.predict([features(k) | {"prefix_accuracy": a} for k, a in zip(keys, accuracy, strict=True)])
        order = [int(i) for i in np.argsort(-acquisition(mu, sigma), kind="stable")[:size]]
    for i, (key, result) in enumerate(zip(keys, results, strict=True)):
        number = {"index": numbers[i]} if prefix.continues else {}
        prefix.trainings.append({"generation": generation, **number, "genome": key, **space.cost(space.from_key(key)),
                                 "predicted_prefix": float(mu[i]), "chosen": i in order, **result})
    return order, {"mean": [float(mu[i]) for i in order], "std": [float(sigma[i]) for i in order]}


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
    """The structure surrogate on every record (None while fewer than ``min_fit`` exist)."""
    if len(records) < config.min_fit:
        return None
    return ForestSurrogate(config.trees, config.seed).fit([featurise(r["genome"]) for r in records],
                                                          [r["accuracy"] for r in records])


def _save(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(state))  # atomic: a search killed while writing keeps its last checkpoint
