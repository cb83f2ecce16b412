"""The mask-updater contract every dynamic sparse training algorithm here follows.

A mask update removes, per masked layer, ``drop`` kept connections with the lowest *drop score* and adds
``grow`` connections with the highest *grow score* among the positions not kept after the drop (a
just-dropped connection may come back, as in the RigL reference implementation). An algorithm is a
:class:`MaskUpdater` that names

- its drop score (:meth:`MaskUpdater.drop_scores`) and grow score (:meth:`MaskUpdater.grow_scores`),
- how many connections each layer drops and grows (:meth:`MaskUpdater.counts`: the same number per layer
  for SET, RigL and DNW, redistributed across layers for SNFS),
- its schedule: when it updates (``cadence``) and whether new connections start at zero
  (``regrow_at_zero``), and when it reads dense gradients (``dense_gradient``),

and may keep state that it refreshes after every optimizer step (:meth:`MaskUpdater.observe`: SNFS's
momentum, DNW's latent weights). The choosing itself is :mod:`sparsewire.masks.select` (the ``k`` lowest or
highest scores among allowed positions), shared by all and by pruning.
:class:`sparsewire.dynamic.DynamicSparsity` drives an updater from the training loop's hooks; an updater sees
it as a :class:`Driver` (so this module and the algorithms never import the driver's module back).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal, Protocol

import torch

from sparsewire.errors import SparsewireError
from sparsewire.masks import Masks
from sparsewire.masks.fractions import check_fraction
from sparsewire.masks.select import lowest

Cadence = Literal["steps", "epoch", "every-step"]
DenseUse = Literal["never", "at-updates", "every-step"]

__all__ = ["Cadence", "DenseUse", "Driver", "DynamicSparsityError", "MaskUpdater", "check_density", "check_drop_fraction",
           "drop_smallest"]


class DynamicSparsityError(SparsewireError, ValueError):
    """Bad settings for dynamic sparse training (density, drop fraction, algorithm, schedule)."""


def check_density(density: float) -> float:
    """``density`` (fraction of weights kept) must lie in (0, 1]."""
    return check_fraction(density, "(0, 1]", "density", "fraction of weights kept", DynamicSparsityError)


def check_drop_fraction(fraction: float) -> float:
    """``drop_fraction`` (share of the kept weights replaced per update) must lie in [0, 1)."""
    return check_fraction(fraction, "[0, 1)", "drop_fraction", "share of the kept weights replaced per update",
                          DynamicSparsityError)


@torch.no_grad()
def drop_smallest(weight: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """``mask`` without its ``k`` kept weights of smallest magnitude (SET's and RigL's drop)."""
    if not 0 <= k <= int(mask.sum()):
        raise DynamicSparsityError(f"cannot drop {k} of {int(mask.sum())} kept weights")
    return mask & ~lowest(weight.abs(), mask, k)


class Driver(Protocol):
    """What an updater reads from the :class:`~sparsewire.dynamic.DynamicSparsity` driving it."""

    @property
    def masks(self) -> Masks:
        """The masks being updated."""

    @property
    def frozen(self) -> bool:
        """Whether the masks are frozen (no more updates, no dense gradients)."""

    @property
    def finished(self) -> bool:
        """Whether every scheduled optimizer step has been taken."""

    def count(self, fraction: float, kept: int) -> int:
        """Connections a layer with ``kept`` weights drops at ``fraction``."""


class MaskUpdater(ABC):
    """One dynamic sparse algorithm: its drop score, grow score, per-layer counts and schedule.

    Class attributes (read by :class:`~sparsewire.dynamic.DynamicSparsity` and shown in reports):

    - ``drop_score`` / ``grow_score`` / ``schedule``: what the algorithm ranks by and when, in words;
    - ``cadence``: ``"steps"`` (every ``update_every`` optimizer steps), ``"epoch"`` (at the end of every
      epoch but the last) or ``"every-step"``;
    - ``dense_gradient``: when the algorithm needs the gradient of *every* weight, pruned ones included
      (``"never"``, ``"at-updates"``, ``"every-step"``): what freezing the mask saves;
    - ``regrow_at_zero``: new connections start at weight 0 with no optimizer history (False for DNW,
      whose connections keep their latent weight).
    """

    name: ClassVar[str]
    drop_score: ClassVar[str] = "|w|: the kept weights of smallest magnitude"
    grow_score: ClassVar[str]
    schedule: ClassVar[str] = "every update_every steps, drop fraction cosine-annealed (Evci et al. 2020)"
    cadence: ClassVar[Cadence] = "steps"
    dense_gradient: ClassVar[DenseUse] = "never"
    regrow_at_zero: ClassVar[bool] = True

    def attach(self, dyn: Driver) -> None:  # noqa: B027 - optional hook
        """Set up per-run state (called once by ``DynamicSparsity.__init__``, before the initial snapshot)."""

    def detach(self, dyn: Driver) -> None:  # noqa: B027 - optional hook
        """The mask is frozen or training is over: drop per-run hooks and state."""

    def observe(self, dyn: Driver) -> None:  # noqa: B027 - optional hook
        """Called after every optimizer step while the mask is not frozen (before a scheduled update)."""

    def counts(self, dyn: Driver, fraction: float) -> dict[str, tuple[int, int]]:
        """``name -> (dropped, grown)`` for an update at drop fraction ``fraction``: by default the same
        ``count(fraction · kept)`` both ways in every layer, so each layer keeps its density."""
        out = {}
        for name, mask in dyn.masks.items():
            k = dyn.count(fraction, int(mask.sum()))
            out[name] = (k, k)
        return out

    def drop_scores(self, name: str, weight: torch.nn.Parameter, kept: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
        """Scores of layer ``name``'s ``kept`` positions: the lowest are dropped (default: magnitude ``|w|``)."""
        return weight.detach().abs()

    @abstractmethod
    def grow_scores(self, name: str, weight: torch.nn.Parameter, candidates: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
        """Scores of layer ``name``'s ``candidates`` (positions not kept after the drop): the highest are grown."""
