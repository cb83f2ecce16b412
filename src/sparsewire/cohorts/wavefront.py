"""A whole cohort of graph-built recurrent networks as one wavefront recurrence, with a hand-written backward.

A graph-built recurrent network (:class:`~sparsewire.graphs.recurrent.GraphRNN`) is a set of small
recurrent *blocks*: block ``b`` carries its own hidden state ``h_b``, reads the output sequence of one
source layer ``i`` (or the embedded input) and adds its hidden state into target layer ``j``:

    s_j(t) = Σ_{b → j} h_b(t),      h_b(t) = cell(W_ih,b s_i(t) + b_ih,b,  h_b(t−1))

with PyTorch's ``nn.RNN``/``nn.GRU``/``nn.LSTM`` cell equations. Layer ``j`` at time ``t`` needs the layers
below it at the *same* ``t``, so a level-by-level evaluation takes ``T × depth`` sequential steps. The
blocks of level ``j`` at time ``t`` only need levels ``< j`` at time ``t``, though, so this module runs a
*wavefront*: at global step ``σ`` every block of level ``j`` processes time ``t = σ − j``. All levels, of
all networks in the cohort, advance together, and a whole cohort takes ``T + depth − 1`` steps, each one
gather, two batched products, a few elementwise operations and one scatter-add.

Storage: every layer output of every member is a row range of one buffer ``L`` of shape ``(T, units + 2,
B)``. Unit ``units`` is a constant zero that padded block inputs read; unit ``units + 1`` is where padded
block outputs go and nothing reads, so a member gone non-finite can never leak into another through
padding.
Blocks are grouped into *buckets* of similar hidden size (padded to the largest in the bucket; padded
units stay exactly zero) and sorted by level, so the blocks active at a step are one contiguous range.

The backward pass runs the wavefront in reverse: the gradient of ``L`` reaching a block's output rows is
gathered, pushed through the cell and the two products, and scattered back to the block's input rows,
which belong to lower levels and are therefore processed later in the reverse sweep.

``active[t]`` (optional): number of leading batch columns inside their sequence at time ``t`` (batch
sorted by length, longest first). A step computes only the columns active at the earliest time any of
its blocks processes; later columns are past their string's end for every block of the step, and are
never read by a read-out at each string's last valid step.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

GATES = {"rnn-tanh": 1, "rnn-relu": 1, "gru": 3, "lstm": 4}


@dataclass
class Bucket:
    """Blocks of similar size: ``level`` (sorted), input units ``inputs (n, I)``, output units ``outputs (n, H)``."""

    level: torch.Tensor
    inputs: torch.Tensor
    outputs: torch.Tensor
    hidden: int

    def __post_init__(self) -> None:
        self.levels: list[int] = self.level.tolist()
        if self.levels != sorted(self.levels):
            raise ValueError("bucket blocks must be sorted by level")

    def active(self, step: int, steps: int) -> tuple[int, int]:
        """The block range ``[a, e)`` whose time ``step − level`` lies in ``[0, steps)``."""
        return bisect.bisect_left(self.levels, step - steps + 1), bisect.bisect_right(self.levels, step)

    def to(self, device: torch.device | str) -> Bucket:
        return Bucket(self.level.to(device), self.inputs.to(device), self.outputs.to(device), self.hidden)


Step = tuple[int, int, torch.Tensor, torch.Tensor, int]
"""One bucket's work at a wavefront step: ``(a, e, gather, scatter, time)`` (see :meth:`Schedule.plan`)."""


class Schedule:
    """Which blocks run at each wavefront step and where they read and write, per sequence length ``T``
    (computed once per ``T`` and cached: a batch then costs no index arithmetic)."""

    def __init__(self, buckets: Sequence[Bucket], units: int, depth: int) -> None:
        self.buckets, self.units, self.depth = list(buckets), units, depth
        self._plans: dict[tuple[int, str], list[list[Step | None]]] = {}

    def plan(self, steps: int, device: torch.device) -> list[list[Step | None]]:
        """``plan[step][q]``: ``None`` or ``(a, e, gather, scatter, time)`` with flat indices into the layer
        buffer viewed as ``(T·(units + 2), B)`` and ``time`` the earliest time any of the blocks processes."""
        key = (steps, str(device))
        if key not in self._plans:
            stride = self.units + 2
            plan: list[list[Step | None]] = []
            for step in range(steps + self.depth - 1):
                row: list[Step | None] = []
                for bucket in self.buckets:
                    a, e = bucket.active(step, steps)
                    if a == e:
                        row.append(None)
                        continue
                    shift = ((step - bucket.level[a:e]) * stride).unsqueeze(1)
                    row.append((a, e, (bucket.inputs[a:e] + shift).reshape(-1).to(device),
                                (bucket.outputs[a:e] + shift).reshape(-1).to(device), step - bucket.levels[e - 1]))
                plan.append(row)
            self._plans[key] = plan
        return self._plans[key]


def combine(cell: str, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor):
    """One matrix ``W (n, G'·H, I + H)`` and bias for ``W [x; h] + b``: the input and hidden products of a step in
    one batched product. RNN/LSTM: ``[W_ih W_hh]``, ``b_ih + b_hh``. GRU keeps the two parts of the candidate
    apart (``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``): rows r, z, n from the input, n from the state."""
    if cell != "gru":
        return torch.cat([w_ih, w_hh], 2), b_ih + b_hh
    n, h3, i = w_ih.shape
    h = h3 // 3
    top = torch.cat([w_ih[:, :2 * h], w_hh[:, :2 * h]], 2)
    from_input = torch.cat([w_ih[:, 2 * h:], w_ih.new_zeros(n, h, h)], 2)
    from_state = torch.cat([w_ih.new_zeros(n, h, i), w_hh[:, 2 * h:]], 2)
    bias = torch.cat([b_ih[:, :2 * h] + b_hh[:, :2 * h], b_ih[:, 2 * h:], b_hh[:, 2 * h:]], 1)
    return torch.cat([top, from_input, from_state], 1), bias


def _forward_cell(cell: str, pre: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None, out: torch.Tensor,
                  c_out: torch.Tensor | None) -> tuple:
    """Write the new hidden (and cell) state of pre-activations ``pre (n, G'·H, k)`` into ``out`` (and
    ``c_out``); return what the backward needs."""
    hid = h.shape[1]
    if cell == "gru":
        rz = pre[:, :2 * hid].sigmoid_()
        ghn = pre[:, 3 * hid:]
        n = pre[:, 2 * hid:3 * hid].addcmul_(rz[:, :hid], ghn).tanh_()
        torch.addcmul(n, rz[:, hid:], h - n, out=out)
        return rz, n, ghn
    if cell == "lstm":
        assert c is not None and c_out is not None  # an LSTM carries a cell state
        pre[:, :2 * hid].sigmoid_()
        pre[:, 2 * hid:3 * hid].tanh_()
        pre[:, 3 * hid:].sigmoid_()
        torch.addcmul(pre[:, hid:2 * hid] * c, pre[:, :hid], pre[:, 2 * hid:3 * hid], out=c_out)
        tc = torch.tanh(c_out)
        torch.mul(pre[:, 3 * hid:], tc, out=out)
        return pre, tc
    new = pre.relu_() if cell == "rnn-relu" else pre.tanh_()
    out.copy_(new)
    return (new,)


def _backward_cell(cell: str, dh: torch.Tensor, dc: torch.Tensor | None, saved: tuple, h: torch.Tensor,
                   c: torch.Tensor | None) -> tuple:
    """``(d_pre, dh_prev_direct, dc_prev)`` of one step; ``dh_prev`` also gets the product's share (caller)."""
    hid = dh.shape[1]
    if cell == "gru":
        rz, n, ghn = saved
        r, z = rz[:, :hid], rz[:, hid:]
        d = dh.new_empty(dh.shape[0], 4 * hid, dh.shape[2])
        dnp = torch.mul(dh * (1 - z), 1 - n * n, out=d[:, 2 * hid:3 * hid])
        torch.mul(dnp * ghn, r * (1 - r), out=d[:, :hid])
        torch.mul(dh * (h - n), z * (1 - z), out=d[:, hid:2 * hid])
        torch.mul(dnp, r, out=d[:, 3 * hid:])
        return d, dh * z, None
    if cell == "lstm":
        assert c is not None and dc is not None  # an LSTM carries a cell state
        acts, tc = saved
        i, f, g, o = acts[:, :hid], acts[:, hid:2 * hid], acts[:, 2 * hid:3 * hid], acts[:, 3 * hid:]
        dc_t = torch.addcmul(dc, dh * o, 1 - tc * tc)
        d = torch.empty_like(acts)
        torch.mul(dc_t * g, i * (1 - i), out=d[:, :hid])
        torch.mul(dc_t * c, f * (1 - f), out=d[:, hid:2 * hid])
        torch.mul(dc_t * i, 1 - g * g, out=d[:, 2 * hid:3 * hid])
        torch.mul(dh * tc, o * (1 - o), out=d[:, 3 * hid:])
        return d, None, dc_t * f
    (new,) = saved
    return (dh * (new > 0) if cell == "rnn-relu" else dh * (1 - new * new)), None, None


class _Wavefront(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, schedule: Schedule, cell: str, active: list[int], keep: bool, x: torch.Tensor,  # noqa: D102
                *params: torch.Tensor) -> torch.Tensor:
        steps, inputs, batch = x.shape
        units = schedule.units
        plan = schedule.plan(steps, x.device)
        layer = x.new_zeros(steps, units + 2, batch)
        layer[:, :inputs] = x
        flat = layer.view(steps * (units + 2), batch)
        total = len(plan)
        # hidden (and cell) state of every block after each step: history[q][:, :, σ + 1] (σ = −1: zeros)
        history = [x.new_zeros(len(b.levels), b.hidden, total + 1, batch) for b in schedule.buckets]
        cells = [torch.zeros_like(h) for h in history] if cell == "lstm" else None
        saved: list[list[tuple[torch.Tensor, tuple[torch.Tensor, ...]] | None]] = []  # per step and bucket
        for step, row in enumerate(plan):
            record: list[tuple[torch.Tensor, tuple[torch.Tensor, ...]] | None] = []
            for q, entry in enumerate(row):
                if entry is None:
                    record.append(None)
                    continue
                a, e, gather, scatter, time = entry
                k = active[time]
                w, b = params[2 * q], params[2 * q + 1]
                h_prev = history[q][a:e, :, step, :k]
                xs = torch.cat([flat[:, :k].index_select(0, gather).view(e - a, -1, k), h_prev], 1)
                pre = torch.baddbmm(b[a:e].unsqueeze(2), w[a:e], xs)
                new = torch.empty_like(h_prev)
                c_prev = cells[q][a:e, :, step, :k] if cells is not None else None
                c_new = torch.empty_like(h_prev) if cells is not None else None
                keep_step = _forward_cell(cell, pre, h_prev, c_prev, new, c_new)
                history[q][a:e, :, step + 1, :k] = new
                if cells is not None and c_new is not None:
                    cells[q][a:e, :, step + 1, :k] = c_new
                flat[:, :k].index_add_(0, scatter, new.view(-1, k))
                record.append((xs, keep_step) if keep else None)
            saved.append(record)
        if keep:
            ctx.schedule, ctx.cell, ctx.active, ctx.saved_steps, ctx.inputs = schedule, cell, active, saved, inputs
            ctx.history, ctx.cells = history, cells
            ctx.save_for_backward(*params)
        return layer

    @staticmethod
    def backward(ctx, d_layer):  # noqa: D102
        schedule, cell, saved, active = ctx.schedule, ctx.cell, ctx.saved_steps, ctx.active
        params = ctx.saved_tensors
        steps, _, batch = d_layer.shape
        units = schedule.units
        plan = schedule.plan(steps, d_layer.device)
        grad = d_layer.contiguous().clone()
        flat = grad.view(steps * (units + 2), batch)
        grads = [torch.zeros_like(p) for p in params]
        total = len(plan)
        carry = [d_layer.new_zeros(len(b.levels), b.hidden, total + 1, batch) for b in schedule.buckets]
        carry_c = [torch.zeros_like(c) for c in carry] if cell == "lstm" else None
        for step in range(total - 1, -1, -1):
            for q, entry in enumerate(plan[step]):
                if entry is None:
                    continue
                a, e, gather, scatter, time = entry
                k = active[time]
                xs, keep_step = saved[step][q]
                w = params[2 * q]
                h_prev = ctx.history[q][a:e, :, step, :k]
                dh = flat[:, :k].index_select(0, scatter).view(e - a, -1, k).add_(carry[q][a:e, :, step + 1, :k])
                dc = carry_c[q][a:e, :, step + 1, :k] if carry_c is not None else None
                c_prev = ctx.cells[q][a:e, :, step, :k] if carry_c is not None else None
                d_pre, direct, dc_prev = _backward_cell(cell, dh, dc, keep_step, h_prev, c_prev)
                grads[2 * q][a:e].baddbmm_(d_pre, xs.transpose(1, 2))
                grads[2 * q + 1][a:e] += d_pre.sum(2)
                d_in = torch.bmm(w[a:e].transpose(1, 2), d_pre)
                width = d_in.shape[1] - h_prev.shape[1]
                dh_prev = d_in[:, width:]
                if direct is not None:
                    dh_prev = dh_prev + direct
                carry[q][a:e, :, step, :k] = dh_prev
                if dc_prev is not None:
                    carry_c[q][a:e, :, step, :k] = dc_prev
                flat[:, :k].index_add_(0, gather, d_in[:, :width].reshape(-1, k))
        return None, None, None, None, grad[:, :ctx.inputs], *grads


def wavefront(cell: str, x: torch.Tensor, params: Sequence[torch.Tensor], schedule: Schedule,
              active: Sequence[int] | None = None) -> torch.Tensor:
    """Every layer output of a cohort, ``(T, units + 2, B)``, for embedded inputs ``x`` of shape
    ``(T, input units, B)`` (they occupy the first rows). ``params`` holds each bucket's combined matrix
    ``W (n, G'·H, I + H)`` and bias ``(n, G'·H)`` in turn (:func:`combine`)."""
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}; choose from {sorted(GATES)}")
    steps, _, batch = x.shape
    act = [batch] * steps if active is None else [int(k) for k in active]
    if len(act) != steps or any(not 0 < k <= batch for k in act) or any(a < b for a, b in zip(act, act[1:], strict=False)):
        raise ValueError(f"active must give, for each of the {steps} steps, a non-increasing count in [1, {batch}]")
    keep = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))
    return _Wavefront.apply(schedule, cell, act, keep, x, *params)
