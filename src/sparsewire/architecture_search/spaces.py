"""Search spaces: what a genome is, how it varies, what it costs and the network it builds.

Two spaces share one interface (:class:`SearchSpace`):

- :class:`FeedForwardSpace` — sparse feed-forward DAGs, every node a ReLU neuron, built as a
  :class:`~sparsewire.graphs.feedforward.GraphNetwork` (input fully attached to the sources, output read
  from the sinks, so every DAG with a node builds); random genomes are Watts–Strogatz / Barabási–Albert
  priors as in ``study: prior``; variation by :mod:`sparsewire.architecture_search.operators`.
- :class:`CellSpace` — DAGs of convolutional cells (:mod:`sparsewire.architecture_search.cells`).

Every operator returns a valid genome by construction; the parameter and multiply-accumulate budgets
(:class:`Budget`) are constraints enforced by rejection (:meth:`SearchSpace.draw` retries a draw, a variation
that keeps failing falls back to its parent, which the search then discards as already seen).
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx
import numpy as np
from torch import nn

from sparsewire.architecture_search.cells import CellGenome, CellNetwork
from sparsewire.masks.fractions import check_fraction


@dataclass(frozen=True)
class Budget:
    """Upper bounds on a genome's trainable parameters and multiply-accumulates per example (None: none)."""

    max_params: int | None = None
    max_macs: int | None = None

    def admits(self, cost: dict[str, int]) -> bool:
        return ((self.max_params is None or cost["params"] <= self.max_params)
                and (self.max_macs is None or cost["macs"] <= self.max_macs))


class SearchSpace(ABC):
    """Genomes of one kind on one dataset shape: draw, vary, measure, build. ``key`` is a genome's
    identity as a JSON string (stored in checkpoints and rows); ``from_key`` inverts it."""

    kind: str
    node_attributes: tuple[str, ...] = ()
    """Node attributes of :meth:`graph` that describe a node beyond its wiring (labels of graph-native features)."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, budget: Budget = Budget()) -> None:
        channels, height, width = image_shape
        self.image_shape: tuple[int, int, int] = (int(channels), int(height), int(width))
        self.num_classes, self.budget = int(num_classes), budget

    @abstractmethod
    def random(self, rng: np.random.Generator) -> Any:
        """One random genome (not checked against the budget)."""

    @abstractmethod
    def mutate(self, genome: Any, rng: np.random.Generator) -> Any:
        """One random mutation."""

    @abstractmethod
    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Any:
        """A child of two parents."""

    @abstractmethod
    def key(self, genome: Any) -> str: ...

    @abstractmethod
    def from_key(self, key: str) -> Any: ...

    @abstractmethod
    def graph(self, genome: Any) -> nx.DiGraph:
        """The genome's DAG, whose 23 structural features describe it to a predictor."""

    @abstractmethod
    def cost(self, genome: Any) -> dict[str, int]:
        """``{"params": …, "macs": …}`` of the network the genome builds."""

    @abstractmethod
    def build(self, genome: Any, seed: int) -> nn.Module:
        """The untrained network, initialised from ``seed``."""

    def feasible(self, genome: Any) -> bool:
        return self.budget.admits(self.cost(genome))

    def draw(self, make: Callable[[], Any], tries: int = 50) -> Any | None:
        """The first feasible result of ``make()`` within ``tries`` calls (None if none is)."""
        for _ in range(tries):
            genome = make()
            if self.feasible(genome):
                return genome
        return None

    def size_features(self, genome: Any) -> dict[str, float]:
        """Cost features beside the graph's: log10 parameters and MACs."""
        cost = self.cost(genome)
        return {"log10_params": math.log10(max(cost["params"], 1)), "log10_macs": math.log10(max(cost["macs"], 1))}


PRIOR_PARAMETERS: dict[str, dict[str, Any]] = {"watts-strogatz": {"k": 4, "p": 0.3}, "barabasi-albert": {"m": 2}}
"""Parameters of the prior generators :class:`FeedForwardSpace` draws random genomes from (as ``configs/prior-*.yaml``)."""


class FeedForwardSpace(SearchSpace):
    """Sparse feed-forward DAGs (genome: ``nx.DiGraph`` on ``0 … n−1``, edges from lower to higher index).

    Args:
        min_nodes, max_nodes: the genome sizes allowed (random priors draw their size uniformly in it).
        generators: prior generators of random genomes, alternated (``watts-strogatz`` k=4, p=0.3;
            ``barabasi-albert`` m=2, as ``configs/prior-*.yaml``).
        max_mutations: a mutation applies 1 … ``max_mutations`` edge/node operators.
    """

    kind = "feedforward"

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, budget: Budget = Budget(), *,
                 min_nodes: int = 10, max_nodes: int = 200,
                 generators: tuple[str, ...] = ("watts-strogatz", "barabasi-albert"), max_mutations: int = 3) -> None:
        super().__init__(image_shape, num_classes, budget)
        if not 5 <= min_nodes <= max_nodes:
            raise ValueError(f"need 5 <= min_nodes <= max_nodes (got {min_nodes}, {max_nodes})")
        self.min_nodes, self.max_nodes, self.generators, self.max_mutations = min_nodes, max_nodes, generators, max_mutations
        self.in_features = math.prod(self.image_shape)

    def random(self, rng: np.random.Generator) -> nx.DiGraph:
        from sparsewire.architecture_search.operators import canonical
        from sparsewire.graphs.priors import generate

        generator = self.generators[int(rng.integers(len(self.generators)))]
        nodes = int(rng.integers(self.min_nodes, self.max_nodes + 1))
        params: dict[str, Any] = PRIOR_PARAMETERS.get(generator, {})
        return canonical(generate(generator, nodes, seed=int(rng.integers(2**31)), **params), seed=None)

    def mutate(self, genome: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
        from sparsewire.architecture_search.operators import mutate

        return mutate(genome, rng, steps=int(rng.integers(1, self.max_mutations + 1)), min_nodes=self.min_nodes,
                      max_nodes=self.max_nodes)

    def crossover(self, a: nx.DiGraph, b: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
        from sparsewire.architecture_search.operators import crossover

        return crossover(a, b, rng)

    def key(self, genome: nx.DiGraph) -> str:
        return json.dumps([genome.number_of_nodes(), sorted([int(u), int(v)] for u, v in genome.edges)])

    def from_key(self, key: str) -> nx.DiGraph:
        from sparsewire.architecture_search.genetic import from_key

        return from_key(json.loads(key))

    def graph(self, genome: nx.DiGraph) -> nx.DiGraph:
        return genome

    def cost(self, genome: nx.DiGraph) -> dict[str, int]:
        """Input weights to every source, one weight per edge, output weights from every sink, biases."""
        sources = sum(1 for _, d in genome.in_degree if d == 0)
        sinks = sum(1 for _, d in genome.out_degree if d == 0)
        weights = self.in_features * sources + genome.number_of_edges() + sinks * self.num_classes
        return {"params": weights + genome.number_of_nodes() + self.num_classes, "macs": weights}

    def build(self, genome: nx.DiGraph, seed: int) -> nn.Module:
        import warnings

        from sparsewire.graphs.errors import GraphWarning
        from sparsewire.graphs.feedforward import GraphNetwork

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GraphWarning)
            return GraphNetwork(genome, self.in_features, self.num_classes, seed=seed, outputs="sinks")


class CellSpace(SearchSpace):
    """DAGs of convolutional cells (genome: :class:`~sparsewire.architecture_search.cells.CellGenome`).

    Args:
        min_nodes, max_nodes: cells per genome.
        channels: the widths a cell may have.
        stages: resolutions ``0 … stages−1`` (image size halved per stage).
        edge_probability: chance of each forward edge in a random genome.
        max_mutations: a mutation applies 1 … ``max_mutations`` operators (:data:`CELL_MUTATIONS`).
        readout: ``global-average`` (every sink averaged globally into the linear head) or ``flatten`` (every
            sink max-pooled to the last stage's resolution and flattened into it, as LeNet-5's head reads).
        readout_size: with ``flatten``, the side every sink is max-pooled to before flattening (None: the last
            stage's side). A small side (2–3) keeps the head from classifying the pixels by itself, so the cells'
            structure matters more.
    """

    kind = "conv-cells"
    node_attributes = ("channels", "stage")

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, budget: Budget = Budget(), *,
                 min_nodes: int = 2, max_nodes: int = 8, channels: tuple[int, ...] = (8, 16, 32), stages: int = 3,
                 edge_probability: float = 0.4, max_mutations: int = 2,
                 readout: Literal["global-average", "flatten"] = "global-average", readout_size: int | None = None) -> None:
        super().__init__(image_shape, num_classes, budget)
        if not 1 <= min_nodes <= max_nodes or not channels or stages < 1:
            raise ValueError("need 1 <= min_nodes <= max_nodes, some channel widths and >= 1 stage")
        if any(side % 2 ** (stages - 1) for side in self.image_shape[1:]):
            raise ValueError(f"a {self.image_shape[1]}x{self.image_shape[2]} image cannot be halved {stages - 1} times")
        self.min_nodes, self.max_nodes, self.channels = min_nodes, max_nodes, tuple(sorted(channels))
        self.stages, self.max_mutations = stages, max_mutations
        if readout not in ("global-average", "flatten"):
            raise ValueError(f"readout must be global-average or flatten (got {readout!r})")
        self.readout_stage = stages - 1 if readout == "flatten" else None
        last_side = min(self.image_shape[1:]) // 2 ** (stages - 1)
        if readout_size is not None and (readout != "flatten" or not 1 <= readout_size <= last_side):
            raise ValueError(f"readout_size needs readout flatten and must lie in 1 … {last_side}, the last stage's side "
                             f"(got {readout_size} with readout {readout!r})")
        self.readout_size = readout_size
        self.edge_probability = check_fraction(edge_probability, "[0, 1]", "edge_probability",
                                               "chance of each forward edge in a random genome")

    def random(self, rng: np.random.Generator) -> CellGenome:
        n = int(rng.integers(self.min_nodes, self.max_nodes + 1))
        stages = tuple(sorted(int(s) for s in rng.integers(self.stages, size=n)))
        channels = tuple(int(self.channels[i]) for i in rng.integers(len(self.channels), size=n))
        edges = tuple((i, j) for j in range(n) for i in range(j) if rng.random() < self.edge_probability)
        return CellGenome(channels, stages, tuple(sorted(edges)))

    def mutate(self, genome: CellGenome, rng: np.random.Generator) -> CellGenome:
        out = genome
        for _ in range(int(rng.integers(1, self.max_mutations + 1))):
            name = CELL_MUTATIONS[int(rng.integers(len(CELL_MUTATIONS)))]
            if name == "add-node" and out.nodes >= self.max_nodes:
                name = "add-edge"
            if name == "remove-node" and out.nodes <= self.min_nodes:
                name = "remove-edge"
            out = getattr(self, "_" + name.replace("-", "_"))(out, rng)
        return out

    def _add_edge(self, g: CellGenome, rng: np.random.Generator) -> CellGenome:
        absent = [(i, j) for j in range(g.nodes) for i in range(j) if (i, j) not in set(g.edges)]
        if not absent:
            return g
        edge = absent[int(rng.integers(len(absent)))]
        return CellGenome(g.channels, g.stages, tuple(sorted((*g.edges, edge))))

    def _remove_edge(self, g: CellGenome, rng: np.random.Generator) -> CellGenome:
        if not g.edges:
            return g
        drop = int(rng.integers(len(g.edges)))
        return CellGenome(g.channels, g.stages, tuple(e for k, e in enumerate(g.edges) if k != drop))

    def _add_node(self, g: CellGenome, rng: np.random.Generator) -> CellGenome:
        """A cell inserted at a random index, its stage between its neighbours', fed by one earlier cell and
        feeding one later cell (where there are any)."""
        at = int(rng.integers(g.nodes + 1))
        low = g.stages[at - 1] if at > 0 else 0
        high = g.stages[at] if at < g.nodes else self.stages - 1
        stage = int(rng.integers(low, high + 1))
        width = int(self.channels[int(rng.integers(len(self.channels)))])
        shift = {v: v + 1 if v >= at else v for v in range(g.nodes)}
        edges = {(shift[i], shift[j]) for i, j in g.edges}
        if at > 0:
            edges.add((int(rng.integers(at)), at))
        if at < g.nodes:
            edges.add((at, int(rng.integers(at + 1, g.nodes + 1))))
        return CellGenome((*g.channels[:at], width, *g.channels[at:]), (*g.stages[:at], stage, *g.stages[at:]),
                          tuple(sorted(edges)))

    def _remove_node(self, g: CellGenome, rng: np.random.Generator) -> CellGenome:
        drop = int(rng.integers(g.nodes))
        keep = [v for v in range(g.nodes) if v != drop]
        index = {v: k for k, v in enumerate(keep)}
        edges = tuple(sorted((index[i], index[j]) for i, j in g.edges if drop not in (i, j)))
        return CellGenome(tuple(g.channels[v] for v in keep), tuple(g.stages[v] for v in keep), edges)

    def _change_width(self, g: CellGenome, rng: np.random.Generator) -> CellGenome:
        node = int(rng.integers(g.nodes))
        channels = list(g.channels)
        channels[node] = int(self.channels[int(rng.integers(len(self.channels)))])
        return CellGenome(tuple(channels), g.stages, g.edges)

    def _change_stage(self, g: CellGenome, rng: np.random.Generator) -> CellGenome:
        """A cell's stage moved within its neighbours' (so stages stay non-decreasing)."""
        node = int(rng.integers(g.nodes))
        low = g.stages[node - 1] if node > 0 else 0
        high = g.stages[node + 1] if node + 1 < g.nodes else self.stages - 1
        stages = list(g.stages)
        stages[node] = int(rng.integers(low, high + 1))
        return CellGenome(g.channels, tuple(stages), g.edges)

    def crossover(self, a: CellGenome, b: CellGenome, rng: np.random.Generator) -> CellGenome:
        """Index-aligned: the child has one parent's size; each cell takes its genes from either parent that
        has it (stages then made non-decreasing by a running maximum); shared edges are kept, edges only one
        parent has are inherited with probability 1/2."""
        n = (a if rng.random() < 0.5 else b).nodes
        channels: list[int] = []
        stages: list[int] = []
        for i in range(n):
            donors = [p for p in (a, b) if i < p.nodes]
            donor = donors[int(rng.integers(len(donors)))]
            channels.append(donor.channels[i])
            stages.append(max(donor.stages[i], stages[-1]) if stages else donor.stages[i])
        ea, eb = ({e for e in p.edges if e[1] < n} for p in (a, b))
        edges = (ea & eb) | {e for e in sorted(ea ^ eb) if rng.random() < 0.5}
        return CellGenome(tuple(channels), tuple(stages), tuple(sorted(edges)))

    def key(self, genome: CellGenome) -> str:
        return json.dumps(genome.to_json())

    def from_key(self, key: str) -> CellGenome:
        return CellGenome.from_json(json.loads(key))

    def graph(self, genome: CellGenome) -> nx.DiGraph:
        return genome.graph()

    def cost(self, genome: CellGenome) -> dict[str, int]:
        return genome.cost(self.image_shape, self.num_classes, self.readout_stage, self.readout_size)

    def size_features(self, genome: CellGenome) -> dict[str, float]:
        """Costs, plus the mean width and the share of cells at each stage."""
        out = super().size_features(genome)
        out["mean_channels"] = float(np.mean(genome.channels))
        out |= {f"stage_{s}_share": genome.stages.count(s) / genome.nodes for s in range(self.stages)}
        return out

    def build(self, genome: CellGenome, seed: int) -> nn.Module:
        return CellNetwork(genome, self.image_shape, self.num_classes, seed=seed, readout_stage=self.readout_stage,
                           readout_size=self.readout_size)


CELL_MUTATIONS = ("add-edge", "remove-edge", "add-node", "remove-node", "change-width", "change-stage")
