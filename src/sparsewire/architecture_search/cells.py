"""DAGs of convolutional cells: a genome and the network it builds, in the spirit of the graph-of-cells
networks of Stier, Darji & Granitzer (2021) and the randomly wired networks of Xie et al. (2019).

A :class:`CellGenome` has ``n`` nodes ``0 … n−1`` and edges from lower to higher index (acyclic by
construction, the index order is a topological order). Node ``i`` carries two genes: ``channels[i]`` (its
output width) and ``stages[i]`` (its resolution: the image size divided by ``2**stage``), with stages
non-decreasing in the index, so every edge runs at equal or lower resolution. :class:`CellNetwork` computes

    x_i = ReLU(BN(conv3x3(concat_j pool(x_j))))     over the predecessors j of i (the image when none),

where ``pool`` is a max-pool by ``2**(stage_i − stage_j)`` that brings input ``j`` to node ``i``'s
resolution; inputs are concatenated (so differing widths need no projection), and the read-out head
averages every sink (node without successors) globally, concatenates them and applies one linear layer —
or, with ``readout_stage`` s, max-pools every sink to stage s's resolution and flattens it into that layer, as
LeNet-5 flattens its last feature maps (the head then has ``width·(H/2^s)·(W/2^s)`` inputs). With ``readout_size`` r
as well, every sink is adaptively max-pooled to ``r×r`` instead (``width·r²`` inputs): a head between the two, whose
linear layer sees too little of the image to classify it without the cells' features.
Any genome with at least one node therefore builds: there is no invalid wiring to repair.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class CellGenome:
    """Channels and stage per node, edges ``(i, j)`` with ``i < j`` (sorted, unique)."""

    channels: tuple[int, ...]
    stages: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        n = len(self.channels)
        if n < 1 or len(self.stages) != n:
            raise ValueError(f"a cell genome needs >= 1 node and one stage per node (got {self})")
        if any(c < 1 for c in self.channels) or any(s < 0 for s in self.stages):
            raise ValueError(f"channels must be positive and stages non-negative (got {self})")
        if any(b < a for a, b in zip(self.stages, self.stages[1:], strict=False)):
            raise ValueError(f"stages must be non-decreasing in the node index (got {self.stages})")
        if list(self.edges) != sorted(set(self.edges)) or any(not 0 <= i < j < n for i, j in self.edges):
            raise ValueError(f"edges must be sorted unique pairs i < j < {n} (got {self.edges})")

    @property
    def nodes(self) -> int:
        return len(self.channels)

    def graph(self) -> nx.DiGraph:
        """The cell DAG (nodes ``0 … n−1`` with ``channels`` and ``stage`` attributes)."""
        graph = nx.DiGraph()
        graph.add_nodes_from((i, {"channels": c, "stage": s}) for i, (c, s) in enumerate(zip(self.channels, self.stages, strict=True)))
        graph.add_edges_from(self.edges)
        return graph

    def predecessors(self, node: int) -> list[int]:
        return [i for i, j in self.edges if j == node]

    def sinks(self) -> list[int]:
        sources = {i for i, _ in self.edges}
        return [i for i in range(self.nodes) if i not in sources]

    def in_channels(self, node: int, image_channels: int) -> int:
        preds = self.predecessors(node)
        return sum(self.channels[i] for i in preds) if preds else image_channels

    def cost(self, image_shape: tuple[int, int, int], num_classes: int, readout_stage: int | None = None,
             readout_size: int | None = None) -> dict[str, int]:
        """Trainable parameters and multiply-accumulates per example (convolutions and head; the head reads
        global averages, or with ``readout_stage`` the sinks flattened at that stage's resolution, or with
        ``readout_size`` too at ``readout_size × readout_size``)."""
        c, h, w = image_shape
        params = macs = 0
        for node in range(self.nodes):
            cin, cout, scale = self.in_channels(node, c), self.channels[node], 2 ** self.stages[node]
            params += 9 * cin * cout + 2 * cout  # conv without bias, BN scale and shift
            macs += 9 * cin * cout * (h // scale) * (w // scale)
        width = sum(self.channels[i] for i in self.sinks()) * head_pixels(h, w, readout_stage, readout_size)
        params += width * num_classes + num_classes
        macs += width * num_classes
        return {"params": params, "macs": macs}

    def to_json(self) -> list:
        return [list(self.channels), list(self.stages), [list(e) for e in self.edges]]

    @classmethod
    def from_json(cls, value: list) -> CellGenome:
        channels, stages, edges = value
        return cls(tuple(int(c) for c in channels), tuple(int(s) for s in stages),
                   tuple(sorted({(int(i), int(j)) for i, j in edges})))


def head_pixels(h: int, w: int, readout_stage: int | None, readout_size: int | None) -> int:
    """Head inputs per sink channel: 1 for global averages, the read-out stage's pixels for a flatten head, or
    ``readout_size²`` for a pooled one."""
    if readout_stage is None:
        return 1
    if readout_size is not None:
        return readout_size * readout_size
    return (h // 2 ** readout_stage) * (w // 2 ** readout_stage)


class CellNetwork(nn.Module):
    """The network of a :class:`CellGenome` on images of ``image_shape`` ``(C, H, W)``; needs
    ``H`` and ``W`` divisible by ``2**max(stages)``. Initialised from ``seed`` (PyTorch's default schemes).
    ``readout_stage`` (None: global averages) flattens the sinks at that stage's resolution into the head; it
    must be at least every sink's stage; ``readout_size`` (with ``readout_stage``) max-pools the sinks to that
    side instead, at most the stage's."""

    def __init__(self, genome: CellGenome, image_shape: tuple[int, int, int], num_classes: int, *, seed: int = 0,
                 readout_stage: int | None = None, readout_size: int | None = None) -> None:
        super().__init__()
        c, h, w = image_shape
        scale = 2 ** max(*genome.stages, readout_stage or 0)
        if h % scale or w % scale:
            raise ValueError(f"image {h}x{w} cannot be halved {max(genome.stages)} times")
        self.genome, self.image_shape = genome, tuple(image_shape)
        self._inputs = [genome.predecessors(i) for i in range(genome.nodes)]
        self._sinks = genome.sinks()
        if readout_stage is not None and any(genome.stages[i] > readout_stage for i in self._sinks):
            raise ValueError(f"a sink lies below the read-out stage {readout_stage} (stages {genome.stages})")
        if readout_size is not None and (readout_stage is None or not 1 <= readout_size <= min(h, w) // 2 ** readout_stage):
            raise ValueError(f"readout_size {readout_size} needs a flatten read-out stage and must lie in 1 … that "
                             f"stage's side (stage {readout_stage} of a {h}x{w} image)")
        self.readout_stage, self.readout_size = readout_stage, readout_size
        inputs = sum(genome.channels[i] for i in self._sinks) * head_pixels(h, w, readout_stage, readout_size)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.cells = nn.ModuleList(
                nn.Sequential(nn.Conv2d(genome.in_channels(i, c), genome.channels[i], 3, padding=1, bias=False),
                              nn.BatchNorm2d(genome.channels[i]), nn.ReLU())
                for i in range(genome.nodes))
            self.head = nn.Linear(inputs, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stages = self.genome.stages
        outs: list[torch.Tensor] = []
        for node, cell in enumerate(self.cells):
            preds = self._inputs[node]
            sources = [(outs[j], stages[j]) for j in preds] if preds else [(x, 0)]
            parts = [F.max_pool2d(t, 2 ** (stages[node] - s)) if stages[node] > s else t for t, s in sources]
            outs.append(cell(parts[0] if len(parts) == 1 else torch.cat(parts, 1)))
        if self.readout_stage is None:
            pooled = [outs[i].mean((2, 3)) for i in self._sinks]
        elif self.readout_size is not None:
            pooled = [F.adaptive_max_pool2d(outs[i], self.readout_size).flatten(1) for i in self._sinks]
        else:
            pooled = [F.max_pool2d(outs[i], 2 ** (self.readout_stage - stages[i])).flatten(1)
                      if self.readout_stage > stages[i] else outs[i].flatten(1) for i in self._sinks]
        return self.head(pooled[0] if len(pooled) == 1 else torch.cat(pooled, 1))
