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

from collections.abc import Sequence
from dataclasses import dataclass

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
        levels = self.level.tolist()
        self.levels = levels
        if levels != sorted(levels):
            raise ValueError("bucket blocks must be sorted by level")

    def active(self, step: int, steps: int) -> tuple[int, int]:
        """The block range ``[a, e)`` whose time ``step − level`` lies in ``[0, steps)``."""
        import bisect

        return bisect.bisect_left(self.levels, step - steps + 1), bisect.bisect_right(self.levels, step)

    def to(self, device: torch.device | str) -> Bucket:
        return Bucket(self.level.to(device), self.inputs.to(device), self.outputs.to(device), self.hidden)


def _forward_cell(cell: str, gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None):
    """New hidden (and cell) state and what the backward needs, for ``gi``/``gh`` of shape ``(n, G·H, k)``."""
    hid = h.shape[1]
    if cell == "gru":
        rz = torch.sigmoid(gh[:, :2 * hid] + gi[:, :2 * hid])
        ghn = gh[:, 2 * hid:]
        n = torch.tanh(torch.addcmul(gi[:, 2 * hid:], rz[:, :hid], ghn))
        new = torch.addcmul(n, rz[:, hid:], h - n)
        return new, None, (rz, n, ghn)
    if cell == "lstm":
        pre = gh.add_(gi)
        acts = torch.empty_like(pre)
        torch.sigmoid(pre[:, :2 * hid], out=acts[:, :2 * hid])
        torch.tanh(pre[:, 2 * hid:3 * hid], out=acts[:, 2 * hid:3 * hid])
        torch.sigmoid(pre[:, 3 * hid:], out=acts[:, 3 * hid:])
        c_new = torch.addcmul(acts[:, hid:2 * hid] * c, acts[:, :hid], acts[:, 2 * hid:3 * hid])
        tc = torch.tanh(c_new)
        return acts[:, 3 * hid:] * tc, c_new, (acts, tc)
    pre = gh.add_(gi)
    new = torch.relu_(pre) if cell == "rnn-relu" else torch.tanh_(pre)
    return new, None, (new,)


def _backward_cell(cell: str, dh: torch.Tensor, dc: torch.Tensor | None, saved: tuple, h: torch.Tensor,
                   c: torch.Tensor | None):
    """``(dgi, dgh, dh_prev_direct, dc_prev)`` of one step; ``dh_prev`` also gets ``W_hhᵀ dgh`` (caller)."""
    hid = dh.shape[1]
    if cell == "gru":
        rz, n, ghn = saved
        r, z = rz[:, :hid], rz[:, hid:]
        dnp = dh * (1 - z) * (1 - n * n)
        dgh = torch.empty(dh.shape[0], 3 * hid, dh.shape[2], dtype=dh.dtype, device=dh.device)
        torch.mul(dnp * ghn, r * (1 - r), out=dgh[:, :hid])
        torch.mul(dh * (h - n), z * (1 - z), out=dgh[:, hid:2 * hid])
        torch.mul(dnp, r, out=dgh[:, 2 * hid:])
        dgi = dgh.clone()
        dgi[:, 2 * hid:] = dnp
        return dgi, dgh, dh * z, None
    if cell == "lstm":
        acts, tc = saved
        i, f, g, o = acts[:, :hid], acts[:, hid:2 * hid], acts[:, 2 * hid:3 * hid], acts[:, 3 * hid:]
        dc_t = torch.addcmul(dc, dh * o, 1 - tc * tc)
        d = torch.empty_like(acts)
        torch.mul(dc_t * g, i * (1 - i), out=d[:, :hid])
        torch.mul(dc_t * c, f * (1 - f), out=d[:, hid:2 * hid])
        torch.mul(dc_t * i, 1 - g * g, out=d[:, 2 * hid:3 * hid])
        torch.mul(dh * tc, o * (1 - o), out=d[:, 3 * hid:])
        return d, d, None, dc_t * f
    (new,) = saved
    d = dh * (new > 0) if cell == "rnn-relu" else dh * (1 - new * new)
    return d, d, None, None


class _Wavefront(torch.autograd.Function):
    @staticmethod
    def forward(ctx, plan, x, *params):  # noqa: D102
        cell, buckets, active = plan["cell"], plan["buckets"], plan["active"]
        steps, inputs, batch = x.shape
        units = plan["units"]
        layer = x.new_zeros(steps, units + 2, batch)
        layer[:, :inputs] = x
        flat = layer.view(steps * (units + 2), batch)
        hidden = [x.new_zeros(len(b.levels), b.hidden, batch) for b in buckets]
        cells = [torch.zeros_like(h) for h in hidden] if cell == "lstm" else [None] * len(buckets)
        saved: list[list] = []
        for step in range(steps + plan["depth"] - 1):
            record = []
            for q, bucket in enumerate(buckets):
                a, e = bucket.active(step, steps)
                if a == e:
                    record.append(None)
                    continue
                w_ih, w_hh, b_ih, b_hh = params[4 * q:4 * q + 4]
                shift = ((step - bucket.level[a:e]) * (units + 2)).unsqueeze(1)
                k = active[step - bucket.levels[e - 1]]
                gather = (bucket.inputs[a:e] + shift).reshape(-1)
                xs = flat[:, :k].index_select(0, gather).view(e - a, -1, k)
                h_prev = hidden[q][a:e, :, :k].clone()
                c_prev = cells[q][a:e, :, :k].clone() if cell == "lstm" else None
                gi = torch.baddbmm(b_ih[a:e].unsqueeze(2), w_ih[a:e], xs)
                gh = torch.baddbmm(b_hh[a:e].unsqueeze(2), w_hh[a:e], h_prev)
                new, c_new, keep = _forward_cell(cell, gi, gh, h_prev, c_prev)
                hidden[q][a:e, :, :k] = new
                if c_new is not None:
                    cells[q][a:e, :, :k] = c_new
                scatter = (bucket.outputs[a:e] + shift).reshape(-1)
                flat[:, :k].index_add_(0, scatter, new.reshape(-1, k))
                record.append((a, e, k, xs, h_prev, c_prev, keep))
            saved.append(record)
        ctx.plan, ctx.saved_steps, ctx.inputs = plan, saved, inputs
        ctx.save_for_backward(*params)
        return layer

    @staticmethod
    def backward(ctx, d_layer):  # noqa: D102
        plan, saved = ctx.plan, ctx.saved_steps
        params = ctx.saved_tensors
        cell, buckets = plan["cell"], plan["buckets"]
        steps, _, batch = d_layer.shape
        units = plan["units"]
        grad = d_layer.contiguous().clone()
        flat = grad.view(steps * (units + 2), batch)
        grads = [torch.zeros_like(p) for p in params]
        carry = [d_layer.new_zeros(len(b.levels), b.hidden, batch) for b in buckets]
        carry_c = [torch.zeros_like(c) for c in carry] if cell == "lstm" else [None] * len(buckets)
        for step in range(len(saved) - 1, -1, -1):
            for q, bucket in enumerate(buckets):
                record = saved[step][q]
                if record is None:
                    continue
                a, e, k, xs, h_prev, c_prev, keep = record
                w_ih, w_hh = params[4 * q], params[4 * q + 1]
                shift = ((step - bucket.level[a:e]) * (units + 2)).unsqueeze(1)
                scatter = (bucket.outputs[a:e] + shift).reshape(-1)
                dh = flat[:, :k].index_select(0, scatter).view(e - a, -1, k).add_(carry[q][a:e, :, :k])
                dc = carry_c[q][a:e, :, :k] if cell == "lstm" else None
                dgi, dgh, direct, dc_prev = _backward_cell(cell, dh, dc, keep, h_prev, c_prev)
                gw_ih, gw_hh, gb_ih, gb_hh = grads[4 * q:4 * q + 4]
                gw_ih[a:e].baddbmm_(dgi, xs.transpose(1, 2))
                gw_hh[a:e].baddbmm_(dgh, h_prev.transpose(1, 2))
                gb_ih[a:e] += dgi.sum(2)
                gb_hh[a:e] += dgh.sum(2)
                dh_prev = torch.bmm(w_hh[a:e].transpose(1, 2), dgh)
                if direct is not None:
                    dh_prev += direct
                carry[q][a:e, :, :k] = dh_prev
                if dc_prev is not None:
                    carry_c[q][a:e, :, :k] = dc_prev
                gather = (bucket.inputs[a:e] + shift).reshape(-1)
                dx = torch.bmm(w_ih[a:e].transpose(1, 2), dgi).reshape(-1, k)
                flat[:, :k].index_add_(0, gather, dx)
        return None, grad[:, :ctx.inputs], *grads


def wavefront(cell: str, x: torch.Tensor, params: Sequence[torch.Tensor], buckets: Sequence[Bucket], *,
              units: int, depth: int, active: Sequence[int] | None = None) -> torch.Tensor:
    """Every layer output of a cohort, ``(T, units + 2, B)``, for embedded inputs ``x`` of shape
    ``(T, input units, B)`` (they occupy the first rows). ``params`` holds ``W_ih (n, G·H, I)``,
    ``W_hh (n, G·H, H)``, ``b_ih (n, G·H)`` and ``b_hh (n, G·H)`` of every bucket in turn; ``depth`` is
    one more than the largest level."""
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}; choose from {sorted(GATES)}")
    steps, _, batch = x.shape
    act = [batch] * steps if active is None else [int(k) for k in active]
    if len(act) != steps or any(not 0 < k <= batch for k in act) or any(a < b for a, b in zip(act, act[1:], strict=False)):
        raise ValueError(f"active must give, for each of the {steps} steps, a non-increasing count in [1, {batch}]")
    plan = {"cell": cell, "buckets": list(buckets), "active": act, "units": units, "depth": depth}
    return _Wavefront.apply(plan, x, *params)
