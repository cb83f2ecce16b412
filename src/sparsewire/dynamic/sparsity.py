"""Dynamic sparse training as a plug-in for :func:`sparsewire.training.train`.

An algorithm (:class:`~sparsewire.dynamic.base.MaskUpdater`: SET, RigL, SNFS, DNW) names its drop score,
grow score, per-layer counts and cadence; this class drives it. At each update every masked layer drops
its ``drop`` kept weights of lowest drop score and grows ``grow`` connections of highest grow score
(:mod:`sparsewire.masks.select`); new weights start at zero with their optimizer state (momentum, Adam
moments) reset, except for DNW whose connections keep their latent weight. SET, RigL and DNW keep every
layer's density; SNFS keeps the total. ``drop_fraction(t)`` is cosine-annealed to 0 over ``anneal_steps``
(Evci et al. 2020; SNFS's prune-rate decay has the same form) unless ``schedule="constant"``. Updates come
every ``update_every`` steps (SET, RigL), at the end of every epoch but the last (SNFS) or after every step
(DNW).

Updates stop after ``stop_step`` optimizer steps or ``freeze_epoch`` epochs: the mask is *frozen*, the
experiment of Van Gelder, Wortsman & Ehsani (2020, "Deconstructing the Structure of Sparse Neural
Networks"), who find that the structure a dynamic sparse algorithm settles on emerges within about the
first epoch. Frozen, an algorithm stops reading dense gradients (DNW's latent weights and SNFS's momentum
are dropped): the rest of training is purely sparse. ``dense_gradient_steps`` counts the optimizer steps at
which the algorithm read the gradient of every weight, pruned ones included (SET never, RigL at its updates,
SNFS and DNW at every step), and :meth:`DynamicSparsity.dense_gradient_steps_unfrozen` what the same run
would have read never frozen (:mod:`sparsewire.dynamic.cost` turns both into FLOPs).
A snapshot of the masks is kept at the end of every epoch.

    dyn = DynamicSparsity(masks, "rigl", total_steps=epochs * steps_per_epoch(len(x), batch_size))
    train(model, data, config, masks=masks, **dyn.hooks())   # post_step= and on_epoch=
    dyn.snapshots  # [mask dict after epoch 1, after epoch 2, ...]

``freeze_epoch`` and the snapshots rely on ``on_epoch`` being called; ``stop_step`` needs only ``post_step``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import torch
from torch import nn

from sparsewire.dynamic.base import DynamicSparsityError, MaskUpdater, check_drop_fraction
from sparsewire.dynamic.dnw import DNW
from sparsewire.dynamic.rigl import RigL
from sparsewire.dynamic.set import SET
from sparsewire.dynamic.snfs import SNFS
from sparsewire.masks import Masks
from sparsewire.masks.select import highest, lowest

ALGORITHMS: dict[str, type[MaskUpdater]] = {"set": SET, "rigl": RigL, "snfs": SNFS, "dnw": DNW}
Schedule = Literal["cosine", "constant"]
Rounding = Literal["round", "floor"]


def get_algorithm(name: str | MaskUpdater) -> MaskUpdater:
    """An algorithm by name (``"set"``, ``"rigl"``, ``"snfs"``, ``"dnw"``) or the updater itself."""
    if isinstance(name, MaskUpdater):
        return name
    if name not in ALGORITHMS:
        raise DynamicSparsityError(f"unknown dynamic sparse algorithm {name!r}; choose from {sorted(ALGORITHMS)}")
    return ALGORITHMS[name]()


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Optimizer steps in one epoch of :func:`sparsewire.training.train` (the last batch may be short)."""
    return math.ceil(n_examples / batch_size)


class TrainHooks(TypedDict):
    """The keyword arguments :meth:`DynamicSparsity.hooks` hands to :func:`sparsewire.training.train`."""

    post_step: Callable[[torch.optim.Optimizer], None]
    on_epoch: Callable[[int, nn.Module], None]


@dataclass(frozen=True)
class Update:
    """One mask update: the step, the drop fraction used, the connections replaced (all layers: positions
    kept now that were not before) and the per-layer counts dropped and grown."""

    step: int
    epoch: int
    drop_fraction: float
    replaced: int
    dropped: dict[str, int] = field(default_factory=dict)
    grown: dict[str, int] = field(default_factory=dict)


class DynamicSparsity:
    """Drop-and-grow mask updates for the masked layers of a model (see the module doc).

    Args:
        masks: the model's masks (already sparse, e.g. from :func:`sparsewire.dynamic.sparse_init`).
        algorithm: ``"set"``, ``"rigl"``, ``"snfs"``, ``"dnw"`` or a :class:`MaskUpdater`.
        total_steps: optimizer steps of the whole training run (horizon of the cosine schedule).
        update_every: optimizer steps between mask updates (algorithms of cadence ``"steps"``).
        drop_fraction: initial fraction of each layer's kept weights replaced per update, in [0, 1).
        schedule: ``"cosine"`` (anneal to 0 over ``anneal_steps``, default ``total_steps``) or ``"constant"``.
        stop_step: no update after this many optimizer steps (``None``: no limit).
        freeze_epoch: no update after this many epochs (``0``: never update, a static sparse network).
        seed: seed of the random growth of SET.
        rounding: per-layer count ``round(f · kept)`` or ``floor`` (rigl-torch's ``int(f · kept)``).
    """

    def __init__(
        self,
        masks: Masks,
        algorithm: str | MaskUpdater,
        *,
        total_steps: int,
        update_every: int = 100,
        drop_fraction: float = 0.3,
        schedule: Schedule = "cosine",
        anneal_steps: int | None = None,
        stop_step: int | None = None,
        freeze_epoch: int | None = None,
        seed: int = 0,
        rounding: Rounding = "round",
    ) -> None:
        self.masks = masks
        self.algorithm = get_algorithm(algorithm)
        self.drop_fraction = check_drop_fraction(drop_fraction)
        if schedule not in ("cosine", "constant"):
            raise DynamicSparsityError(f"unknown drop schedule {schedule!r}; choose 'cosine' or 'constant'")
        if rounding not in ("round", "floor"):
            raise DynamicSparsityError(f"unknown rounding {rounding!r}; choose 'round' or 'floor'")
        for label, value, low in [("total_steps", total_steps, 1), ("update_every", update_every, 1),
                                  ("anneal_steps", anneal_steps, 1), ("stop_step", stop_step, 0),
                                  ("freeze_epoch", freeze_epoch, 0)]:
            if value is not None and (not isinstance(value, int) or value < low):
                raise DynamicSparsityError(f"{label} must be an integer >= {low}, got {value!r}")
        self.schedule = schedule
        self.rounding = rounding
        self.total_steps = total_steps
        self.update_every = update_every
        self.anneal_steps = anneal_steps or total_steps
        self.stop_step = stop_step
        self.freeze_epoch = freeze_epoch
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0
        self.epoch = 0
        self.dense_gradient_steps = 0
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.updates: list[Update] = []
        self._detached = False
        self._optimizer: torch.optim.Optimizer | None = None
        self.algorithm.attach(self)
        self.initial = masks.state()
        if self.frozen:
            self._detach()

    # ------------------------------------------------------------------ schedule
    def fraction_at(self, step: int) -> float:
        """The drop fraction at optimizer step ``step`` (0 once the annealing horizon is passed)."""
        if self.schedule == "constant":
            return self.drop_fraction
        if step >= self.anneal_steps:
            return 0.0
        return self.drop_fraction / 2 * (1 + math.cos(math.pi * step / self.anneal_steps))

    def count(self, fraction: float, kept: int) -> int:
        """Connections a layer with ``kept`` weights drops at ``fraction`` (``rounding``)."""
        return math.floor(fraction * kept) if self.rounding == "floor" else round(fraction * kept)

    @property
    def frozen(self) -> bool:
        """Whether the masks are frozen (the stop step or the freeze epoch has been reached)."""
        return (self.stop_step is not None and self.step >= self.stop_step) or (
            self.freeze_epoch is not None and self.epoch >= self.freeze_epoch)

    @property
    def finished(self) -> bool:
        """Whether all ``total_steps`` optimizer steps have been taken."""
        return self.step >= self.total_steps

    def _detach(self) -> None:
        if not self._detached:
            self._detached = True
            self.algorithm.detach(self)

    def close(self) -> None:
        """End the run: the algorithm drops its hooks and state (done by itself when frozen or finished)."""
        self._detach()

    def _scheduled(self, step: int) -> bool:
        """Whether cadence ``"steps"`` / ``"every-step"`` updates after optimizer step ``step``."""
        cadence = self.algorithm.cadence
        return cadence == "every-step" or (cadence == "steps" and step % self.update_every == 0)

    def dense_gradient_steps_unfrozen(self) -> int:
        """Optimizer steps at which this algorithm reads a dense gradient in the same run never frozen
        (``freeze_epoch=None``; ``stop_step`` kept): every step for SNFS and DNW, the updates with a drop
        fraction > 0 for RigL, none for SET."""
        use = self.algorithm.dense_gradient
        last = self.total_steps if self.stop_step is None else min(self.total_steps, self.stop_step)
        if use == "every-step":
            return last
        if use == "at-updates":
            return sum(1 for s in range(1, last + 1) if self._scheduled(s) and self.fraction_at(s) > 0)
        return 0

    # ------------------------------------------------------------------ hooks for train()
    def hooks(self) -> TrainHooks:
        """``post_step`` and ``on_epoch`` keyword arguments for :func:`sparsewire.training.train`."""
        return {"post_step": self.post_step, "on_epoch": self.on_epoch}

    def post_step(self, optimizer: torch.optim.Optimizer | None = None) -> None:
        """Count one optimizer step; update the masks when the algorithm's cadence says so (unless frozen)."""
        self._optimizer = optimizer
        if self.frozen:
            self.step += 1
            self._detach()
            return
        self.step += 1
        self.algorithm.observe(self)
        if self.algorithm.dense_gradient == "every-step":
            self.dense_gradient_steps += 1
        if self._scheduled(self.step):
            fraction = self.fraction_at(self.step)
            if self.algorithm.dense_gradient == "at-updates" and fraction > 0:
                self.dense_gradient_steps += 1
            self.update(fraction, optimizer)
        if self.finished:
            self._detach()

    def on_epoch(self, epoch: int, model: nn.Module | None = None) -> None:
        """Record the end of epoch ``epoch``; an algorithm of cadence ``"epoch"`` updates now (unless this
        is the last epoch or the mask was frozen before it); then a snapshot of the masks."""
        if (self.algorithm.cadence == "epoch" and not self.frozen and not self.finished
                and (self.freeze_epoch is None or epoch <= self.freeze_epoch)):
            self.update(self.fraction_at(self.step), self._optimizer)
        self.epoch = epoch
        self.snapshots.append(self.masks.state())
        if self.frozen or self.finished:
            self._detach()

    # ------------------------------------------------------------------ the update
    @torch.no_grad()
    def update(self, fraction: float, optimizer: torch.optim.Optimizer | None = None) -> Update:
        """Drop and grow the algorithm's per-layer counts at drop fraction ``fraction`` now."""
        fraction = check_drop_fraction(fraction)
        algorithm = self.algorithm
        counts = algorithm.counts(self, fraction) if fraction > 0 or algorithm.cadence == "every-step" else {}
        new, replaced, dropped, grown_n = {}, 0, {}, {}
        for name, param, mask in self.masks.parameters():
            n_drop, n_grow = counts.get(name, (0, 0))
            if n_drop == 0 and n_grow == 0:
                continue
            if not 0 <= n_drop <= int(mask.sum()):
                raise DynamicSparsityError(f"cannot drop {n_drop} of {int(mask.sum())} kept weights in {name}")
            remaining = mask & ~lowest(algorithm.drop_scores(name, param, mask, self.generator), mask, n_drop)
            free = ~remaining
            grown = highest(algorithm.grow_scores(name, param, free, self.generator), free, n_grow)
            new[name] = remaining | grown
            if algorithm.regrow_at_zero:
                param[grown] = 0.0
                if optimizer is not None:
                    _reset_state(optimizer, param, grown)
            replaced += int((grown & ~mask).sum())
            dropped[name], grown_n[name] = n_drop, n_grow
        if new:
            self.masks.update(new)
        else:  # nothing moved; DNW's parameters may still hold latent weights off the mask
            self.masks.apply()
        record = Update(step=self.step, epoch=self.epoch, drop_fraction=fraction, replaced=replaced,
                        dropped=dropped, grown=grown_n)
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
