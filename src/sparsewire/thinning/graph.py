"""Thinning a :class:`~sparsewire.graphs.feedforward.GraphNetwork` (layered DAG of neurons with skip blocks).

Same two passes as ``chain.py``, over the layers of the DAG instead of a chain:

1. in layer order, a neuron whose incoming weights (input block and every edge block into its layer) are
   all zero is the constant ``σ(b)``; every block reading it folds ``W[:, k] · c`` into the bias of the layer
   it feeds (the output bias for output blocks) and zeroes the column;
2. in reverse layer order, a neuron is kept only if an output block or a kept neuron of a later layer reads
   it with a non-zero weight.

Layers left empty disappear, blocks left all zero disappear, and the rest become smaller dense blocks of a
:class:`ThinnedGraphNetwork`, which computes the GraphNetwork formula with those blocks.
"""

from __future__ import annotations

import torch
from torch import nn

from sparsewire.graphs.feedforward import GraphNetwork
from sparsewire.thinning.common import out_constants, plain_copy, used_inputs


class ThinnedGraphNetwork(nn.Module):
    """``h_j = σ(b_j + W_in,j x + Σ_{i<j} W_{i→j} h_i)``, ``y = b_out + Σ_j W_j,out h_j`` with dense blocks.

    ``inputs``/``edges``/``outputs`` are ``nn.ModuleDict`` s keyed ``"j"``/``"i_j"``/``"j"`` as in GraphNetwork.
    """

    def __init__(self, in_features: int, sizes: list[int], activation: nn.Module, inputs: dict[int, nn.Linear],
                 edges: dict[tuple[int, int], nn.Linear], outputs: dict[int, nn.Linear],
                 biases: list[torch.Tensor], output_bias: torch.Tensor) -> None:
        super().__init__()
        self.in_features = in_features
        self.sizes = list(sizes)
        self.activation = activation
        self.inputs = nn.ModuleDict({str(j): m for j, m in inputs.items()})
        self.edges = nn.ModuleDict({f"{i}_{j}": m for (i, j), m in edges.items()})
        self.outputs = nn.ModuleDict({str(j): m for j, m in outputs.items()})
        self.biases = nn.ParameterList(nn.Parameter(b) for b in biases)
        self.output_bias = nn.Parameter(output_bias)
        self._incoming = {j: sorted(i for i, jj in edges if jj == j) for j in range(len(sizes))}

    hidden = GraphNetwork.hidden  # the same layer formula, on these blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # GraphNetwork.hidden reads only attributes this class has too (duck typing, which mypy cannot check)
        h = self.hidden(x)  # type: ignore[misc]
        out = self.output_bias.expand(h[0].shape[0] if h else x.shape[0], -1)
        for j, layer in self.outputs.items():
            out = out + layer(h[int(j)])
        return out

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, layers={self.sizes}, blocks={len(self.edges)}"


def _linear(weight: torch.Tensor, dtype: torch.dtype) -> nn.Linear:
    layer = nn.utils.skip_init(nn.Linear, weight.shape[1], weight.shape[0], bias=False, dtype=dtype,
                               device=weight.device)
    layer.weight.data.copy_(weight)
    return layer


def _block_weights(blocks: nn.ModuleDict) -> dict[str, torch.Tensor]:
    """float64 copies of the weights of a GraphNetwork's blocks, by key."""
    out = {}
    for key, block in blocks.items():
        assert isinstance(block, nn.Linear)  # GraphNetwork's blocks are
        out[key] = block.weight.double().clone()
    return out


@torch.no_grad()
def thin_graph_network(model: GraphNetwork) -> ThinnedGraphNetwork:
    """A :class:`ThinnedGraphNetwork` with the same outputs as the GraphNetwork ``model`` (float rounding)."""
    model = plain_copy(model)
    dtype = model.output_bias.dtype
    n = len(model.biases)
    w_in = {int(j): w for j, w in _block_weights(model.inputs).items()}
    w_edge: dict[tuple[int, int], torch.Tensor] = {}
    for key, w in _block_weights(model.edges).items():
        source, target = key.split("_")
        w_edge[int(source), int(target)] = w
    w_out = {int(j): w for j, w in _block_weights(model.outputs).items()}
    bias = [b.double().clone() for b in model.biases]
    out_bias = model.output_bias.double().clone()
    incoming = {j: [i for i, jj in w_edge if jj == j] for j in range(n)}
    outgoing = {i: [j for ii, j in w_edge if ii == i] for i in range(n)}

    for j in range(n):  # forward: constants, folded downstream
        rows = [w_in[j]] if j in w_in else []
        rows += [w_edge[i, j] for i in incoming[j]]
        stacked = torch.cat(rows, 1) if rows else torch.zeros(len(bias[j]), 0, dtype=torch.float64)
        const = model.activation(out_constants(stacked, bias[j]))
        known = ~torch.isnan(const)
        if not bool(known.any()):
            continue
        for k in outgoing[j]:
            bias[k] += w_edge[j, k][:, known] @ const[known]
            w_edge[j, k][:, known] = 0
        if j in w_out:
            out_bias += w_out[j][:, known] @ const[known]
            w_out[j][:, known] = 0

    keep: dict[int, torch.Tensor] = {}
    for j in reversed(range(n)):  # backward: keep what a later kept neuron or the output reads
        need = used_inputs(w_out[j]) if j in w_out else torch.zeros(len(bias[j]), dtype=torch.bool)
        for k in outgoing[j]:
            if k in keep:
                need |= used_inputs(w_edge[j, k][keep[k]])
        if bool(need.any()):
            keep[j] = need.nonzero().flatten()

    layers = sorted(keep)
    new = {j: t for t, j in enumerate(layers)}
    inputs = {new[j]: _linear(w_in[j][keep[j]], dtype) for j in layers if j in w_in and bool(w_in[j][keep[j]].ne(0).any())}
    edges = {}
    for (i, j), w in sorted(w_edge.items()):
        if i in keep and j in keep:
            block = w[keep[j]][:, keep[i]]
            if bool(block.ne(0).any()):
                edges[new[i], new[j]] = _linear(block, dtype)
    outputs = {new[j]: _linear(w_out[j][:, keep[j]], dtype) for j in layers
               if j in w_out and bool(w_out[j][:, keep[j]].ne(0).any())}
    activation = model.activation
    return ThinnedGraphNetwork(model.in_features, [len(keep[j]) for j in layers], activation, inputs, edges, outputs,
                               [bias[j][keep[j]].to(dtype) for j in layers], out_bias.to(dtype)).eval()
