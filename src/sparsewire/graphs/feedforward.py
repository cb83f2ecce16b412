"""Graph → feed-forward network (Stier, Darji & Granitzer 2021, Sec. 3, "prior initialisation").

Each node of the (oriented) graph is a neuron; neurons are layered by longest path from the sources
(:func:`sparsewire.graphs.build.longest_path_layers`). The pre-activation of layer ``j`` is

    z_j = b_j + W_in,j x + Σ_{i<j} W_{i→j} h_i,      h_j = σ(z_j),      y = b_out + Σ_j W_j,out h_j,

where ``W_{j-1→j}`` holds the edges between consecutive layers and ``W_{i→j}`` (``i < j-1``) the edges that
skip layers. Every ``W`` is an ``nn.Linear`` whose :class:`sparsewire.masks.Masks` mask is the graph's
adjacency, so absent edges are exact zeros and stay zero under training. The input attaches fully to
the chosen input nodes (default: the sources, i.e. layer 0) and the output reads fully from the chosen
output nodes (default: the last layer).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable
from typing import Literal

import networkx as nx
import torch
from torch import nn

from sparsewire.graphs.build import GraphLayout, Orientation, orient
from sparsewire.graphs.errors import GraphError, GraphWarning, InputBottleneckWarning
from sparsewire.masks import Masks

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                                           "identity": nn.Identity}
GAIN_NONLINEARITY: dict[str, Literal["relu", "tanh", "sigmoid", "linear"]] = {
    "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "identity": "linear"}
"""The name :func:`torch.nn.init.calculate_gain` knows each activation by."""

NodeSpec = str | Iterable[Hashable] | None


def block_mask(pairs: list[tuple[int, int]], rows: int, cols: int) -> torch.Tensor:
    """Bool ``(rows, cols)`` matrix with ``True`` at the ``(row, col)`` pairs."""
    mask = torch.zeros(rows, cols, dtype=torch.bool)
    if pairs:
        index = torch.tensor(pairs, dtype=torch.long)
        mask[index[:, 0], index[:, 1]] = True
    return mask


def rows_mask(units: list[int], rows: int, cols: int) -> torch.Tensor:
    """Bool ``(rows, cols)`` matrix whose rows ``units`` are all ``True`` (full attachment)."""
    mask = torch.zeros(rows, cols, dtype=torch.bool)
    mask[units] = True
    return mask


def check_paths(structure: GraphLayout, inputs: dict[int, list[int]], outputs: dict[int, list[int]]) -> None:
    """:class:`GraphError` if no input-attached node reaches an output-attached one; warn about dead nodes."""
    live = structure.live(inputs, outputs)
    if not live:
        raise GraphError("no path from any input-attached node to any output-attached node: the network "
                         "could not pass any signal (attach input/output to other nodes)")
    dead = structure.dag.number_of_nodes() - len(live)
    if dead:
        warnings.warn(f"{dead} of {structure.dag.number_of_nodes()} nodes lie on no input→output path "
                      "(e.g. isolated nodes or other components); they are built but cannot affect the output",
                      GraphWarning, stacklevel=3)


def warn_input_bottleneck(input_units: int, out_features: int, orientation: str) -> None:
    """Warn when every input passes through fewer units than there are outputs: such a network cannot separate
    ``out_features`` classes well whatever it learns (e.g. under edge-order orientation every Barabási–Albert
    graph of networkx ≥ 2.6 has a single source, node 0; see benchmarks/results/prior-mnist-paper)."""
    if input_units >= out_features:
        return
    hint = ("; under orientation='edge-order' a Barabási–Albert graph has one source: consider "
            "orientation='random' or inputs='first-layer'") if orientation == "edge-order" else ""
    warnings.warn(f"the input attaches to {input_units} unit(s), fewer than the {out_features} outputs: every input "
                  f"passes through this bottleneck{hint}", InputBottleneckWarning, stacklevel=3)


class GraphNetwork(nn.Module):
    """A masked feed-forward network whose neurons and connections are the nodes and edges of a graph.

    Args:
        graph: a networkx graph. Undirected graphs are oriented by ``orientation``; directed graphs must
            be acyclic. Empty graphs raise :class:`GraphError`; isolated
            nodes and extra components are kept (warned about when they cannot reach the output).
        in_features: input size (inputs of any shape ``(B, ...)`` are flattened).
        out_features: output size (no activation on the output: logits).
        activation: ``"relu"``, ``"tanh"``, ``"sigmoid"`` or ``"identity"``, applied at every graph node.
        seed: seeds the weight initialisation (and the orientation when ``orientation="random"``).
        orientation: ``"edge-order"`` (default; each edge ``u → v`` as networkx lists it, the construction of
            Stier et al.) or ``"random"`` (seeded random node ranking, the earlier default); see
            :func:`~sparsewire.graphs.build.to_dag`.
        inputs: nodes the input attaches to: ``"sources"`` (default), ``"first-layer"`` or a list of nodes.
        outputs: nodes the output reads: ``"last-layer"`` (default), ``"sinks"`` or a list of nodes.

    Weights are drawn uniformly with the He/Glorot scale of the activation, the fan-in counted over the
    node's actual incoming edges (so deep, sparse structures neither vanish nor explode at init). Attributes: ``dag`` (the
    oriented graph), ``layers`` (node lists), ``structure`` (:class:`~sparsewire.graphs.build.GraphLayout`).
    """

    def __init__(self, graph: nx.Graph, in_features: int, out_features: int, *, activation: str = "relu",
                 seed: int = 0, inputs: NodeSpec = None, outputs: NodeSpec = None,
                 orientation: Orientation = "edge-order") -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise GraphError(f"in_features and out_features must be positive, got {in_features}, {out_features}")
        if activation not in ACTIVATIONS:
            raise GraphError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
        self.structure = GraphLayout(orient(graph, orientation, seed))
        self.dag = self.structure.dag
        self.layers = self.structure.layers
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.activation_name = activation
        self.activation = ACTIVATIONS[activation]()
        sizes = self.structure.sizes
        self.input_units = self.structure.select(inputs, "sources")
        self.output_units = self.structure.select(outputs, "last-layer")
        check_paths(self.structure, self.input_units, self.output_units)
        warn_input_bottleneck(sum(len(units) for units in self.input_units.values()), out_features, orientation)

        self.inputs = nn.ModuleDict({str(j): nn.Linear(in_features, sizes[j], bias=False) for j in self.input_units})
        self.edges = nn.ModuleDict({f"{i}_{j}": nn.Linear(sizes[i], sizes[j], bias=False) for i, j in self.structure.blocks})
        self.outputs = nn.ModuleDict({str(j): nn.Linear(sizes[j], out_features, bias=False) for j in self.output_units})
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(s)) for s in sizes)
        self.output_bias = nn.Parameter(torch.zeros(out_features))
        self._incoming = {j: [i for i, jj in self.structure.blocks if jj == j] for j in range(len(sizes))}

        masks = Masks(self)
        new = {f"inputs.{j}.weight": rows_mask(units, sizes[j], in_features) for j, units in self.input_units.items()}
        new |= {f"edges.{i}_{j}.weight": block_mask(pairs, sizes[j], sizes[i]) for (i, j), pairs in self.structure.blocks.items()}
        new |= {f"outputs.{j}.weight": rows_mask(units, sizes[j], out_features).T.contiguous()
                for j, units in self.output_units.items()}
        masks.update(new, apply=False, warn_empty=False)
        self._initialise(masks, seed)

    @torch.no_grad()
    def _initialise(self, masks: Masks, seed: int) -> None:
        """He/Glorot-style uniform init (He et al. 2015, Eq. 10) with the fan-in of every node counted over
        its actual incoming edges: bound ``gain·sqrt(3 / fan_in)``; biases start at zero."""
        generator = torch.Generator().manual_seed(seed)
        gain = nn.init.calculate_gain(GAIN_NONLINEARITY[self.activation_name])
        fan_in = [torch.zeros(s) for s in self.structure.sizes]
        for name, mask in masks.items():
            group, key, _ = name.split(".")
            if group != "outputs":
                fan_in[int(key.split("_")[-1])] += mask.sum(1)
        out_fan = sum((mask.sum(1) for name, mask in masks.items() if name.startswith("outputs.")),
                      torch.zeros(self.out_features, dtype=torch.long))
        for name, param, mask in masks.parameters():
            group, key, _ = name.split(".")
            rows, g = (out_fan, 1.0) if group == "outputs" else (fan_in[int(key.split("_")[-1])], gain)
            bound = g * (3.0 / rows.clamp(min=1)).sqrt().unsqueeze(1)
            param.copy_((torch.rand(param.shape, generator=generator) * 2 - 1) * bound * mask)
        for bias in self.biases:
            bias.zero_()
        self.output_bias.zero_()

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations ``h_j`` of every layer for input ``x`` of shape ``(B, in_features)`` (or ``(B, ...)``)."""
        x = x.flatten(1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"GraphNetwork expects {self.in_features} input features, got {x.shape[1]}")
        h: list[torch.Tensor] = []
        for j, bias in enumerate(self.biases):
            z = bias.expand(x.shape[0], -1)
            if str(j) in self.inputs:
                z = z + self.inputs[str(j)](x)
            for i in self._incoming[j]:
                z = z + self.edges[f"{i}_{j}"](h[i])
            h.append(self.activation(z))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hidden(x)
        out = self.output_bias
        for j, layer in self.outputs.items():
            out = out + layer(h[int(j)])
        return out

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, nodes={self.dag.number_of_nodes()}, "
                f"edges={self.dag.number_of_edges()}, layers={self.structure.sizes}, activation={self.activation_name}")
