"""The score axis of pruning: what a criterion is.

A :class:`Score` maps a :class:`~sparsewire.pruning.context.PruneContext` to one tensor per masked
parameter, of that parameter's shape; higher means more important (kept longer). It says whether it reads
training batches (:attr:`Score.needs_data`: OBD, OBS, saliency). A score that also reconstructs the
surviving weights once the masks have changed (layer-wise OBS) is a :class:`RefittingScore`: it returns
its scores together with the refit, which carries whatever it measured before pruning.

A plain function becomes a score with :func:`score_function`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch

from sparsewire.masks import Masks
from sparsewire.pruning.context import PruneContext

__all__ = ["FunctionScore", "Refit", "RefittingScore", "Score", "ScoreFn", "ScoreMap", "score_and_refit",
           "score_function"]

ScoreMap = dict[str, torch.Tensor]
"""Parameter name → score tensor of the parameter's shape (higher = kept longer)."""
ScoreFn = Callable[[PruneContext], ScoreMap]
Refit = Callable[[Masks], None]
"""Rebuild the surviving weights after the masks were updated (called with the updated masks)."""


@runtime_checkable
class Score(Protocol):
    """A pruning criterion: ``score(ctx) -> {parameter name: tensor}``, higher kept longer."""

    @property
    def needs_data(self) -> bool:
        """Whether the score reads ``ctx.batches`` (then :func:`~sparsewire.pruning.prune` needs ``batches=``)."""
        ...

    def __call__(self, ctx: PruneContext) -> ScoreMap: ...


@runtime_checkable
class RefittingScore(Score, Protocol):
    """A score that also refits the surviving weights after pruning (e.g. the exact OBS update)."""

    def score_and_refit(self, ctx: PruneContext) -> tuple[ScoreMap, Refit]:
        """The scores, and the refit to run once the masks have changed."""
        ...


class FunctionScore:
    """A :class:`Score` made from a plain function ``fn(ctx) -> {name: tensor}`` (keeps its name and doc)."""

    def __init__(self, fn: ScoreFn, *, needs_data: bool = False) -> None:
        self.fn = fn
        self._needs_data = needs_data
        functools.update_wrapper(self, fn)

    @property
    def needs_data(self) -> bool:
        return self._needs_data

    def __call__(self, ctx: PruneContext) -> ScoreMap:
        return self.fn(ctx)

    def __repr__(self) -> str:
        return f"FunctionScore({self.fn.__name__}, needs_data={self._needs_data})"


def score_function(*, needs_data: bool = False) -> Callable[[ScoreFn], FunctionScore]:
    """Decorator: the function ``fn(ctx) -> {name: tensor}`` as a :class:`Score`.

    ``needs_data=True`` for a score that reads ``ctx.batches`` (use ``ctx.require_batches(name)``).
    """

    def wrap(fn: ScoreFn) -> FunctionScore:
        return FunctionScore(fn, needs_data=needs_data)

    return wrap


def score_and_refit(score: Score, ctx: PruneContext) -> tuple[ScoreMap, Refit | None]:
    """``score``'s scores and its refit (``None`` for a score that does not refit)."""
    if isinstance(score, RefittingScore):
        return score.score_and_refit(ctx)
    return score(ctx), None
