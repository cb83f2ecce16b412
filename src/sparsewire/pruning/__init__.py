"""Pruning as separate axes: score → allocation → schedule → rewind.

:func:`prune` runs one step: the method's **score** rates every masked weight (higher = kept longer), its
**allocation** turns the scores into new masks at the target compression, and a score that refits
(layer-wise OBS) then rebuilds the survivors. A **schedule** (:func:`schedule`: one-shot, iterative,
gradual) is the list of compressions of successive prune → retrain rounds; :func:`rewind` /
:func:`reinitialize` reset the survivors. Two algorithms are built from these pieces: :func:`snip` (the mask at
initialisation by ``|g·w|``) and :func:`find_ticket` (iterative magnitude pruning with rewinding, a lottery
ticket; :func:`early_bird_ticket`). A method is named ``"score/allocation"`` (``"obd/class-uniform"``,
``"magnitude/2:4"``) or by a preset (:data:`PRESETS`, e.g. ``"obs"``, ``"snip"``).

**Your own score** is a function of a :class:`PruneContext` (``ctx.model``, ``ctx.masks``, ``ctx.batches``,
``ctx.loss(batch)``, ``ctx.generator``) returning one tensor per masked parameter, made a :class:`Score` by
:func:`score_function` (``needs_data=True`` if it reads batches). Register it in :data:`SCORES` to use its
name in methods:

>>> from sparsewire.models import MLP
>>> from sparsewire.pruning import ALLOCATIONS, SCORES, prune, score_function
>>> @score_function()
... def squared(ctx):
...     return {name: param.detach() ** 2 for name, param, _ in ctx.masks.parameters()}
>>> SCORES["squared"] = squared
>>> masks = prune(MLP([8, 6, 2]), 0.5, "squared/class-blinded")
>>> round(masks.sparsity(), 2)
0.5

A score that also refits the surviving weights after pruning implements :class:`RefittingScore`
(``score_and_refit(ctx) -> (scores, refit)``; the refit gets the updated masks), like
:class:`~sparsewire.pruning.scores.LayerwiseOBS`.

**Your own allocation** is any callable ``(scores, masks, compression) -> {name: bool mask}`` (an
:class:`Allocation`): ``compression`` is the fraction of all masked weights removed afterwards, so the
allocation works out each layer's count itself; it must never revive a pruned weight. The pieces of
:mod:`sparsewire.pruning.allocation` do the counting and choosing (:func:`~.allocation.kept_at`,
:func:`~.allocation.keep_per_layer`, :func:`~.allocation.keep_globally`, :func:`~.allocation.keep_erk`).
For example, class-uniform except for a dense last layer:

>>> from sparsewire.pruning.allocation import keep_per_layer, kept_at
>>> def last_dense(scores, masks, compression):
...     *rest, last = list(masks)
...     keep = {n: min(int(masks[n].sum()), kept_at(compression, masks[n].numel())) for n in rest}
...     return keep_per_layer(scores, masks, {**keep, last: int(masks[last].sum())})
>>> ALLOCATIONS["last-dense"] = last_dense
>>> masks = prune(MLP([8, 6, 2]), 0.4, "squared/last-dense")
>>> tuple(int(m.sum()) for m in masks.values())
(29, 12)
>>> del SCORES["squared"], ALLOCATIONS["last-dense"]
"""

from sparsewire.pruning.allocation import (
    ALLOCATIONS,
    ERK,
    Allocation,
    ClassBlinded,
    ClassDistributed,
    ClassUniform,
    NOfM,
    class_blinded,
    class_distributed,
    class_uniform,
    erk,
    keep_at_density,
)
from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.lottery import Ticket, early_bird_ticket, find_ticket, round_densities
from sparsewire.pruning.methods import PRESETS, Method, known_methods, resolve_method
from sparsewire.pruning.prune import check_compression, prune
from sparsewire.pruning.rewind import reinitialize, rewind, snapshot
from sparsewire.pruning.robustness import further_pruning, further_pruning_with_recalibration, pruned_further
from sparsewire.pruning.schedule import gradual, iterative, one_shot, schedule
from sparsewire.pruning.score import FunctionScore, RefittingScore, Score, score_function
from sparsewire.pruning.scores import SCORES
from sparsewire.pruning.snip import snip

__all__ = [
    "ALLOCATIONS",
    "ERK",
    "PRESETS",
    "SCORES",
    "Allocation",
    "ClassBlinded",
    "ClassDistributed",
    "ClassUniform",
    "FunctionScore",
    "Method",
    "NOfM",
    "PruneContext",
    "RefittingScore",
    "Score",
    "Ticket",
    "check_compression",
    "class_blinded",
    "class_distributed",
    "class_uniform",
    "early_bird_ticket",
    "erk",
    "find_ticket",
    "further_pruning",
    "further_pruning_with_recalibration",
    "gradual",
    "iterative",
    "keep_at_density",
    "known_methods",
    "one_shot",
    "prune",
    "pruned_further",
    "reinitialize",
    "resolve_method",
    "rewind",
    "round_densities",
    "schedule",
    "score_function",
    "snapshot",
    "snip",
]
