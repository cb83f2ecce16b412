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

Each fx node is handled by one short function, chosen by the node's op (:data:`OP_HANDLERS`) and then by
its module type (:data:`MODULE_HANDLERS`), function (:data:`FUNCTION_HANDLERS`) or method name
(:data:`METHOD_HANDLERS`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.node import Target

from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.layer_weights import (
    WEIGHTED,
    BoolArray,
    FloatArray,
    WeightedLayer,
    channel_block,
    input_units,
    kept_mask,
    output_units,
    parameter_array,
    unit_block,
)


class TraceError(GraphError):
    """The model's forward uses an operation whose effect on connectivity is not known."""


UNIT_MODULES = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LeakyReLU, nn.ELU, nn.Dropout, nn.Identity,
                nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d,
                nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                nn.AdaptiveMaxPool2d, nn.Softplus)
UNIT_FUNCTIONS: set[Target] = {F.relu, torch.relu, torch.tanh, torch.sigmoid, F.gelu, F.dropout, F.max_pool2d,
                               F.avg_pool2d, F.leaky_relu, F.elu, F.softplus, F.adaptive_avg_pool2d}
UNIT_METHODS = {"relu", "tanh", "sigmoid", "contiguous", "clone", "float", "detach"}
COMBINE: set[Target] = {operator.add, operator.sub, operator.mul, torch.add, torch.sub, torch.mul, operator.iadd}
COMBINE_METHODS = {"add", "sub", "mul", "add_"}


@dataclass(frozen=True)
class Segment:
    """The units of one layer within a term (or a gap), each spanning ``per`` features."""

    layer: int  # -1: a gap of ``per`` features that carries nothing from this term
    per: int | None = 1  # features per unit; None: flattened, resolved when a layer reads it


Term = tuple[Segment, ...]
Value = list[Term]  # what a tensor of ``forward`` carries: the sum of its terms
EdgeBlock = tuple[int, int, BoolArray, FloatArray]  # (source layer, target layer, mask, weight)


@dataclass
class TracedLayer:
    """A Linear/Conv call met while tracing, its units a layer of the structure (layer 0: the input)."""

    name: str
    module: WeightedLayer | None  # None: the input
    size: int | None  # None: the input's, until a layer reads it


@dataclass
class _Trace:
    """One trace's state: the layers met so far (0: the input), their blocks, and every node's value."""

    modules: dict[str, nn.Module]
    layers: list[TracedLayer] = field(default_factory=lambda: [TracedLayer("input", None, None)])
    blocks: list[EdgeBlock] = field(default_factory=list)
    values: dict[fx.Node, Value] = field(default_factory=dict)
    inputs: int = 0
    output: Value | None = None

    def value(self, arg: object) -> Value:
        """The value of the fx node ``arg``."""
        if isinstance(arg, fx.Node) and arg in self.values:
            return self.values[arg]
        raise TraceError(f"operation on a non-tensor or unknown value {arg!r}")

    def width(self, v: Value) -> int:
        """How many features ``v`` spans (read from its first term)."""
        total = 0
        for seg in v[0]:
            size = 1 if seg.layer == -1 else self.layers[seg.layer].size
            if seg.per is None or size is None:
                raise TraceError("cannot concatenate a sum whose width is unknown while tracing")
            total += size * seg.per
        return total


Handler = Callable[[_Trace, fx.Node], Value]


def _flattened(v: Value) -> Value:
    """``v`` with every layer's units flattened (features per unit unknown until a layer reads it)."""
    return [tuple(s if s.layer == -1 else Segment(s.layer, 1 if s.layer == 0 else None) for s in term) for term in v]


def _segment_units(layers: list[TracedLayer], term: Term, width: int) -> list[int]:
    """Units of every segment of ``term`` (1 for a gap); the input's size is learnt from its first reader."""
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
    return sizes


def _flattened_per(module: WeightedLayer, term: Term, sizes: list[int], width: int) -> int:
    """Features per unit of ``term``'s flattened segments: what ``width`` leaves after the known ones."""
    if not any(s.per is None for s in term):
        return 1
    known = sum(sz * s.per for s, sz in zip(term, sizes, strict=True) if s.per is not None)
    flat_units = sum(sz for s, sz in zip(term, sizes, strict=True) if s.per is None)
    if (width - known) % flat_units:
        raise TraceError(f"{module}: {width} inputs do not split into {flat_units} flattened channels")
    return (width - known) // flat_units


def _read_term(state: _Trace, target: int, module: WeightedLayer, term: Term, mask: BoolArray,
               weight: FloatArray) -> None:
    """Blocks into layer ``target`` from each segment of ``term``, read from consecutive column ranges."""
    width = input_units(module)
    sizes = _segment_units(state.layers, term, width)
    per_flat = _flattened_per(module, term, sizes, width)
    offset = 0
    for seg, size in zip(term, sizes, strict=True):
        per = per_flat if seg.per is None else seg.per
        cols = slice(offset, offset + size * per)
        offset += size * per
        if seg.layer == -1:
            continue
        m, w = mask[:, cols], weight[:, cols]
        if per > 1:
            m, w = unit_block(m, w, size, per)
        state.blocks.append((seg.layer, target, m, w))
    if offset != width:
        raise TraceError(f"{module} reads {width} inputs but receives {offset}")


def _read(state: _Trace, target: int, module: WeightedLayer, v: Value) -> None:
    """Blocks by which layer ``target`` (``module``) reads ``v``: one per term and segment."""
    mask, weight = kept_mask(module, "weight"), parameter_array(module, "weight")
    if not isinstance(module, nn.Linear):
        if module.groups != 1:
            raise TraceError(f"grouped convolution {module} is not supported")
        mask, weight = channel_block(mask, weight)
    for term in v:
        _read_term(state, target, module, term, mask, weight)


def _weighted_layer(state: _Trace, node: fx.Node) -> Value:
    """A Linear/Conv call: a new layer, reading its argument; its value is its own units."""
    module = state.modules[str(node.target)]
    assert isinstance(module, WEIGHTED)  # MODULE_HANDLERS sends only these here
    state.layers.append(TracedLayer(str(node.target), module, output_units(module)))
    target = len(state.layers) - 1
    _read(state, target, module, state.value(node.args[0]))
    return [(Segment(target),)]


def _same_units(state: _Trace, node: fx.Node) -> Value:
    """A unit-wise operation (activation, dropout, normalisation, pooling...): the argument's value."""
    return state.value(node.args[0])


def _flatten(state: _Trace, node: fx.Node) -> Value:
    """``flatten``: channels become blocks of features."""
    return _flattened(state.value(node.args[0]))


def _view(state: _Trace, node: fx.Node) -> Value:
    """``x.view(N, -1)`` / ``x.reshape(N, -1)`` flatten; any other shape is not supported."""
    if node.args[-1] == -1 and len(node.args) == 3:
        return _flatten(state, node)
    raise TraceError(f"method .{node.target}() is not supported")


def _combine(state: _Trace, node: fx.Node) -> Value:
    """``+``, ``-``, ``*`` of tensors: the sum of their terms (each unit pair keeps its own edges)."""
    tensors = [a for a in node.args if isinstance(a, fx.Node)]
    return [t for a in tensors for t in state.value(a)]


def _concatenate(state: _Trace, node: fx.Node) -> Value:
    """``torch.cat(..., dim=1)``: segments side by side; a sum inside becomes terms with gaps elsewhere."""
    dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
    tensors = node.args[0]
    if not isinstance(tensors, list | tuple):
        raise TraceError(f"torch.cat of {tensors!r}, not of a list of tensors, is not supported")
    parts = [state.value(a) for a in tensors]
    if dim != 1:
        raise TraceError("only torch.cat(..., dim=1) is supported")
    if all(len(p) == 1 for p in parts):
        return [tuple(seg for p in parts for seg in p[0])]
    widths = [state.width(p) for p in parts]  # a sum inside: each term covers its own part, gaps elsewhere
    return [tuple(Segment(-1, w) for w in widths[:i]) + term + tuple(Segment(-1, w) for w in widths[i + 1:])
            for i, p in enumerate(parts) for term in p]


MODULE_HANDLERS: tuple[tuple[tuple[type[nn.Module], ...], Handler], ...] = (
    (WEIGHTED, _weighted_layer), (UNIT_MODULES, _same_units), ((nn.Flatten,), _flatten))
"""Handler of a ``call_module`` node: the first whose types the module is an instance of."""
FUNCTION_HANDLERS: dict[Target, Handler] = {
    **dict.fromkeys(UNIT_FUNCTIONS, _same_units), **dict.fromkeys(COMBINE, _combine),
    torch.flatten: _flatten, torch.cat: _concatenate}
"""Handler of a ``call_function`` node, by function."""
METHOD_HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(UNIT_METHODS, _same_units), "flatten": _flatten, "view": _view, "reshape": _view,
    **dict.fromkeys(COMBINE_METHODS, _combine)}
"""Handler of a ``call_method`` node, by method name."""


def _input(state: _Trace, node: fx.Node) -> Value:
    """The model's input tensor (one only): layer 0's units."""
    state.inputs += 1
    if state.inputs > 1:
        raise TraceError("only models with one input tensor are supported")
    return [(Segment(0),)]


def _call_module(state: _Trace, node: fx.Node) -> Value:
    """A submodule call, handled by its type (:data:`MODULE_HANDLERS`)."""
    module = state.modules[str(node.target)]
    for types, handler in MODULE_HANDLERS:
        if isinstance(module, types):
            return handler(state, node)
    raise TraceError(f"module {node.target} ({type(module).__name__}) is not supported")


def _call_function(state: _Trace, node: fx.Node) -> Value:
    """A function call, handled by the function (:data:`FUNCTION_HANDLERS`)."""
    handler = FUNCTION_HANDLERS.get(node.target)
    if handler is None:
        raise TraceError(f"function {getattr(node.target, '__name__', node.target)} is not supported")
    return handler(state, node)


def _call_method(state: _Trace, node: fx.Node) -> Value:
    """A tensor method call, handled by the method's name (:data:`METHOD_HANDLERS`)."""
    handler = METHOD_HANDLERS.get(str(node.target))
    if handler is None:
        raise TraceError(f"method .{node.target}() is not supported")
    return handler(state, node)


def _output(state: _Trace, node: fx.Node) -> Value:
    """The model's output: remembered, checked once the trace is done."""
    state.output = state.value(node.args[0])
    return state.output


def _parameter(state: _Trace, node: fx.Node) -> Value:
    """A parameter used directly in ``forward``: its connectivity is unknown."""
    raise TraceError(f"direct use of parameter {node.target} in forward is not supported")


OP_HANDLERS: dict[str, Handler] = {"placeholder": _input, "call_module": _call_module,
                                   "call_function": _call_function, "call_method": _call_method,
                                   "output": _output, "get_attr": _parameter}
"""Handler of an fx node, by its op."""


def trace_blocks(model: nn.Module) -> tuple[list[TracedLayer], list[EdgeBlock], int]:
    """``(layers, blocks, output_layer)``: layer 0 is the input; blocks are ``(source, target, mask, weight)``."""
    try:
        traced = fx.symbolic_trace(model)
    except Exception as err:  # noqa: BLE001 - any tracing failure means: cannot read forward
        raise TraceError(f"torch.fx cannot trace {type(model).__name__}: {err}") from err
    state = _Trace(dict(traced.named_modules()))
    for node in traced.graph.nodes:
        handler = OP_HANDLERS.get(node.op)
        if handler is None:
            raise TraceError(f"fx op {node.op} is not supported")
        state.values[node] = handler(state, node)
    if len(state.layers) == 1:
        raise TraceError(f"{type(model).__name__} has no Linear or Conv layer")
    output = state.output
    if output is None or len(output) != 1 or len(output[0]) != 1 or output[0][0].per != 1 or output[0][0].layer == 0:
        raise TraceError("the output must be one layer's units (a Linear or Conv result)")
    return state.layers, state.blocks, output[0][0].layer
