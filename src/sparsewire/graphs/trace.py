"""Connectivity of any model whose ``forward`` torch.fx can trace: skip connections defined in ``forward``
(residual additions, concatenations) become graph edges, which reading the layers as a chain would lose.

Every ``nn.Linear`` / ``nn.Conv{1,2,3}d`` call is a layer whose units (features or channels) are nodes.
A value flowing through ``forward`` is tracked as a sum of *terms*, each a concatenation of *segments*
``(layer, per)``: the units of ``layer``, each spanning ``per`` features (``per > 1`` after flattening a
convolution's channels into features). Unit-wise operations (activations, dropout, normalisation,
pooling, ``contiguous``...) keep a value; ``+``/``-``/``*`` of two values add their terms; ``flatten`` and
``view/reshape(N, -1)`` turn channels into feature blocks; ``torch.cat(..., dim=1)`` concatenates
segments. A layer reading a value gets, for every term and segment, a block of edges from the segment's
layer, read from its weight columns. Anything else raises :class:`TraceError` (callers then fall back to
reading the model as a chain).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from sparsewire.graphs.errors import GraphError


class TraceError(GraphError):
    """The model's forward uses an operation whose effect on connectivity is not known."""


WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
UNIT_MODULES = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LeakyReLU, nn.ELU, nn.Dropout, nn.Identity,
                nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d,
                nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                nn.AdaptiveMaxPool2d, nn.Softplus)
UNIT_FUNCTIONS = {F.relu, torch.relu, torch.tanh, torch.sigmoid, F.gelu, F.dropout, F.max_pool2d, F.avg_pool2d,
                  F.leaky_relu, F.elu, F.softplus, F.adaptive_avg_pool2d}
UNIT_METHODS = {"relu", "tanh", "sigmoid", "contiguous", "clone", "float", "detach"}
COMBINE = {operator.add, operator.sub, operator.mul, torch.add, torch.sub, torch.mul, operator.iadd}


@dataclass(frozen=True)
class Segment:
    layer: int  # -1: a gap of ``per`` features that carries nothing from this term
    per: int | None = 1  # features per unit; None: flattened, resolved when a layer reads it


Term = tuple[Segment, ...]


@dataclass
class TracedLayer:
    name: str
    module: nn.Module | None
    size: int | None


def trace_blocks(model: nn.Module) -> tuple[list[TracedLayer], list[tuple[int, int, np.ndarray, np.ndarray]], int]:
    """``(layers, blocks, output_layer)``: layer 0 is the input; blocks are ``(source, target, mask, weight)``."""
    from sparsewire.graphs.extract import _kept, _weight

    try:
        traced = fx.symbolic_trace(model)
    except Exception as err:  # noqa: BLE001 - any tracing failure means: cannot read forward
        raise TraceError(f"torch.fx cannot trace {type(model).__name__}: {err}") from err
    modules = dict(traced.named_modules())
    layers = [TracedLayer("input", None, None)]
    blocks: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    values: dict[fx.Node, list[Term]] = {}
    output: list[Term] | None = None
    placeholders = 0

    def value(arg: object) -> list[Term]:
        if isinstance(arg, fx.Node) and arg in values:
            return values[arg]
        raise TraceError(f"operation on a non-tensor or unknown value {arg!r}")

    def width_of(v: list[Term]) -> int:
        term = v[0]
        if any(seg.per is None or (seg.layer >= 0 and layers[seg.layer].size is None) for seg in term):
            raise TraceError("cannot concatenate a sum whose width is unknown while tracing")
        return sum(seg.per if seg.layer == -1 else layers[seg.layer].size * seg.per for seg in term)

    def flattened(v: list[Term]) -> list[Term]:
        return [tuple(s if s.layer == -1 else Segment(s.layer, 1 if s.layer == 0 else None) for s in term) for term in v]

    def read(layer_index: int, module: nn.Module, v: list[Term]) -> None:
        mask, weight = _kept(module, "weight"), _weight(module, "weight")
        width = module.in_features if isinstance(module, nn.Linear) else module.in_channels
        if not isinstance(module, nn.Linear):
            if module.groups != 1:
                raise TraceError(f"grouped convolution {module} is not supported")
            axes = tuple(range(2, mask.ndim))
            weight, mask = np.where(mask, weight, 0.0).sum(axes), mask.any(axes)
        for term in v:
            sizes = []
            for seg in term:
                if seg.layer == -1:
                    sizes.append(1)
                    continue
                if seg.layer == 0 and layers[0].size is None:
                    layers[0].size = width if len(term) == 1 else None
                size = layers[seg.layer].size
                if size is None:
                    raise TraceError("cannot tell how many input units a concatenation holds")
                sizes.append(size)
            unknown = [s for s in term if s.per is None]
            per_flat = 1
            if unknown:
                known = sum(sz * (s.per or 0) for s, sz in zip(term, sizes, strict=True) if s.per is not None)
                flat_units = sum(sz for s, sz in zip(term, sizes, strict=True) if s.per is None)
                if (width - known) % flat_units:
                    raise TraceError(f"{module}: {width} inputs do not split into {flat_units} flattened channels")
                per_flat = (width - known) // flat_units
            offset = 0
            for seg, size in zip(term, sizes, strict=True):
                per = per_flat if seg.per is None else seg.per
                cols = slice(offset, offset + size * per)
                offset += size * per
                if seg.layer == -1:
                    continue
                m, w = mask[:, cols], weight[:, cols]
                if per > 1:
                    m3 = m.reshape(m.shape[0], size, per)
                    w = np.where(m3, w.reshape(m3.shape), 0.0).sum(2)
                    m = m3.any(2)
                blocks.append((seg.layer, layer_index, m, w))
            if offset != width:
                raise TraceError(f"{module} reads {width} inputs but receives {offset}")

    for node in traced.graph.nodes:
        if node.op == "placeholder":
            placeholders += 1
            if placeholders > 1:
                raise TraceError("only models with one input tensor are supported")
            values[node] = [(Segment(0),)]
        elif node.op == "call_module":
            module = modules[node.target]
            if isinstance(module, WEIGHTED):
                size = module.out_features if isinstance(module, nn.Linear) else module.out_channels
                layers.append(TracedLayer(node.target, module, size))
                read(len(layers) - 1, module, value(node.args[0]))
                values[node] = [(Segment(len(layers) - 1),)]
            elif isinstance(module, UNIT_MODULES):
                values[node] = value(node.args[0])
            elif isinstance(module, nn.Flatten):
                values[node] = flattened(value(node.args[0]))
            else:
                raise TraceError(f"module {node.target} ({type(module).__name__}) is not supported")
        elif node.op == "call_function":
            if node.target in UNIT_FUNCTIONS:
                values[node] = value(node.args[0])
            elif node.target in COMBINE:
                tensors = [a for a in node.args if isinstance(a, fx.Node)]
                values[node] = [t for a in tensors for t in value(a)]
            elif node.target is torch.flatten:
                values[node] = flattened(value(node.args[0]))
            elif node.target is torch.cat:
                dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
                parts = [value(a) for a in node.args[0]]
                if dim != 1:
                    raise TraceError("only torch.cat(..., dim=1) is supported")
                if all(len(p) == 1 for p in parts):
                    values[node] = [tuple(seg for p in parts for seg in p[0])]
                else:  # a sum inside a concatenation: each term covers its own part, gaps elsewhere
                    widths = [width_of(p) for p in parts]
                    values[node] = [tuple(Segment(-1, w) for w in widths[:i]) + term + tuple(Segment(-1, w) for w in widths[i + 1:])
                                    for i, p in enumerate(parts) for term in p]
            else:
                raise TraceError(f"function {getattr(node.target, '__name__', node.target)} is not supported")
        elif node.op == "call_method":
            if node.target in UNIT_METHODS:
                values[node] = value(node.args[0])
            elif node.target == "flatten" or (node.target in ("view", "reshape") and node.args[-1] == -1
                                              and len(node.args) == 3):
                values[node] = flattened(value(node.args[0]))
            elif node.target in ("add", "sub", "mul", "add_"):
                tensors = [a for a in node.args if isinstance(a, fx.Node)]
                values[node] = [t for a in tensors for t in value(a)]
            else:
                raise TraceError(f"method .{node.target}() is not supported")
        elif node.op == "output":
            output = value(node.args[0])
        elif node.op == "get_attr":
            raise TraceError(f"direct use of parameter {node.target} in forward is not supported")
    if len(layers) == 1:
        raise TraceError(f"{type(model).__name__} has no Linear or Conv layer")
    if output is None or len(output) != 1 or len(output[0]) != 1 or output[0][0].per != 1 or output[0][0].layer == 0:
        raise TraceError("the output must be one layer's units (a Linear or Conv result)")
    return layers, blocks, output[0][0].layer
