"""Graph → recurrent network: the layered construction of :mod:`sparsewire.graphs.feedforward` with
recurrent layers (RNN-tanh, RNN-ReLU, GRU, LSTM) in place of dense ones, as used by Stier et al. for
sequence tasks (Reber grammars).

Layer ``j`` of the layered DAG is a one-layer recurrent module with ``len(layer j)`` hidden units:

    s_0 = R_0(x),    s_j = R_{j-1→j}(s_{j-1}) + Σ_{i<j-1} R_{i→j}(s_i),    y_t = b + W s_{L-1,t}

where ``R_{i→j}`` is an ``nn.RNN``/``nn.GRU``/``nn.LSTM`` from ``|layer i|`` to ``|layer j|`` units whose
input-to-hidden mask is the graph's adjacency between the two layers (the rows repeated for each gate of
a GRU or LSTM), and whose hidden-to-hidden weights are dense within the target layer but masked (so they
can be pruned). ``R_{i→j}`` with ``i < j-1`` are the skip edges, extra recurrent paths summed into the
target layer's output sequence. The input attaches fully to layer 0, the linear read-out to the last
layer (or to every layer holding a sink, ``outputs="sinks"``), at every time step.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Literal

import networkx as nx
import torch
from torch import nn

from sparsewire.graphs.build import GraphLayout, Orientation, orient
from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.feedforward import block_mask, check_paths, rows_mask
from sparsewire.masks import Masks

Cell = Literal["rnn-tanh", "rnn-relu", "gru", "lstm"]
GATES: dict[str, int] = {"rnn-tanh": 1, "rnn-relu": 1, "gru": 3, "lstm": 4}


def recurrent_layer(cell: str, input_size: int, hidden_size: int) -> nn.RNNBase:
    """A one-layer, batch-first recurrent module of the given cell type."""
    if cell in ("rnn-tanh", "rnn-relu"):
        return nn.RNN(input_size, hidden_size, nonlinearity=cell[4:], batch_first=True)
    if cell == "gru":
        return nn.GRU(input_size, hidden_size, batch_first=True)
    if cell == "lstm":
        return nn.LSTM(input_size, hidden_size, batch_first=True)
    raise GraphError(f"unknown cell {cell!r}; choose from {sorted(GATES)}")


class GraphRNN(nn.Module):
    """A masked recurrent network whose units and connections are a graph's nodes and edges.

    Args:
        graph: a networkx graph (undirected graphs are oriented by ``orientation``; directed ones must be
            acyclic).
        input_size: features per time step.
        output_size: outputs per time step (logits, no activation).
        cell: ``"rnn-tanh"``, ``"rnn-relu"``, ``"gru"`` or ``"lstm"``.
        seed: seeds the weight initialisation (PyTorch's default scheme), and the orientation when
            ``orientation="random"``.
        orientation: ``"edge-order"`` (default; each edge ``u → v`` as networkx lists it, as Stier et al.
            built their networks) or ``"random"`` (seeded random node ranking, the earlier default); see
            :func:`~sparsewire.graphs.build.to_dag`.
        outputs: ``"last-layer"`` (default), ``"sinks"`` or a list of nodes the read-out attaches to.

    ``forward(x)`` maps ``(B, T, input_size)`` to ``(B, T, output_size)`` causally (step ``t`` sees only
    steps ``<= t``); for padded batches read each sequence's output at its last valid step, or at the
    batch's last step as Stier et al. did (``readout`` of
    :class:`~sparsewire.models.recurrent.GraphRecurrentClassifier`).
    """

    def __init__(self, graph: nx.Graph, input_size: int, output_size: int, *, cell: Cell = "rnn-tanh",
                 seed: int = 0, outputs: str | Iterable[Hashable] | None = None,
                 orientation: Orientation = "edge-order") -> None:
        super().__init__()
        if cell not in GATES:
            raise GraphError(f"unknown cell {cell!r}; choose from {sorted(GATES)}")
        if input_size < 1 or output_size < 1:
            raise GraphError(f"input_size and output_size must be positive, got {input_size}, {output_size}")
        self.structure = GraphLayout(orient(graph, orientation, seed))
        self.dag = self.structure.dag
        self.layers = self.structure.layers
        self.cell, self.input_size, self.output_size = cell, int(input_size), int(output_size)
        sizes = self.structure.sizes
        self.output_units = self.structure.select(outputs, "last-layer")
        check_paths(self.structure, {0: list(range(sizes[0]))}, self.output_units)
        gates = GATES[cell]
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            self.input = recurrent_layer(cell, input_size, sizes[0])
            self.paths = nn.ModuleDict({f"{i}_{j}": recurrent_layer(cell, sizes[i], sizes[j])
                                        for i, j in self.structure.blocks})
            self.outputs = nn.ModuleDict({str(j): nn.Linear(sizes[j], output_size) for j in self.output_units})
        finally:
            torch.random.set_rng_state(generator_state)
        self._incoming = {j: [i for i, jj in self.structure.blocks if jj == j] for j in range(len(sizes))}
        masks = Masks(self)
        new = {f"paths.{i}_{j}.weight_ih_l0": block_mask(pairs, sizes[j], sizes[i]).repeat(gates, 1)
               for (i, j), pairs in self.structure.blocks.items()}
        new |= {f"outputs.{j}.weight": rows_mask(units, sizes[j], output_size).T.contiguous()
                for j, units in self.output_units.items()}
        masks.update(new, apply=True, warn_empty=False)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Output sequences ``s_j`` of shape ``(B, T, |layer j|)`` of every layer."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"GraphRNN expects (batch, time, {self.input_size}) inputs, got {tuple(x.shape)}")
        states = [self.input(x)[0]]
        for j in range(1, len(self.layers)):
            states.append(sum(self.paths[f"{i}_{j}"](states[i])[0] for i in self._incoming[j]))
        return states

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = self.hidden(x)
        out: torch.Tensor = sum(layer(states[int(j)]) for j, layer in self.outputs.items())
        return out

    def extra_repr(self) -> str:
        return (f"cell={self.cell}, input_size={self.input_size}, output_size={self.output_size}, "
                f"nodes={self.dag.number_of_nodes()}, edges={self.dag.number_of_edges()}, layers={self.structure.sizes}")
