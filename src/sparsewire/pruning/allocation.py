"""Allocation: how many weights each layer keeps, and which (Stier et al. 2021, Sec. 3.2; See et al. 2016).

An :class:`Allocation` turns scores into new masks at a target ``compression``: the fraction of all masked
weights removed afterwards, already-pruned ones included. Each allocation works out its own per-layer
counts from the masks it is given; already-pruned weights stay pruned (a layer can only lose weights) and
higher scores are kept.

* **class-blinded** (:class:`ClassBlinded`): one threshold over all prunable layers (global ranking).
* **class-uniform** (:class:`ClassUniform`): every layer ends at the same compression, ranking within it.
* **class-distributed** (:class:`ClassDistributed`): each layer's threshold is a multiple of its weight
  spread, i.e. scores divided by the standard deviation σ_l of the layer's surviving weights are ranked
  globally (Han et al. 2015's threshold "quality × σ_l").
* **erk** (:class:`ERK`): per-layer counts from the Erdős–Rényi-Kernel rule (Evci et al. 2020,
  :func:`sparsewire.masks.quotas.erk_counts`): a layer of shape ``(n_out, n_in, *kernel)`` keeps a share
  proportional to ``sum(shape)``, so small layers stay denser; scores are ranked within each layer.
* **N:M** (:class:`NOfM`, e.g. ``"2:4"``): in every group of M consecutive weights along the input dimension
  (the last dimension of a linear weight; the flattened ``in × kernel`` dimension of a conv weight) the N
  highest scores are kept (Mishra et al. 2021; 2:4 is what sparse tensor cores run). The density is fixed
  at N/M, so the compression must be ``1 − N/M``; a trailing partial group keeps at most N.

:func:`class_blinded`, :func:`class_uniform`, :func:`class_distributed` and :func:`erk` are the same rules
for a *relative* step: remove ``amount`` of the weights that remain (e.g. in a subset of the layers).
The choosing itself is :func:`sparsewire.masks.select.highest`, shared with dynamic sparse training.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from sparsewire.masks.fractions import check_fraction
from sparsewire.masks.quotas import erk_counts
from sparsewire.masks.select import highest

__all__ = ["ALLOCATIONS", "Allocation", "ClassBlinded", "ClassDistributed", "ClassUniform", "ERK", "MaskView",
           "NOfM", "class_blinded", "class_distributed", "class_uniform", "erk", "keep_erk", "keep_globally",
           "keep_per_layer", "kept_at", "n_of_m", "nm_allocation", "spread_scaled"]

Scores = Mapping[str, torch.Tensor]


class MaskView(Protocol):
    """What an allocation reads: a :class:`~sparsewire.masks.Masks` or a view of some of its layers."""

    def __getitem__(self, name: str) -> torch.Tensor: ...

    def __iter__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    def parameter(self, name: str) -> nn.Parameter: ...


class Allocation(Protocol):
    """``allocation(scores, masks, compression) -> {name: new bool mask}`` (see the module doc)."""

    def __call__(self, scores: Scores, masks: MaskView, compression: float) -> dict[str, torch.Tensor]: ...


# ---------------------------------------------------------------------------- counts and choosing
def kept_at(compression: float, total: int) -> int:
    """Weights kept of ``total`` at ``compression``: ``total − round(compression · total)``."""
    return total - round(compression * total)


def _alive(masks: MaskView) -> dict[str, int]:
    return {n: int(masks[n].sum()) for n in masks}


def _kept_total(masks: MaskView, compression: float) -> int:
    """Weights kept in all layers at ``compression``, never more than survive now."""
    total = sum(masks[n].numel() for n in masks)
    return min(sum(_alive(masks).values()), kept_at(compression, total))


def _removing(amount: float, alive: int) -> int:
    """Weights kept of ``alive`` after removing ``amount`` of them."""
    amount = check_fraction(amount, "[0, 1]", "amount", "fraction of remaining weights to prune")
    return alive - round(amount * alive)


def keep_globally(scores: Scores, masks: MaskView, keep: int) -> dict[str, torch.Tensor]:
    """Keep the ``keep`` highest scores among the surviving weights of all layers together."""
    names = list(masks)
    alive = torch.cat([masks[n].flatten() for n in names])
    flat = torch.cat([scores[n].flatten().to(alive.device) for n in names])
    kept = highest(flat, alive, keep)
    out, start = {}, 0
    for n in names:
        size = masks[n].numel()
        out[n] = kept[start : start + size].view_as(masks[n])
        start += size
    return out


def keep_per_layer(scores: Scores, masks: MaskView, keep: Mapping[str, int]) -> dict[str, torch.Tensor]:
    """Keep ``keep[name]`` highest scores among each layer's surviving weights."""
    return {n: highest(scores[n], masks[n], keep[n]) for n in masks}


def keep_erk(scores: Scores, masks: MaskView, keep: int) -> dict[str, torch.Tensor]:
    """Keep ``keep`` weights in all, split across layers by the ERK rule, ranking scores within each layer."""
    shapes = {n: tuple(masks[n].shape) for n in masks}
    return keep_per_layer(scores, masks, erk_counts(shapes, keep, _alive(masks)))


def spread_scaled(scores: Scores, masks: MaskView) -> dict[str, torch.Tensor]:
    """``score / σ_l`` with σ_l the standard deviation of layer l's surviving weights (1 if undefined or 0)."""
    scaled = {}
    for n in masks:
        live = masks.parameter(n).detach()[masks[n]]
        sigma = float(live.std()) if live.numel() > 1 else 1.0
        scaled[n] = scores[n] / (sigma if sigma > 0 else 1.0)
    return scaled


# ---------------------------------------------------------------------------- allocations at a compression
@dataclass(frozen=True)
class ClassBlinded:
    """One global threshold: keep the highest scores of all layers together."""

    def __call__(self, scores: Scores, masks: MaskView, compression: float) -> dict[str, torch.Tensor]:
        return keep_globally(scores, masks, _kept_total(masks, compression))


@dataclass(frozen=True)
class ClassUniform:
    """Every layer ends at ``compression`` (or stays where it is if already beyond it)."""

    def __call__(self, scores: Scores, masks: MaskView, compression: float) -> dict[str, torch.Tensor]:
        return keep_per_layer(scores, masks, {n: min(int(masks[n].sum()), kept_at(compression, masks[n].numel()))
                                              for n in masks})


@dataclass(frozen=True)
class ClassDistributed:
    """One global threshold on ``score / σ_l`` (σ_l: std of the layer's surviving weights)."""

    def __call__(self, scores: Scores, masks: MaskView, compression: float) -> dict[str, torch.Tensor]:
        return ClassBlinded()(spread_scaled(scores, masks), masks, compression)


@dataclass(frozen=True)
class ERK:
    """Per-layer counts ∝ ``sum(shape)`` (Erdős–Rényi-Kernel), capped by what each layer has; ranked within it."""

    def __call__(self, scores: Scores, masks: MaskView, compression: float) -> dict[str, torch.Tensor]:
        return keep_erk(scores, masks, _kept_total(masks, compression))


@dataclass(frozen=True)
class NOfM:
    """Keep the ``n`` highest-scoring live weights of every ``m`` consecutive ones along the input dimension."""

    n: int = 2
    m: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.n <= self.m:
            raise ValueError(f"N:M sparsity needs 0 < N <= M, got {self.n}:{self.m}")

    @property
    def density(self) -> float:
        """The density every group ends at: ``n / m``."""
        return self.n / self.m

    def check(self, compression: float) -> None:
        """Refuse a compression other than ``1 − n/m``."""
        if abs(compression - (1 - self.density)) > 1e-9:
            raise ValueError(f"{self.n}:{self.m} pruning keeps {self.density:g} of every group: pass "
                             f"compression {1 - self.density:g}, not {compression:g}")

    def __call__(self, scores: Scores, masks: MaskView, compression: float) -> dict[str, torch.Tensor]:
        self.check(compression)
        return self.select(scores, masks)

    def select(self, scores: Scores, masks: MaskView) -> dict[str, torch.Tensor]:
        """The new masks, whatever the compression. Already-pruned weights stay pruned (a group with fewer
        than ``n`` live weights keeps those)."""
        out = {}
        for name in masks:
            alive = masks[name]
            rows = alive.shape[0]
            flat_alive = alive.reshape(rows, -1)
            width = flat_alive.shape[1]
            pad = -width % self.m
            score = torch.where(flat_alive, scores[name].reshape(rows, -1).to(flat_alive.device).double(),
                                torch.tensor(float("-inf"), dtype=torch.float64, device=flat_alive.device))
            score = torch.nn.functional.pad(score, (0, pad), value=float("-inf")).reshape(rows, -1, self.m)
            keep = torch.zeros_like(score, dtype=torch.bool)
            keep.scatter_(2, score.topk(self.n, dim=2).indices, True)
            out[name] = keep.reshape(rows, -1)[:, :width].reshape(alive.shape) & alive
        return out


# ---------------------------------------------------------------------------- relative steps
def class_blinded(scores: Scores, masks: MaskView, amount: float) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of all remaining weights with one global threshold on the scores."""
    return keep_globally(scores, masks, _removing(amount, sum(_alive(masks).values())))


def class_uniform(scores: Scores, masks: MaskView, amount: float) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of each layer's remaining weights, ranking scores within the layer."""
    return keep_per_layer(scores, masks, {n: _removing(amount, a) for n, a in _alive(masks).items()})


def class_distributed(scores: Scores, masks: MaskView, amount: float) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of all remaining weights, ranking ``score / σ_l`` globally (σ_l: std of live weights)."""
    return class_blinded(spread_scaled(scores, masks), masks, amount)


def erk(scores: Scores, masks: MaskView, amount: float) -> dict[str, torch.Tensor]:
    """Prune ``amount`` of all remaining weights, split across layers by the ERK rule (within-layer ranking)."""
    return keep_erk(scores, masks, _removing(amount, sum(_alive(masks).values())))


def n_of_m(scores: Scores, masks: MaskView, *, n: int = 2, m: int = 4) -> dict[str, torch.Tensor]:
    """Keep the ``n`` highest-scoring live weights of every ``m`` consecutive ones (:meth:`NOfM.select`)."""
    return NOfM(n, m).select(scores, masks)


NM_PATTERN = re.compile(r"^(\d+):(\d+)$")


def nm_allocation(name: str) -> NOfM | None:
    """The N:M allocation named ``"N:M"`` (e.g. ``"2:4"``), ``None`` if ``name`` is not of that form."""
    match = NM_PATTERN.match(name)
    if match is None:
        return None
    return NOfM(int(match[1]), int(match[2]))


ALLOCATIONS: dict[str, Allocation] = {
    "class-blinded": ClassBlinded(),
    "class-uniform": ClassUniform(),
    "class-distributed": ClassDistributed(),
    "erk": ERK(),
}
"""Allocation name → allocation (``"N:M"`` names are parsed by :func:`nm_allocation`); add yours here."""


DISTRIBUTIONS: dict[str, str] = {"uniform": "class-uniform", "erk": "erk"}
"""Layer densities of sparse training (:mod:`sparsewire.dynamic.init`: ``uniform``, ``erk``) → the allocation
that gives them, so that a pruned mask has the layer densities of a random sparse start."""


def keep_at_density(scores: Scores, masks: MaskView, density: float, distribution: str = "uniform") -> dict[str, torch.Tensor]:
    """New masks keeping ``density`` of all masked weights, the highest ``scores`` among the survivors, with
    the layer densities of ``distribution`` (``uniform``: every layer at ``density``, class-uniform; ``erk``:
    the ERK split). Already-pruned weights stay pruned."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; choose from {sorted(DISTRIBUTIONS)}")
    density = check_fraction(density, "(0, 1]", "density", "fraction of weights kept")
    return ALLOCATIONS[DISTRIBUTIONS[distribution]](scores, masks, 1.0 - density)
