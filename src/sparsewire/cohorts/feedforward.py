"""Cohorts of feed-forward networks: graph-built MLPs level by level, same-architecture models stacked.

Graph-built MLPs (:class:`~sparsewire.graphs.feedforward.GraphNetwork`, random-graph priors of any size and
depth) have no time, so the natural packing is *level-major*: level ``j`` computes layer ``j`` of every
member at once, and the number of calls per batch is the depth of the deepest member, shared by the whole
cohort (alone, a network is one ``nn.Linear`` call per edge block: ~1,000 for an 800-node Watts–Strogatz
graph in edge order). Each pass is one ``autograd.Function`` with a hand-written backward over a unit
buffer ``(units, B)`` that holds every activation once; the backward walks the levels in reverse with a
gradient buffer of the same shape, each activation's derivative taken from its output (ReLU, tanh,
sigmoid, identity). Plain autograd would record an in-place write per level into the shared buffer and copy
the buffer's gradient at each (O(levels · units · B)).

- :class:`FeedForwardCohort` (the default): cost follows the present connections. A level's inputs from
  earlier layers are one edge list (gather → scale → scatter-add) over the present edges of all members;
  input-attached units take one GEMM with the shared batch; the read-out is one ``bmm`` per bucket of
  members. Masked hidden weights (absent edges) are not packed, so they get no gradient: exact unless
  gradients are clipped (``train()`` alone counts masked weights' gradients in the clipping norm).
- :class:`DenseFeedForwardCohort`: every member's layer ``j`` is one packed row, its incoming edge blocks
  side by side, rows of one level bucketed by size (:func:`~sparsewire.cohorts.recurrent.partition_sizes`)
  and multiplied densely with ``baddbmm``. Masked weights get their gradients as alone, so use it with
  ``grad_clip`` (the ``prior`` study does).

Why (``benchmarks/cohort_throughput_mlp.py``, 128 MNIST priors of 50–800 nodes, batch 128, one thread, one
training step incl. Adam): edge lists took 260–320 ms in edge order and 460 ms in random orientation, the
dense blocks 460–860 ms and 1,300 ms: a prior's layer blocks are 2–5 % dense, and dense padding added as
much again. Block-diagonal sparse products were not used: their setup per level costs more than a level's
few hundred multiply-adds per unit. What remains is per-level call overhead (deep, narrow edge-order
graphs) and the dense 784-wide input layer (random orientation, whose first layers are wide); the latter is
the same GEMM a network alone does, so it bounds the speed-up there.

:class:`StackedCohort` — same-architecture models that differ only in masks, seeds or hyper-parameters
(``mlp``, ``lenet_300_100``, LeNet-5): stacked parameters with ``functional_call`` under ``vmap``; see its
docstring for the measurement behind that choice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from sparsewire.cohorts.base import Cohort, member_masks
from sparsewire.cohorts.layout import Layout, Slot
from sparsewire.cohorts.recurrent import partition_sizes

if TYPE_CHECKING:
    from sparsewire.graphs.feedforward import GraphNetwork


def _relu_backward(grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.threshold_backward(grad, out, 0)


# activation name -> (in-place forward, backward from the output); None: identity
_ACTIVATIONS = {"relu": (torch.relu_, _relu_backward), "tanh": (torch.tanh_, torch.ops.aten.tanh_backward),
                "sigmoid": (torch.sigmoid_, torch.ops.aten.sigmoid_backward), "identity": None}

WIDTHS = sorted({m << k for k in range(40) for m in (2, 3)} | {1})
"""Row widths of the packed block tensors: a block of ``n`` entries goes to the narrowest width ``≥ n``
(padding at most a third), so a cohort has a few dozen packed tensors however many levels it has."""


@dataclass(frozen=True)
class Block:
    """Rows ``start:start + rows`` of packed tensor number ``tensor``, each row's leading entries viewed as ``shape``."""

    tensor: int
    start: int
    rows: int
    shape: tuple[int, ...]

    def view(self, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        numel = 1
        for s in self.shape:
            numel *= s
        return tensors[self.tensor][self.start:self.start + self.rows, :numel].view(self.rows, *self.shape)


@dataclass
class Stage:
    """One bucket of one level: ``rows`` packed rows of ``size`` output units and ``width`` unit inputs.

    ``inputs`` ``(rows·width,)`` and ``outputs`` ``(rows·size,)`` index the unit buffer (padding reads the
    zero row and writes the trash row). ``weight`` ``(rows, size, width)`` and ``bias`` ``(rows, size)`` are
    blocks of the packed tensors; ``inp`` is the index of the packed input weight ``(rows, size, F)`` of an
    input-attached stage; ``activate`` is False for the read-out.
    """

    rows: int
    size: int
    width: int
    inputs: torch.Tensor
    outputs: torch.Tensor
    weight: Block | None
    bias: Block
    inp: int | None
    activate: bool = True

    def to(self, device: torch.device) -> Stage:
        return Stage(self.rows, self.size, self.width, self.inputs.to(device), self.outputs.to(device), self.weight,
                     self.bias, self.inp, self.activate)


class _Levels(torch.autograd.Function):
    """The level loop with a hand-written backward (see the module docstring)."""

    @staticmethod
    def forward(ctx, plan: tuple, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        stages, units, readout, activation = plan
        batch = x.shape[0]
        xt = x.t()
        buf = x.new_zeros(units, batch)
        outs = []
        for stage in stages:
            bias = stage.bias.view(params).unsqueeze(-1)
            if stage.weight is not None:
                gathered = buf.index_select(0, stage.inputs).view(stage.rows, stage.width, batch)
                z = torch.baddbmm(bias, stage.weight.view(params), gathered)
            else:
                z = bias.expand(stage.rows, stage.size, batch).contiguous()
            if stage.inp is not None:
                z.view(-1, batch).addmm_(params[stage.inp].view(stage.rows * stage.size, -1), xt)
            if stage.activate and activation is not None:
                activation[0](z)
            buf.index_copy_(0, stage.outputs, z.view(-1, batch))
            outs.append(z)
        ctx.plan, ctx.outs = plan, outs
        ctx.save_for_backward(x, buf, *params)
        return buf[readout[0]:readout[1]].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        stages, units, readout, activation = ctx.plan
        x, buf, *params = ctx.saved_tensors
        batch = x.shape[0]
        gbuf = torch.zeros_like(buf)
        gbuf[readout[0]:readout[1]] = grad_out
        grads = [torch.zeros_like(p) for p in params]
        gx = torch.zeros_like(x) if ctx.needs_input_grad[1] else None
        for stage, out in zip(reversed(stages), reversed(ctx.outs), strict=True):
            gz = gbuf.index_select(0, stage.outputs).view(stage.rows, stage.size, batch)
            if stage.activate and activation is not None:
                gz = activation[1](gz, out)
            stage.bias.view(grads).copy_(gz.sum(2))
            if stage.inp is not None:
                flat = gz.view(stage.rows * stage.size, batch)
                grads[stage.inp] = (flat @ x).view_as(params[stage.inp])
                if gx is not None:
                    gx.addmm_(flat.t(), params[stage.inp].view(stage.rows * stage.size, -1))
            if stage.weight is not None:
                gathered = buf.index_select(0, stage.inputs).view(stage.rows, stage.width, batch)
                torch.bmm(gz, gathered.transpose(1, 2), out=stage.weight.view(grads))
                gbuf.index_add_(0, stage.inputs, torch.bmm(stage.weight.view(params).transpose(1, 2), gz).view(-1, batch))
        ctx.outs = None
        return (None, gx, *grads)


class _GraphCohort(Cohort):
    """Shared by the two graph cohorts: member checks and the forward entry point."""

    in_features: int
    classes: int
    activation_name: str
    _param_names: list[str]  # the packed parameters, in the order the level loop takes them

    def _check(self, members: Sequence[nn.Module]) -> list[tuple]:
        networks = [_graph_network(m) for m in members]
        specs = [_graph_spec(m) for m in networks]
        shared: list[tuple[str, Collection[object]]] = [("input size", {m.in_features for m in networks}),
                                                        ("number of classes", {m.out_features for m in networks}),
                                                        ("activation", {m.activation_name for m in networks})]
        for what, values in shared:
            if len(values) != 1:
                raise ValueError(f"cohort members must share the {what}, got {sorted(map(str, values))}")
        self.in_features, self.classes = networks[0].in_features, networks[0].out_features
        self.activation_name = networks[0].activation_name
        return specs

    def _run(self, function: type[torch.autograd.Function], plan: tuple, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"the cohort's networks expect {self.in_features} input features, got {x.shape[1]}")
        params = [getattr(self, name) for name in self._param_names]
        out = function.apply(plan, x.to(params[0].dtype), *params)
        return out.view(len(self), self.classes, x.shape[0]).transpose(1, 2)


def _graph_network(model: nn.Module) -> GraphNetwork:
    """``model`` as a cohort member: a :class:`~sparsewire.graphs.feedforward.GraphNetwork`."""
    from sparsewire.graphs.feedforward import GraphNetwork

    if not isinstance(model, GraphNetwork):
        raise TypeError(f"a feed-forward cohort takes GraphNetwork members, got {type(model).__name__}")
    return model


def _graph_spec(model: GraphNetwork) -> tuple[list[int], dict[int, list[int]], list[int], list[int]]:
    """(layer sizes, incoming source layers per layer, input-attached layers, read-out layers)."""
    sizes = list(model.structure.sizes)
    incoming: dict[int, list[int]] = {j: [] for j in range(len(sizes))}
    for i, j in model.structure.blocks:
        incoming[j].append(i)
    return sizes, {j: sorted(v) for j, v in incoming.items()}, sorted(int(j) for j in model.inputs), \
        sorted(int(j) for j in model.outputs)


class _Packer:
    """Places blocks in packed tensors ``p{width}`` (rows of the narrowest width that holds them) and input
    weights in tensors of their own, collecting the slots and shapes of the layout."""

    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.rows: dict[int, int] = {}  # width -> rows used so far

    def block(self, shape: tuple[int, ...], members: list[int]) -> tuple[str, Block]:
        """A block of ``len(members)`` consecutive rows (row ``r`` owned by ``members[r]``) viewed as ``shape``."""
        numel = 1
        for s in shape:
            numel *= s
        width = next(w for w in WIDTHS if w >= numel)
        start = self.rows.get(width, 0)
        self.rows[width] = start + len(members)
        return f"p{width}", Block(width, start, len(members), shape)

    def finish(self) -> tuple[Layout, list[str]]:
        """The layout and the packed tensor names in the order the forward pass takes them."""
        self.shapes |= {f"p{w}": (rows, w) for w, rows in sorted(self.rows.items())}
        return Layout(tuple(self.slots), self.shapes), list(self.shapes)


class DenseFeedForwardCohort(_GraphCohort):
    """:class:`FeedForwardCohort` with every member's weight blocks kept dense, so that masked weights (absent
    edges) get their gradients too, exactly as in ``train()`` alone, where they enter gradient clipping's
    norm. Use it when clipping (``grad_clip``); it costs the dense blocks (see the module docstring).

    ``forward(x)`` returns ``(N, B, C)``, member ``n`` at ``[n]``, equal to ``members[n](x)`` with all its
    gradients (tested to 1e-5). Layer rows of one level are bucketed by size, each bucket one ``baddbmm``.
    """

    bucket_overhead: float = 4096.0
    """Padded multiply-adds (per example) that one more bucket per level is worth (see :func:`partition_sizes`)."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        specs = self._check(members)
        n, features, classes = len(members), self.in_features, self.classes

        # Unit buffer rows: every member's layers in turn, then the N·C logits, then a zero and a trash row.
        offset, cursor = {}, 0
        for m, (sizes, *_) in enumerate(specs):
            for j, size in enumerate(sizes):
                offset[(m, j)] = cursor
                cursor += size
        logits = cursor
        zero, trash = logits + n * classes, logits + n * classes + 1
        self._readout = (logits, logits + n * classes)
        self._units = trash + 1

        def units(m: int, layer: int) -> list[int]:
            return list(range(offset[(m, layer)], offset[(m, layer)] + specs[m][0][layer]))

        packer = _Packer()
        slots = packer.slots
        pending: list[tuple] = []  # (stage fields, weight block name, bias block name, input tensor name)

        def add_stage(group: list[tuple[int, int]], smax: int, wmax: int, inputs: list[int], outputs: list[int],
                      attached: bool, activate: bool = True) -> None:
            owners = [m for m, _ in group]
            q = len(pending)
            wname, weight = packer.block((smax, wmax), owners) if wmax else (None, None)
            bname, bias = packer.block((smax,), owners)
            iname = f"in{q}" if attached else None
            for row, (m, j) in enumerate(group):
                sizes, incoming = specs[m][0], specs[m][1]
                if j < 0:  # the read-out
                    slots.append(Slot(m, "output_bias", bname, bias.start + row, (classes,), block=(smax,)))
                    column = 0
                    for k in specs[m][3]:
                        assert wname is not None and weight is not None  # a row that reads units has weights
                        slots.append(Slot(m, f"outputs.{k}.weight", wname, weight.start + row, (classes, sizes[k]),
                                          (0, column), (smax, wmax)))
                        column += sizes[k]
                    continue
                slots.append(Slot(m, f"biases.{j}", bname, bias.start + row, (sizes[j],), block=(smax,)))
                if iname is not None:
                    slots.append(Slot(m, f"inputs.{j}.weight", iname, row, (sizes[j], features)))
                column = 0
                for i in incoming[j]:
                    assert wname is not None and weight is not None  # a row that reads units has weights
                    slots.append(Slot(m, f"edges.{i}_{j}.weight", wname, weight.start + row, (sizes[j], sizes[i]),
                                      (0, column), (smax, wmax)))
                    column += sizes[i]
            if iname is not None:
                packer.shapes[iname] = (len(group), smax, features)
            pending.append((len(group), smax, wmax, torch.tensor(inputs, dtype=torch.long),
                            torch.tensor(outputs, dtype=torch.long), wname, weight, bname, bias, iname, activate))

        # Hidden levels: one row per (member, layer), grouped by (input-attached, has unit inputs), bucketed by size.
        depth = max(len(sizes) for sizes, *_ in specs)
        for level in range(depth):
            groups: dict[tuple[bool, bool], list[tuple[int, int]]] = {}
            for m in range(n):
                if level < len(specs[m][0]):
                    groups.setdefault((level in specs[m][2], bool(specs[m][1][level])), []).append((m, level))
            for (attached, _), group in sorted(groups.items()):
                size = [specs[m][0][j] for m, j in group]
                width = [sum(specs[m][0][i] for i in specs[m][1][j]) for m, j in group]
                cost = [s * (w + (features if attached else 0) + 1) for s, w in zip(size, width, strict=True)]
                for part in partition_sizes(cost, self.bucket_overhead):
                    chosen = [group[r] for r in sorted(part)]
                    smax, wmax = max(size[r] for r in part), max(width[r] for r in part)
                    inputs, outputs = [], []
                    for m, j in chosen:
                        read = [u for i in specs[m][1][j] for u in units(m, i)]
                        inputs += read + [zero] * (wmax - len(read))
                        outputs += units(m, j) + [trash] * (smax - specs[m][0][j])
                    add_stage(chosen, smax, wmax, inputs, outputs, attached)
        # Read-out: one row per member, its read-out layers side by side.
        width = [sum(specs[m][0][j] for j in specs[m][3]) for m in range(n)]
        for part in partition_sizes([classes * w for w in width], self.bucket_overhead):
            readers = sorted(part)
            wmax = max(width[m] for m in readers)
            inputs = []
            for m in readers:
                read = [u for j in specs[m][3] for u in units(m, j)]
                inputs += read + [zero] * (wmax - len(read))
            outputs = [logits + m * classes + c for m in readers for c in range(classes)]
            add_stage([(m, -1) for m in readers], classes, wmax, inputs, outputs, False, activate=False)

        layout, names = packer.finish()
        position = {name: k for k, name in enumerate(names)}

        def located(name: str, block: Block) -> Block:
            return Block(position[name], block.start, block.rows, block.shape)

        self._stages = [Stage(rows, smax, wmax, inputs, outputs, None if weight is None else located(wname, weight),
                              located(bname, bias),
                              None if iname is None else position[iname], activate)
                        for rows, smax, wmax, inputs, outputs, wname, weight, bname, bias, iname, activate in pending]
        self._param_names = names
        self.depth = depth
        super().__init__(members, layout)

    def rebuild(self, members: Sequence[nn.Module]) -> DenseFeedForwardCohort:
        return DenseFeedForwardCohort(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._stages[0].outputs.device != x.device:
            self._stages = [stage.to(x.device) for stage in self._stages]
        return self._run(_Levels, (self._stages, self._units, self._readout, _ACTIVATIONS[self.activation_name]), x)


@dataclass
class Level:
    """One level of an edge-list cohort: buffer rows ``start:stop`` (every member's units of the level), the
    input weight (parameter ``inp``, ``(attached units, F)``) added to level rows ``inrows`` (None: all), and
    the present edges ``edges`` (a range of the packed edge weights) from buffer rows ``src`` to level rows ``dst``."""

    start: int
    stop: int
    inp: int | None = None
    inrows: torch.Tensor | None = None
    edges: tuple[int, int] = (0, 0)
    src: torch.Tensor | None = None
    dst: torch.Tensor | None = None

    def to(self, device: torch.device) -> Level:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return Level(self.start, self.stop, self.inp, move(self.inrows), self.edges, move(self.src), move(self.dst))


@dataclass
class Readout:
    """A bucket of members' read-outs: weight parameter ``weight`` ``(rows, C, width)`` applied to the buffer
    rows ``inputs`` ``(rows·width,)`` (padding: the zero row) and added to the logit rows ``outputs``."""

    rows: int
    width: int
    weight: int
    inputs: torch.Tensor
    outputs: torch.Tensor

    def to(self, device: torch.device) -> Readout:
        return Readout(self.rows, self.width, self.weight, self.inputs.to(device), self.outputs.to(device))


class _EdgeLevels(torch.autograd.Function):
    """Edge-list level loop: the buffer starts as the biases; per level one GEMM for the input-attached units
    and a gather → scale → scatter-add over the level's present edges; the read-out is one ``bmm`` per
    bucket. The backward reverses it (see :class:`FeedForwardCohort`). Parameters: biases ``(rows,)``, edge
    weights ``(edges,)``, then the read-out and input weights."""

    @staticmethod
    def forward(ctx, plan: tuple, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        levels, readouts, logits, activation = plan
        bias, edges = params[0], params[1]
        batch, biased = x.shape[0], len(params[0])
        buf = x.new_empty(biased + 1, batch)  # + the zero row
        buf[:biased] = bias.unsqueeze(1)
        buf[biased] = 0
        xt = x.t()
        for level in levels:
            z = buf[level.start:level.stop]
            if level.inp is not None:
                if level.inrows is None:
                    z.addmm_(params[level.inp], xt)
                else:
                    z.index_add_(0, level.inrows, params[level.inp] @ xt)
            if level.src is not None:
                weights = edges[level.edges[0]:level.edges[1]].unsqueeze(1)
                z.index_add_(0, level.dst, buf.index_select(0, level.src).mul_(weights))
            if activation is not None:
                activation[0](z)
        for readout in readouts:
            read = buf.index_select(0, readout.inputs).view(readout.rows, readout.width, batch)
            buf.index_add_(0, readout.outputs, torch.bmm(params[readout.weight], read).view(-1, batch))
        ctx.plan = plan
        ctx.save_for_backward(x, buf, *params)
        return buf[logits:biased].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        levels, readouts, logits, activation = ctx.plan
        x, buf, *params = ctx.saved_tensors
        edges, biased, batch = params[1], len(params[0]), x.shape[0]
        gbuf = torch.zeros_like(buf)
        gbuf[logits:biased] = grad_out
        edge_grads = torch.empty_like(edges)
        grads: list[torch.Tensor | None] = [None, edge_grads] + [None] * (len(params) - 2)
        gx = torch.zeros_like(x) if ctx.needs_input_grad[1] else None
        for readout in readouts:
            gz = gbuf.index_select(0, readout.outputs).view(readout.rows, -1, batch)
            read = buf.index_select(0, readout.inputs).view(readout.rows, readout.width, batch)
            grads[readout.weight] = torch.bmm(gz, read.transpose(1, 2))
            gbuf.index_add_(0, readout.inputs, torch.bmm(params[readout.weight].transpose(1, 2), gz).view(-1, batch))
        for level in reversed(levels):
            gz = gbuf[level.start:level.stop]  # becomes the gradient of the pre-activations, in place
            if activation is not None:
                gz.copy_(activation[1](gz, buf[level.start:level.stop]))
            if level.inp is not None:
                rows = gz if level.inrows is None else gz.index_select(0, level.inrows)
                grads[level.inp] = rows @ x
                if gx is not None:
                    gx.addmm_(rows.t(), params[level.inp])
            if level.src is not None:
                first, last = level.edges
                gdst = gz.index_select(0, level.dst)
                edge_grads[first:last] = (gdst * buf.index_select(0, level.src)).sum(1)
                gbuf.index_add_(0, level.src, gdst.mul_(edges[first:last].unsqueeze(1)))
        grads[0] = gbuf[:biased].sum(1)
        return (None, gx, *grads)


class FeedForwardCohort(_GraphCohort):
    """N :class:`~sparsewire.graphs.feedforward.GraphNetwork` members as one module, costing their present
    connections (see the module docstring).

    ``forward(x)`` takes the shared batch ``(B, ...)`` and returns ``(N, B, C)`` logits, member ``n`` at
    ``[n]``, equal to ``members[n](x)`` (tested to 1e-5), and so are the gradients of every present weight
    and bias. Members may differ in graph, size, depth, attachment and initialisation; they must share the
    input size, the number of classes and the activation.

    Level ``j`` holds layer ``j`` of every member (units level-major in one buffer): its input-attached
    units' input weights (one GEMM with the shared batch) and the present edges into it as one edge list.
    All biases are one packed tensor (one row per unit) and all edge weights another (one row per present
    edge, ``Slot.entries``), so the optimizer runs over a handful of tensors. The read-out gathers each
    member's read-out layers and applies its read-out matrix, members bucketed by width, one ``bmm`` each.
    Masked hidden weights — absent edges — are not packed: they stay zero and get no gradient, so a member
    trains exactly as alone unless gradients are clipped (``train()`` alone counts the masked weights'
    gradients in the clipping norm); for that, use :class:`DenseFeedForwardCohort`. A member's edges are
    fixed when the cohort is built from its masks.
    """

    bucket_overhead: float = 4096.0
    """Padded read-out multiply-adds (per example) one more read-out bucket is worth (:func:`partition_sizes`)."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        specs = self._check(members)
        n, features, classes = len(members), self.in_features, self.classes
        masks = [member_masks(m) for m in members]
        depth = max(len(sizes) for sizes, *_ in specs)
        offset, cursor, bounds = {}, 0, []
        for j in range(depth):  # level-major units: level j is one contiguous range of the buffer
            first = cursor
            for m in range(n):
                if j < len(specs[m][0]):
                    offset[(m, j)] = cursor
                    cursor += specs[m][0][j]
            bounds.append((first, cursor))
        logits = cursor
        biased = logits + n * classes
        zero = biased

        slots: list[Slot] = []
        names = ["b", "e"]
        shapes: dict[str, tuple[int, ...]] = {"b": (biased,)}
        levels: list[Level] = []
        count = 0  # edges so far
        for j, (first, stop) in enumerate(bounds):
            level = Level(first, stop)
            attached, before = 0, count
            inrows: list[int] = []
            src: list[int] = []
            dst: list[int] = []
            for m in range(n):
                sizes, incoming, inputs, _ = specs[m]
                if j >= len(sizes):
                    continue
                local = offset[(m, j)] - first
                slots.append(Slot(m, f"biases.{j}", "b", offset[(m, j)], (sizes[j],), span=True))
                if j in inputs:
                    slots.append(Slot(m, f"inputs.{j}.weight", f"in{j}", attached, (sizes[j], features), span=True))
                    inrows += range(local, local + sizes[j])
                    attached += sizes[j]
                for i in incoming[j]:
                    name, cols = f"edges.{i}_{j}.weight", sizes[i]
                    mask = masks[m].get(name)
                    entries = (torch.arange(sizes[j] * cols) if mask is None else mask.flatten().nonzero().flatten()).tolist()
                    if entries:
                        slots.append(Slot(m, name, "e", count, (len(entries),), entries=tuple(entries)))
                        src += [offset[(m, i)] + e % cols for e in entries]
                        dst += [local + e // cols for e in entries]
                        count += len(entries)
            if attached:
                names.append(f"in{j}")
                shapes[f"in{j}"] = (attached, features)
                level.inp = len(names) - 1
                level.inrows = None if attached == stop - first else torch.tensor(inrows, dtype=torch.long)
            if count > before:
                level.edges = (before, count)
                level.src, level.dst = torch.tensor(src, dtype=torch.long), torch.tensor(dst, dtype=torch.long)
            levels.append(level)
        shapes["e"] = (count,)
        # Read-out: member m's logits are buffer rows logits + m·C …, its read-out layers side by side.
        readouts: list[Readout] = []
        width = [sum(specs[m][0][j] for j in specs[m][3]) for m in range(n)]
        for part in partition_sizes([classes * w for w in width], self.bucket_overhead):
            chosen = sorted(part)
            wmax, name = max(width[m] for m in chosen), f"ro{len(readouts)}"
            inputs = []
            for row, m in enumerate(chosen):
                sizes, column = specs[m][0], 0
                slots.append(Slot(m, "output_bias", "b", logits + m * classes, (classes,), span=True))
                for j in specs[m][3]:
                    slots.append(Slot(m, f"outputs.{j}.weight", name, row, (classes, sizes[j]), (0, column)))
                    column += sizes[j]
                    inputs += range(offset[(m, j)], offset[(m, j)] + sizes[j])
                inputs += [zero] * (wmax - column)
            names.append(name)
            shapes[name] = (len(chosen), classes, wmax)
            outputs = [logits + m * classes + c for m in chosen for c in range(classes)]
            readouts.append(Readout(len(chosen), wmax, len(names) - 1, torch.tensor(inputs, dtype=torch.long),
                                    torch.tensor(outputs, dtype=torch.long)))
        self._levels, self._readouts, self._logits = levels, readouts, logits
        self._param_names, self.depth = names, depth
        super().__init__(members, Layout(tuple(slots), {name: shapes[name] for name in names}))

    def rebuild(self, members: Sequence[nn.Module]) -> FeedForwardCohort:
        return FeedForwardCohort(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._readouts[0].inputs.device != x.device:
            self._levels = [level.to(x.device) for level in self._levels]
            self._readouts = [readout.to(x.device) for readout in self._readouts]
        return self._run(_EdgeLevels, (self._levels, self._readouts, self._logits, _ACTIVATIONS[self.activation_name]), x)


class StackedCohort(Cohort):
    """N models of one architecture (same class, parameter names and shapes) that differ only in weights,
    masks, seeds or hyper-parameters, e.g. ``mlp``, ``lenet_300_100`` or LeNet-5 over seeds and masks.

    Parameter ``k`` of every member is stacked into packed tensor ``p{k}`` of shape ``(N, *shape)`` and the
    forward pass is the first member's module run under ``torch.func.vmap`` with ``functional_call``
    (members must hold no state other than parameters and masks; they are read, never changed).

    Why ``vmap`` (measured on 1 thread, LeNet-300-100, batch 128, forward + backward): ``vmap`` 22 / 86 ms,
    a hand-written ``baddbmm`` stack 23 / 88 ms and the members one after another 21 / 79 ms for
    N = 8 / 32. Dense models of this size are compute-bound on a CPU, so stacking saves little per batch
    (the gain is in the optimizer and the bookkeeping being one per cohort); ``vmap`` is as fast as the
    hand-written path and covers any architecture, convolutions included.
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        template = members[0]
        signature = [(name, tuple(p.shape)) for name, p in template.named_parameters()]
        for model in members[1:]:
            if type(model) is not type(template) or [(n, tuple(p.shape)) for n, p in model.named_parameters()] != signature:
                raise ValueError("a stacked cohort needs members of one architecture (same class, parameter names and "
                                 f"shapes); {type(model).__name__} differs from {type(template).__name__}")
        self._names = {f"p{k}": name for k, (name, _) in enumerate(signature)}
        slots = [Slot(m, name, f"p{k}", m, shape) for m in range(len(members))
                 for k, (name, shape) in enumerate(signature)]
        shapes = {f"p{k}": (len(members), *shape) for k, (_, shape) in enumerate(signature)}
        super().__init__(members, Layout(tuple(slots), shapes))

    def rebuild(self, members: Sequence[nn.Module]) -> StackedCohort:
        return StackedCohort(members)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        from torch.func import functional_call, vmap

        template = self._members[0]
        params = {name: getattr(self, packed) for packed, name in self._names.items()}
        return vmap(lambda p, *xs: functional_call(template, p, xs), in_dims=(0, *([None] * len(inputs))))(params, *inputs)
