"""How many weights each layer gets: Erdős–Rényi-Kernel shares and capped proportional splits.

One implementation for pruning (the ERK allocation, :mod:`sparsewire.pruning.allocation`) and dynamic
sparse training (ERK initial masks, :mod:`sparsewire.dynamic.init`; SNFS's redistribution of regrown
connections, :mod:`sparsewire.dynamic.snfs`).

ERK (Evci et al. 2020, after the Erdős–Rényi allocation of Mocanu et al. 2018): a layer of shape
``(n_out, n_in, *kernel)`` gets a share of the kept weights proportional to ``sum(shape)``, i.e. a density
proportional to ``sum(shape) / prod(shape)``, so small layers stay denser. A layer whose share would pass
its cap (everything it has) keeps all of it and the rest is re-split among the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from sparsewire.masks.select import SelectionError

__all__ = ["apportion", "erk_counts", "erk_shares"]


def erk_shares(shapes: Mapping[str, Sequence[int]], total: float, caps: Mapping[str, float]) -> dict[str, float]:
    """Real-valued shares of ``total`` kept weights, ∝ ``sum(shape)``, none above its cap (see the module doc).

    A capped layer's share is exactly its cap (what it still has, or its size); the others' shares
    ``budget · sum(shape) / Σ sum(shape)`` sum to what is left. ``total`` must not pass the sum of the caps.
    """
    fixed: dict[str, float] = {}
    while True:
        free = [n for n in shapes if n not in fixed]
        budget = total - sum(fixed.values())
        weight = sum(sum(shapes[n]) for n in free)
        share = {n: budget * sum(shapes[n]) / weight if weight else 0.0 for n in free}
        over = [n for n in free if share[n] > caps[n]]
        if not over:
            return {n: fixed[n] if n in fixed else share[n] for n in shapes}
        fixed.update({n: caps[n] for n in over})


def erk_counts(shapes: Mapping[str, Sequence[int]], total: int, caps: Mapping[str, int]) -> dict[str, int]:
    """Integer ERK shares: :func:`erk_shares` rounded by the largest-remainder rule, so they sum to ``total``
    exactly and none passes its cap."""
    if not 0 <= total <= sum(caps.values()):
        raise SelectionError(f"cannot keep {total} weights: {sum(caps.values())} remain")
    shares = erk_shares(shapes, total, caps)
    counts = {n: int(s) for n, s in shares.items()}
    rest = total - sum(counts.values())
    for n in sorted(shares, key=lambda n: shares[n] - int(shares[n]), reverse=True):
        if rest <= 0:
            break
        if counts[n] < caps[n]:
            counts[n] += 1
            rest -= 1
    return counts


def apportion(total: int, weights: Mapping[str, float], caps: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` into integer shares proportional to ``weights``, each at most its ``cap``.

    Largest-remainder rounding, so the shares always sum to ``total`` exactly; a share that would pass its
    cap is held at it and the excess goes to the others in proportion to their weights (SNFS's
    redistribution, Dettmers & Zettlemoyer 2019). Zero total weight: shares in proportion to the room left.
    """
    if total < 0 or total > sum(caps.values()):
        raise SelectionError(f"cannot place {total} connections in room for {sum(caps.values())}")
    out = dict.fromkeys(weights, 0)
    remaining = total
    while remaining > 0:
        room = {n: caps[n] - out[n] for n in out if caps[n] > out[n]}
        w = {n: max(float(weights[n]), 0.0) for n in room}
        if not sum(w.values()) > 0:
            w = {n: float(r) for n, r in room.items()}
        scale = remaining / sum(w.values())
        shares = {n: w[n] * scale for n in room}
        add = {n: min(math.floor(shares[n]), room[n]) for n in room}
        left = remaining - sum(add.values())
        for n in sorted(room, key=lambda n: (shares[n] - math.floor(shares[n]), w[n]), reverse=True):
            if left == 0:
                break
            if add[n] < room[n]:
                add[n] += 1
                left -= 1
        for n, a in add.items():
            out[n] += a
        remaining -= sum(add.values())
    return out
