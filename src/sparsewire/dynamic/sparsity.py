"""Dynamic sparse training as a plug-in for :func:`sparsewire.training.train`.

Every ``update_every`` optimizer steps each masked layer drops the fraction ``drop_fraction(t)`` of its
kept weights with the smallest magnitude and grows as many new ones (SET: at random; RigL: where the
dense gradient is largest); new weights start at zero, with their optimizer state (momentum, Adam moments)
reset. Layer densities never change. ``drop_fraction(t)`` is cosine-annealed to 0 over ``anneal_steps``
(Evci et al. 2020) unless ``schedule="constant"``.

Updates stop after ``stop_step`` optimizer steps or ``freeze_epoch`` epochs: the mask is *frozen*, the
experiment of Van Gelder, Wortsman & Ehsani (2020, "Deconstructing the Structure of Sparse Neural
Networks"), who find that the structure a dynamic sparse algorithm settles on emerges within about the
first epoch. A snapshot of the masks is kept at the end of every epoch.

    dyn = DynamicSparsity(masks, "rigl", total_steps=epochs * steps_per_epoch(len(x), batch_size))
    train(model, data, config, masks=masks, **dyn.hooks())   # post_step= and on_epoch=
    dyn.snapshots  # [mask dict after epoch 1, after epoch 2, ...]

``freeze_epoch`` and the snapshots rely on ``on_epoch`` being called; ``stop_step`` needs only ``post_step``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from sparsewire.dynamic.base import DynamicSparsityError, GrowthRule, check_drop_fraction, drop_smallest
from sparsewire.dynamic.rigl import RigL
from sparsewire.dynamic.set import SET
from sparsewire.masks import Masks

ALGORITHMS: dict[str, type[GrowthRule]] = {"set": SET, "rigl": RigL}
Schedule = Literal["cosine", "constant"]


def get_algorithm(name: str | GrowthRule) -> GrowthRule:
    """A growth rule by name (``"set"``, ``"rigl"``) or the rule itself."""
    if isinstance(name, GrowthRule):
        return name
    if name not in ALGORITHMS:
        raise DynamicSparsityError(f"unknown dynamic sparse algorithm {name!r}; choose from {sorted(ALGORITHMS)}")
    return ALGORITHMS[name]()


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Optimizer steps in one epoch of :func:`sparsewire.training.train` (the last batch may be short)."""
    return math.ceil(n_examples / batch_size)


@dataclass(frozen=True)
class Update:
    """One mask update: the step, the drop fraction used and the connections replaced (all layers)."""

    step: int
    epoch: int
    drop_fraction: float
    replaced: int


class DynamicSparsity:
    """Drop-and-grow mask updates for the masked layers of a model (see the module doc).

    Args:
        masks: the model's masks (already sparse, e.g. from :func:`sparsewire.dynamic.sparse_init`).
        algorithm: ``"set"``, ``"rigl"`` or a :class:`GrowthRule`.
        total_steps: optimizer steps of the whole training run (horizon of the cosine schedule).
        update_every: optimizer steps between mask updates.
        drop_fraction: initial fraction of each layer's kept weights replaced per update, in [0, 1).
        schedule: ``"cosine"`` (anneal to 0 over ``anneal_steps``, default ``total_steps``) or ``"constant"``.
        stop_step: no update after this many optimizer steps (``None``: no limit).
        freeze_epoch: no update after this many epochs (``0``: never update, a static sparse network).
        seed: seed of the random growth of SET.
    """

    def __init__(
        self,
        masks: Masks,
        algorithm: str | GrowthRule,
        *,
        total_steps: int,
        update_every: int = 100,
        drop_fraction: float = 0.3,
        schedule: Schedule = "cosine",
        anneal_steps: int | None = None,
        stop_step: int | None = None,
        freeze_epoch: int | None = None,
        seed: int = 0,
    ) -> None:
        self.masks = masks
        self.algorithm = get_algorithm(algorithm)
        self.drop_fraction = check_drop_fraction(drop_fraction)
        if schedule not in ("cosine", "constant"):
            raise DynamicSparsityError(f"unknown drop schedule {schedule!r}; choose 'cosine' or 'constant'")
        for label, value, low in [("total_steps", total_steps, 1), ("update_every", update_every, 1),
                                  ("anneal_steps", anneal_steps, 1), ("stop_step", stop_step, 0),
                                  ("freeze_epoch", freeze_epoch, 0)]:
            if value is not None and (not isinstance(value, int) or value < low):
                raise DynamicSparsityError(f"{label} must be an integer >= {low}, got {value!r}")
        self.schedule = schedule
        self.total_steps = total_steps
        self.update_every = update_every
        self.anneal_steps = anneal_steps or total_steps
        self.stop_step = stop_step
        self.freeze_epoch = freeze_epoch
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0
        self.epoch = 0
        self.initial = masks.state()
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.updates: list[Update] = []

    # ------------------------------------------------------------------ schedule
    def fraction_at(self, step: int) -> float:
        """The drop fraction at optimizer step ``step`` (0 once the annealing horizon is passed)."""
        if self.schedule == "constant":
            return self.drop_fraction
        if step >= self.anneal_steps:
            return 0.0
        return self.drop_fraction / 2 * (1 + math.cos(math.pi * step / self.anneal_steps))

    @property
    def frozen(self) -> bool:
        """Whether the masks are frozen (the stop step or the freeze epoch has been reached)."""
        return (self.stop_step is not None and self.step >= self.stop_step) or (
            self.freeze_epoch is not None and self.epoch >= self.freeze_epoch)

    # ------------------------------------------------------------------ hooks for train()
    def hooks(self) -> dict[str, Callable[..., None]]:
        """``post_step`` and ``on_epoch`` keyword arguments for :func:`sparsewire.training.train`."""
        return {"post_step": self.post_step, "on_epoch": self.on_epoch}

    def post_step(self, optimizer: torch.optim.Optimizer | None = None) -> None:
        """Count one optimizer step; every ``update_every`` steps (unless frozen) update the masks."""
        if self.frozen:
            self.step += 1
            return
        self.step += 1
        if self.step % self.update_every == 0:
            self.update(self.fraction_at(self.step), optimizer)

    def on_epoch(self, epoch: int, model: nn.Module | None = None) -> None:
        """Record the end of epoch ``epoch`` and a snapshot of the masks."""
        self.epoch = epoch
        self.snapshots.append(self.masks.state())

    # ------------------------------------------------------------------ the update
    @torch.no_grad()
    def update(self, fraction: float, optimizer: torch.optim.Optimizer | None = None) -> Update:
        """Replace ``round(fraction · kept)`` connections in every masked layer now."""
        fraction = check_drop_fraction(fraction)
        new, replaced = {}, 0
        for name, param, mask in self.masks.parameters():
            kept = int(mask.sum())
            k = round(fraction * kept)
            if k == 0:
                continue
            remaining = drop_smallest(param, mask, k)
            grown = self.algorithm.grow(param, ~remaining, k, self.generator)
            new[name] = remaining | grown
            param[grown] = 0.0
            if optimizer is not None:
                _reset_state(optimizer, param, grown)
            replaced += int((grown & ~mask).sum())
        if new:
            self.masks.update(new)
        record = Update(step=self.step, epoch=self.epoch, drop_fraction=fraction, replaced=replaced)
        self.updates.append(record)
        return record

    def replaced_per_epoch(self) -> list[int]:
        """Connections that changed in each epoch (index 0 = epoch 1), from the recorded updates."""
        out = [0] * max(self.epoch, 1 + max((u.epoch for u in self.updates), default=-1))
        for u in self.updates:
            out[u.epoch] += u.replaced
        return out


def _reset_state(optimizer: torch.optim.Optimizer, param: torch.Tensor, where: torch.Tensor) -> None:
    """Zero the optimizer's per-weight state (momentum, Adam moments) of newly grown weights."""
    for value in optimizer.state.get(param, {}).values():
        if isinstance(value, torch.Tensor) and value.shape == param.shape:
            value[where] = 0
