"""A cohort of graph-built recurrent classifiers (:class:`~sparsewire.models.recurrent.GraphRecurrentClassifier`).

Each member is an embedding feeding a :class:`~sparsewire.graphs.recurrent.GraphRNN`: layer ``j`` of its
layered graph is the sum of the output sequences of one recurrent block per incoming path ``i → j``
(``i = −1`` for the input). The cohort computes *level by level across all members*: level ``j`` gathers
the inputs of every member's blocks into layer ``j``, does their input projections as one batched product
and runs all their recurrences together (:func:`~sparsewire.cohorts.recurrence.recurrence`), then sums the
blocks of each member into its layer ``j``. A member with fewer layers simply has no blocks at the deeper
levels, so work follows the real number of blocks; blocks are padded only to the largest layer of their
level (padded units stay exactly zero). The read-out gathers each member's read-out layers at the read
step and applies all read-out matrices in one batched product.

Why this packing (measured in ``benchmarks/cohort_throughput.py``): on a CPU, a small recurrent block
alone is all per-call overhead (a 45-node GRU network is ~50 ``nn.GRU`` calls per batch, each a loop
over ~45 steps of tiny kernels); stacking the blocks of one level turns ~50·N of those loops into one loop
per level with ``baddbmm`` over all blocks, and the hand-written backward keeps memory (and cache traffic)
to the gate activations. Block-diagonal sparse products were not used: per step they cost a sparse-dense
product whose setup exceeds the few thousand multiply-adds of a level.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.cohorts.base import Cohort
from sparsewire.cohorts.layout import Layout, Slot
from sparsewire.cohorts.wavefront import GATES, Bucket, Schedule, combine, wavefront

if TYPE_CHECKING:
    from sparsewire.models.recurrent import GraphRecurrentClassifier

INPUT = -1  # source "layer" of the input block: the embedded tokens


def _member(model: nn.Module) -> GraphRecurrentClassifier:
    """``model`` as a cohort member: a :class:`~sparsewire.models.recurrent.GraphRecurrentClassifier`."""
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    if not isinstance(model, GraphRecurrentClassifier):
        raise TypeError(f"a recurrent cohort takes GraphRecurrentClassifier members, got {type(model).__name__}")
    return model


def _member_spec(model: GraphRecurrentClassifier) -> tuple[str, list[int], list[tuple[int, int]], list[int], int, int]:
    """(cell, layer sizes, blocks (source, target) with INPUT → 0 first, read-out layers, input size, classes)."""
    rnn = model.graph_rnn
    sizes = list(rnn.structure.sizes)
    blocks = [(INPUT, 0)] + [(source, target) for source, target in rnn.structure.blocks]
    return rnn.cell, sizes, blocks, sorted(int(j) for j in rnn.outputs), rnn.input_size, rnn.output_size


def partition_sizes(sizes: Sequence[int], overhead: float) -> list[list[int]]:
    """Groups of indices into ``sizes`` (contiguous in sorted order) minimising
    ``Σ_groups len(group)·max(group sizes) + overhead·groups``: the padded work of one level plus a fixed
    cost per recurrence call (exact, by dynamic programming over the sorted sizes)."""
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    values = [sizes[i] for i in order]
    best = [0.0] + [float("inf")] * len(values)
    cut = [0] * (len(values) + 1)
    for end in range(1, len(values) + 1):
        for start in range(end):
            if start and values[start - 1] == values[start]:
                continue  # equal sizes never split
            cost = best[start] + (end - start) * values[end - 1] + overhead
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups, end = [], len(values)
    while end:
        groups.append(order[cut[end]:end])
        end = cut[end]
    return groups[::-1]


def _block_name(source: int, target: int) -> str:
    return "graph_rnn.input" if source == INPUT else f"graph_rnn.paths.{source}_{target}"


class RecurrentCohort(Cohort):
    """N :class:`~sparsewire.models.recurrent.GraphRecurrentClassifier` members of one cell type as one module.

    ``forward(tokens, lengths)`` takes the shared right-padded batch ``(B, T)`` and returns ``(N, B, C)``
    logits, member ``n`` at ``[n]``, equal to ``members[n](tokens, lengths)`` (tested to 1e-5, gradients
    too). Members may differ in graph, size, depth, embedding size and initialisation; they must share the
    cell, the vocabulary, the number of classes and the read-out rule.
    """

    bucket_overhead: float = 48.0
    """Padded hidden units one more recurrence call per level is worth (see :func:`partition_sizes`)."""

    emb: nn.Parameter  # packed parameters (registered by Cohort)
    out: nn.Parameter
    outb: nn.Parameter

    def __init__(self, members: Sequence[nn.Module]) -> None:
        networks = [_member(m) for m in members]
        specs = [_member_spec(m) for m in networks]
        cells = {s[0] for s in specs}
        if len(cells) != 1:
            raise ValueError(f"a recurrent cohort needs one cell type, got {sorted(cells)}")
        self.cell = cells.pop()
        gates = GATES[self.cell]
        classes = {s[5] for s in specs}
        vocab = {int(m.vocab_size) for m in networks}
        rules = {getattr(m, "readout", "last-valid") for m in networks}
        embedded = {m.embedding is not None for m in networks}
        shared: list[tuple[str, Collection[object]]] = [("number of classes", classes), ("vocabulary", vocab),
                                                        ("read-out", rules), ("embedding presence", embedded)]
        for what, values in shared:
            if len(values) != 1:
                raise ValueError(f"cohort members must share the {what}, got {sorted(map(str, values))}")
        if any(m.embedding is not None and m.embedding.padding_idx not in (None, 0) for m in networks):
            raise ValueError("embeddings must use padding_idx 0 (or none)")
        self.classes, self.vocab, self.readout = classes.pop(), vocab.pop(), rules.pop()
        self.embedded = embedded.pop()
        first_embedding = networks[0].embedding
        self.padding_zero = first_embedding is not None and first_embedding.padding_idx == 0

        n = len(members)
        inputs = [s[4] for s in specs]
        layers = [s[1] for s in specs]
        self.input_width = max(inputs)
        slots: list[Slot] = []
        shapes: dict[str, tuple[int, ...]] = {}
        if self.embedded:
            shapes["emb"] = (n, self.vocab, self.input_width)
            slots += [Slot(m, "embedding.weight", "emb", m, (self.vocab, inputs[m])) for m in range(n)]

        # Units of the layer buffer: member m's input at m·E_max, then every member's layers in turn.
        offset, cursor = {}, n * self.input_width
        for m in range(n):
            offset[(m, INPUT)] = m * self.input_width
            for j, size in enumerate(layers[m]):
                offset[(m, j)] = cursor
                cursor += size
        self.units, self.depth = cursor, max(len(sizes) for sizes in layers)
        zero = self.units

        def units(m: int, layer: int, width: int, size: int, pad: int = zero) -> list[int]:
            return [offset[(m, layer)] + u for u in range(size)] + [pad] * (width - size)

        # Buckets: blocks of every member and level grouped by hidden size (partition_sizes), sorted by level.
        blocks = [(m, src, tgt) for m in range(n) for src, tgt in specs[m][2]]
        self._buckets: list[Bucket] = []
        for q, group in enumerate(partition_sizes([layers[m][tgt] for m, _, tgt in blocks], self.bucket_overhead)):
            members_blocks = sorted((blocks[i] for i in group), key=lambda b: (b[2], b[0], b[1]))
            size_in = [inputs[m] if src == INPUT else layers[m][src] for m, src, _ in members_blocks]
            hmax, imax = max(layers[m][tgt] for m, _, tgt in members_blocks), max(size_in)
            for row, ((m, src, tgt), i) in enumerate(zip(members_blocks, size_in, strict=True)):
                h, base = layers[m][tgt], _block_name(src, tgt)
                slots += [Slot(m, f"{base}.weight_ih_l0", f"ih{q}", row, (gates, h, i)),
                          Slot(m, f"{base}.weight_hh_l0", f"hh{q}", row, (gates, h, h)),
                          Slot(m, f"{base}.bias_ih_l0", f"bih{q}", row, (gates, h)),
                          Slot(m, f"{base}.bias_hh_l0", f"bhh{q}", row, (gates, h))]
            rows = len(members_blocks)
            shapes |= {f"ih{q}": (rows, gates, hmax, imax), f"hh{q}": (rows, gates, hmax, hmax),
                       f"bih{q}": (rows, gates, hmax), f"bhh{q}": (rows, gates, hmax)}
            self._buckets.append(Bucket(
                level=torch.tensor([tgt for _, _, tgt in members_blocks]),
                inputs=torch.tensor([units(m, src, imax, i) for (m, src, _), i in zip(members_blocks, size_in, strict=True)]),
                outputs=torch.tensor([units(m, tgt, hmax, layers[m][tgt], zero + 1) for m, _, tgt in members_blocks]),
                hidden=hmax))
        # Read-outs: one row per (member, read-out layer), padded to the widest read-out layer.
        readouts = [(m, j) for m in range(n) for j in specs[m][3]]
        width = max(layers[m][j] for m, j in readouts)
        for r, (m, j) in enumerate(readouts):
            slots += [Slot(m, f"graph_rnn.outputs.{j}.weight", "out", r, (self.classes, layers[m][j])),
                      Slot(m, f"graph_rnn.outputs.{j}.bias", "outb", r, (self.classes,))]
        shapes |= {"out": (len(readouts), self.classes, width), "outb": (len(readouts), self.classes)}
        self._schedule: Schedule | None = None
        self._readout_units = torch.tensor([units(m, j, width, layers[m][j]) for m, j in readouts])
        self._readout_members = torch.tensor([m for m, _ in readouts])
        super().__init__(members, Layout(tuple(slots), shapes))

    def rebuild(self, members: Sequence[nn.Module]) -> RecurrentCohort:
        return RecurrentCohort(members)

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Member inputs ``(T, N·E_max, B)`` for time-major tokens ``(T, B)``."""
        n = len(self)
        if not self.embedded:
            x = F.one_hot(tokens, self.vocab).to(next(self.parameters()).dtype)  # (T, B, V)
            return x.permute(0, 2, 1).repeat(1, n, 1)
        index = tokens.unsqueeze(0) + (torch.arange(n, device=tokens.device) * self.vocab).view(n, 1, 1)
        x = F.embedding(index, self.emb.reshape(n * self.vocab, -1))  # (N, T, B, E)
        if self.padding_zero:  # like nn.Embedding(padding_idx=0): padding reads zeros and gets no gradient
            x = x * (tokens != 0).unsqueeze(-1).to(x.dtype)
        return x.permute(1, 0, 3, 2).reshape(tokens.shape[0], n * self.input_width, tokens.shape[1])

    def layer_outputs(self, tokens: torch.Tensor, active: list[int] | None = None) -> torch.Tensor:
        """Every member's every layer output, ``(T, units + 2, B)``, for time-major tokens ``(T, B)``."""
        device = tokens.device
        if self._schedule is None or self._buckets[0].level.device != device:
            self._buckets = [b.to(device) for b in self._buckets]
            self._schedule = Schedule(self._buckets, self.units, self.depth)
        params = []
        for q, bucket in enumerate(self._buckets):
            rows = len(bucket.levels)
            params += combine(self.cell, getattr(self, f"ih{q}").reshape(rows, -1, getattr(self, f"ih{q}").shape[-1]),
                              getattr(self, f"hh{q}").reshape(rows, -1, bucket.hidden),
                              getattr(self, f"bih{q}").reshape(rows, -1), getattr(self, f"bhh{q}").reshape(rows, -1))
        return wavefront(self.cell, self._embed(tokens), params, self._schedule, active=active)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (batch, time), got shape {tuple(tokens.shape)}")
        if lengths is None:
            lengths = (tokens != 0).sum(1)
        lengths = lengths.to(tokens.device)
        longest = int(lengths.max())
        batch = tokens.shape[0]
        if self.readout == "last-valid":  # longest first: steps past a string's end are skipped, as if packed
            order = torch.argsort(lengths, descending=True, stable=True)
            tokens, lengths = tokens[order], lengths[order]
            counts = torch.bincount(lengths, minlength=longest + 1).flip(0).cumsum(0).flip(0)
            active, step = counts[1:longest + 1].tolist(), lengths - 1
        else:
            order, active, step = None, None, torch.full_like(lengths, longest - 1)
        layer = self.layer_outputs(tokens[:, :longest].t(), active)
        units = self._readout_units.to(tokens.device)
        columns = torch.arange(batch, device=tokens.device)
        last = layer[step.view(1, 1, -1), units.unsqueeze(-1), columns.view(1, 1, -1)]  # (readouts, width, B)
        logits = torch.baddbmm(self.outb.unsqueeze(2), self.out, last).transpose(1, 2)  # (readouts, B, C)
        out = logits.new_zeros(len(self), batch, self.classes).index_add(0, self._readout_members.to(tokens.device), logits)
        if order is not None:
            out = out[:, torch.argsort(order)]
        return out
