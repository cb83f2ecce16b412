"""Genetic architecture search over network structures (Stier, Darji & Granitzer 2021).

A population of DAG genomes (:mod:`sparsewire.architecture_search.operators`) evolves under a fitness function —
typically a performance predictor fitted on structural features (:class:`sparsewire.architecture_search.PredictorFitness`),
so that each candidate costs milliseconds instead of a training run. Tournament selection, elitism,
index-aligned crossover and edge/node mutations; a genome with no input → output path is invalid (fitness
``-inf``). Deterministic for a seed; with ``checkpoint`` every finished generation is saved, and a run that
was interrupted resumes from the last one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from sparsewire.architecture_search.operators import canonical, crossover, mutate, tournament
from sparsewire.atomic import write_text
from sparsewire.masks.fractions import check_fraction
from sparsewire.progress import progress as tqdm

Fitness = Callable[[nx.DiGraph], float]
CROSSOVER_RATE = "chance that a child is the crossover of two parents"


@dataclass(frozen=True)
class SearchConfig:
    """Settings of :func:`genetic_search` (all validated on construction)."""

    population: int = 40
    generations: int = 25
    tournament: int = 3
    elite: int = 2
    crossover_rate: float = 0.5
    max_mutations: int = 3
    min_nodes: int = 3
    max_nodes: int = 60
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.population >= 2, "population must be at least 2"),
            (self.generations >= 0, "generations must be >= 0"),
            (1 <= self.tournament <= self.population, "tournament size must be in [1, population]"),
            (0 <= self.elite < self.population, "elite must be in [0, population)"),
            (self.max_mutations >= 1, "max_mutations must be at least 1"),
            (1 <= self.min_nodes <= self.max_nodes, "need 1 <= min_nodes <= max_nodes"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message} (got {self})")
        check_fraction(self.crossover_rate, "[0, 1]", "crossover_rate", CROSSOVER_RATE)


@dataclass
class SearchResult:
    """The final population, best first, with fitness; per-generation statistics; distinct genomes scored."""

    graphs: list[nx.DiGraph]
    fitness: list[float]
    history: list[dict[str, float]] = field(default_factory=list)
    evaluations: int = 0

    @property
    def best(self) -> nx.DiGraph:
        return self.graphs[0]


def key(graph: nx.DiGraph) -> tuple[int, tuple[tuple[int, int], ...]]:
    """A genome's identity: node count and sorted edges."""
    return graph.number_of_nodes(), tuple(sorted(graph.edges))


def from_key(value: Sequence) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(int(value[0])))
    graph.add_edges_from((int(u), int(v)) for u, v in value[1])
    return graph


def has_signal_path(graph: nx.DiGraph) -> bool:
    """Whether the layered network of ``graph`` (input on the first layer, read-out on the last) has an
    input → output path — the condition for :class:`~sparsewire.graphs.recurrent.GraphRNN` to build."""
    from sparsewire.graphs.build import GraphLayout

    if graph.number_of_nodes() == 0:
        return False
    structure = GraphLayout(graph)
    first, last = structure.select(None, "first-layer"), structure.select(None, "last-layer")
    return bool(structure.live(first, last))


def _stats(generation: int, fitness: Sequence[float]) -> dict[str, float]:
    finite = [f for f in fitness if math.isfinite(f)]
    return {"generation": generation, "best": max(finite, default=-math.inf),
            "mean": float(np.mean(finite)) if finite else -math.inf,
            "median": float(np.median(finite)) if finite else -math.inf, "valid": len(finite) / len(fitness)}


def genetic_search(
    initial: Sequence[nx.Graph],
    fitness: Fitness,
    config: SearchConfig = SearchConfig(),
    *,
    checkpoint: str | Path | None = None,
    progress: bool = True,
) -> SearchResult:
    """Evolve structures that maximise ``fitness``.

    Args:
        initial: seed graphs (any networkx graphs; undirected ones are oriented with ``config.seed``), cycled
            or truncated to ``config.population``; graphs outside ``[min_nodes, max_nodes]`` are refused.
        fitness: genome → score, higher is better (called once per distinct genome; ``-inf`` = invalid).
        config: population size, generations, selection and variation settings, seed.
        checkpoint: a JSON file written after every generation; if it exists (same config), the search
            resumes from it.
        progress: show a progress bar over generations.

    Returns:
        The last population sorted by fitness (best first) and the per-generation best/mean/median/valid share.
    """
    if not initial:
        raise ValueError("genetic search needs at least one initial graph")
    rng = np.random.default_rng(config.seed)
    cache: dict[tuple, float] = {}

    def score(graph: nx.DiGraph) -> float:
        k = key(graph)
        if k not in cache:
            cache[k] = float(fitness(graph)) if has_signal_path(graph) else -math.inf
        return cache[k]

    path = Path(checkpoint) if checkpoint is not None else None
    state = json.loads(path.read_text()) if path is not None and path.exists() else None
    if state is not None and state["config"] != asdict(config):
        raise ValueError(f"checkpoint {path} was written by a search with another config {state['config']}; "
                         "delete it or use another path")
    if state is None:
        population = [canonical(g, seed=config.seed) for g in initial]
        bad = [g.number_of_nodes() for g in population if not config.min_nodes <= g.number_of_nodes() <= config.max_nodes]
        if bad:
            raise ValueError(f"initial graphs with {bad[:5]} nodes lie outside [{config.min_nodes}, {config.max_nodes}]")
        population = [population[i % len(population)] for i in range(config.population)]
        history = [_stats(0, [score(g) for g in population])]
        start = 1
    else:
        population = [from_key(k) for k in state["population"]]
        history, start = state["history"], state["generation"] + 1
        rng.bit_generator.state = state["rng"]
        cache.update({(k[0], tuple(map(tuple, k[1]))): f for k, f in state["cache"]})
    values = [score(g) for g in population]

    def pick() -> nx.DiGraph:
        return population[tournament(rng, values, config.tournament)]

    bar = tqdm(range(start, config.generations + 1), desc="genetic search", disable=not progress,
               initial=start - 1, total=config.generations)
    for generation in bar:
        order = sorted(range(len(population)), key=lambda i: values[i], reverse=True)
        children = [population[i] for i in order[: config.elite]]
        while len(children) < config.population:
            child = pick()
            if rng.random() < config.crossover_rate:
                child = crossover(child, pick(), rng)
            child = mutate(child, rng, steps=int(rng.integers(1, config.max_mutations + 1)),
                           min_nodes=config.min_nodes, max_nodes=config.max_nodes)
            children.append(child)
        population = children
        values = [score(g) for g in population]
        history.append(_stats(generation, values))
        bar.set_postfix(best=f"{history[-1]['best']:.4f}", mean=f"{history[-1]['mean']:.4f}")
        if path is not None:
            _save(path, config, generation, population, history, rng, cache)
    order = sorted(range(len(population)), key=lambda i: values[i], reverse=True)
    return SearchResult([population[i] for i in order], [values[i] for i in order], history, len(cache))


def _save(path: Path, config: SearchConfig, generation: int, population: list[nx.DiGraph],
          history: list[dict[str, float]], rng: np.random.Generator, cache: dict[tuple, float]) -> None:
    state = {"config": asdict(config), "generation": generation, "population": [key(g) for g in population],
             "history": history, "rng": rng.bit_generator.state, "cache": [[k, f] for k, f in cache.items()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(state))  # atomic, unique temporary name: parallel workers may run the same search
