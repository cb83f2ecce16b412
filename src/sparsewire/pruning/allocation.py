"""Allocation: how many weights each layer loses, given scores (Stier et al. 2021, Sec. 3.2; See et al. 2016).

Every allocation removes ``amount`` — a fraction of the weights that *remain* — and returns new masks.
Already-pruned weights stay pruned. Higher scores are kept.

* **class-blinded**: one threshold over all prunable layers (global ranking of the scores).
* **class-uniform**: every layer loses the same fraction of its remaining weights.
* **class-distributed**: each layer's threshold is a multiple of its weight spread, i.e. scores divided
  by the standard deviation σ_l of the layer's surviving weights are ranked globally (Han et al. 2015's
  threshold "quality × σ_l").
* **erk**: per-layer quotas from the Erdős–Rényi-Kernel rule (Evci et al. 2020): a layer of
  shape ``(n_out, n_in, *kernel)`` keeps a share proportional to ``sum(shape)``, i.e. density ∝
  ``sum(shape) / prod(shape)``, so small layers stay denser; scores are ranked within each layer.
* **N:M** (e.g. ``"2:4"``): in every group of M consecutive weights along the input dimension (the last
  dimension of a linear weight; the flattened ``in × kernel`` dimension of a conv weight) the N highest
  scores are kept (Mishra et al. 2021; 2:4 is what sparse tensor cores run). The density is fixed at N/M,
  so ``amount`` is not used; a trailing partial group keeps at most N.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial

import torch

from sparsewire.masks import Masks

Amount = float | Mapping[str, float]
"""Fraction of the remaining weights to prune: one number, or per layer (class-uniform only)."""
Allocation = Callable[[Mapping[str, torch.Tensor], Masks, Amount], dict[str, torch.Tensor]]


def _check_amount(amount: float) -> None:
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount (fraction of remaining weights to prune) must be in [0, 1], got {amount}")


def _keep_top(scores: torch.Tensor, alive: torch.Tensor, keep: int) -> torch.Tensor:
    """Boolean mask keeping the ``keep`` highest scores among ``alive`` entries."""
    flat = torch.where(alive.flatten(), scores.flatten().double(), torch.tensor(float("-inf"), dtype=torch.float64,
                                                                                              device=alive.device))
    new = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    if keep > 0:
        new[torch.topk(flat, keep, sorted=False).indices] = True
    return new.view_as(alive) & alive


def class_blinded(scores: Mapping[str, torch.Tensor], masks: Masks, amount: float) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of all remaining weights with one global threshold on the scores."""
    _check_amount(amount)
    names = list(masks)
    alive = torch.cat([masks[n].flatten() for n in names])
    flat = torch.cat([scores[n].flatten().to(alive.device) for n in names])
    keep = alive.sum().item() - round(amount * alive.sum().item())
    kept = _keep_top(flat, alive, int(keep))
    out, start = {}, 0
    for n in names:
        size = masks[n].numel()
        out[n] = kept[start : start + size].view_as(masks[n])
        start += size
    return out


def class_uniform(scores: Mapping[str, torch.Tensor], masks: Masks, amount: Amount) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of each layer's remaining weights, ranking scores within the layer.

    ``amount`` may also map layer names to per-layer fractions (used to bring layers of different
    current density to one common compression).
    """
    out = {}
    for n in masks:
        layer_amount = amount[n] if isinstance(amount, Mapping) else amount
        _check_amount(layer_amount)
        alive = masks[n]
        remaining = int(alive.sum())
        out[n] = _keep_top(scores[n], alive, remaining - round(layer_amount * remaining))
    return out


def class_distributed(scores: Mapping[str, torch.Tensor], masks: Masks, amount: float) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of all remaining weights, ranking ``score / σ_l`` globally (σ_l: std of live weights)."""
    scaled = {}
    for n in masks:
        alive = masks[n]
        live = masks.parameter(n).detach()[alive]
        sigma = float(live.std()) if live.numel() > 1 else 1.0
        scaled[n] = scores[n] / (sigma if sigma > 0 else 1.0)
    return class_blinded(scaled, masks, amount)


def erk_quotas(shapes: Mapping[str, tuple[int, ...]], alive: Mapping[str, int], keep: int) -> dict[str, int]:
    """Weights to keep per layer: ``keep`` in all, split ∝ ``sum(shape)`` (ERK), never more than is alive.

    Layers whose share would exceed what they still have keep all of it and the rest is re-split among the
    others; integer quotas by the largest-remainder rule, so they sum to ``keep`` exactly.
    """
    if not 0 <= keep <= sum(alive.values()):
        raise ValueError(f"cannot keep {keep} weights: {sum(alive.values())} remain")
    fixed: dict[str, int] = {}
    while True:
        free = [n for n in shapes if n not in fixed]
        budget = keep - sum(fixed.values())
        weight = sum(sum(shapes[n]) for n in free)
        share = {n: budget * sum(shapes[n]) / weight if weight else 0.0 for n in free}
        over = [n for n in free if share[n] > alive[n]]
        if not over:
            break
        fixed.update({n: alive[n] for n in over})
    quotas = {n: int(share[n]) for n in free} | fixed
    rest = keep - sum(quotas.values())
    for n in sorted(free, key=lambda n: share[n] - int(share[n]), reverse=True):
        if rest <= 0:
            break
        if quotas[n] < alive[n]:
            quotas[n] += 1
            rest -= 1
    return quotas


def erk(scores: Mapping[str, torch.Tensor], masks: Masks, amount: float) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of all remaining weights, split across layers by the ERK rule (within-layer ranking)."""
    _check_amount(amount)
    alive = {n: int(masks[n].sum()) for n in masks}
    total = sum(alive.values())
    quotas = erk_quotas({n: tuple(masks[n].shape) for n in masks}, alive, total - round(amount * total))
    return {n: _keep_top(scores[n], masks[n], quotas[n]) for n in masks}


def n_of_m(scores: Mapping[str, torch.Tensor], masks: Masks, amount: Amount | None = None, *, n: int = 2,
           m: int = 4) -> dict[str, torch.Tensor]:
    """Keep the ``n`` highest-scoring live weights of every ``m`` consecutive ones along the input dimension.

    Already-pruned weights stay pruned (a group with fewer than ``n`` live weights keeps those). ``amount`` is
    ignored: the density is ``n / m`` by construction (:func:`sparsewire.pruning.prune` checks the compression).
    """
    if not 0 < n <= m:
        raise ValueError(f"N:M sparsity needs 0 < N <= M, got {n}:{m}")
    out = {}
    for name in masks:
        alive = masks[name]
        rows = alive.shape[0]
        flat_alive = alive.reshape(rows, -1)
        width = flat_alive.shape[1]
        pad = -width % m
        score = torch.where(flat_alive, scores[name].reshape(rows, -1).to(flat_alive.device).double(),
                            torch.tensor(float("-inf"), dtype=torch.float64, device=flat_alive.device))
        score = torch.nn.functional.pad(score, (0, pad), value=float("-inf")).reshape(rows, -1, m)
        keep = torch.zeros_like(score, dtype=torch.bool)
        keep.scatter_(2, score.topk(n, dim=2).indices, True)
        keep = keep.reshape(rows, -1)[:, :width]
        out[name] = keep.reshape(alive.shape) & alive
    return out


NM_PATTERN = re.compile(r"^(\d+):(\d+)$")


def nm_allocation(name: str) -> Allocation | None:
    """The N:M allocation named ``"N:M"`` (e.g. ``"2:4"``), ``None`` if ``name`` is not of that form."""
    match = NM_PATTERN.match(name)
    if match is None:
        return None
    n, m = int(match[1]), int(match[2])
    if not 0 < n <= m:
        raise ValueError(f"N:M sparsity needs 0 < N <= M, got {name!r}")
    allocation = partial(n_of_m, n=n, m=m)
    allocation.density = n / m  # type: ignore[attr-defined]
    return allocation


ALLOCATIONS: dict[str, Allocation] = {
    "class-blinded": class_blinded,
    "class-uniform": class_uniform,
    "class-distributed": class_distributed,
    "erk": erk,
}
