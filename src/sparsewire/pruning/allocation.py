"""Allocation: how many weights each layer loses, given scores (Stier et al. 2021, Sec. 3.2; See et al. 2016).

Every allocation removes ``amount`` — a fraction of the weights that *remain* — and returns new masks.
Already-pruned weights stay pruned. Higher scores are kept.

* **class-blinded**: one threshold over all prunable layers (global ranking of the scores).
* **class-uniform**: every layer loses the same fraction of its remaining weights.
* **class-distributed**: each layer's threshold is a multiple of its weight spread, i.e. scores divided
  by the standard deviation σ_l of the layer's surviving weights are ranked globally (Han et al. 2015's
  threshold "quality × σ_l").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
    flat = torch.where(alive.flatten(), scores.flatten().double(), torch.tensor(float("-inf"), dtype=torch.float64))
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


ALLOCATIONS: dict[str, Allocation] = {
    "class-blinded": class_blinded,
    "class-uniform": class_uniform,
    "class-distributed": class_distributed,
}
