"""Pruning as separate axes: score → allocation → schedule → rewind."""

from sparsewire.pruning.allocation import ALLOCATIONS, class_blinded, class_distributed, class_uniform, erk
from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.methods import PRESETS, Method, known_methods, resolve_method
from sparsewire.pruning.prune import check_compression, prune
from sparsewire.pruning.rewind import reinitialize, rewind, snapshot
from sparsewire.pruning.robustness import further_pruning, pruned_further
from sparsewire.pruning.schedule import gradual, iterative, one_shot, schedule
from sparsewire.pruning.scores import SCORES

__all__ = [
    "ALLOCATIONS",
    "PRESETS",
    "SCORES",
    "Method",
    "PruneContext",
    "check_compression",
    "class_blinded",
    "class_distributed",
    "class_uniform",
    "erk",
    "further_pruning",
    "gradual",
    "iterative",
    "known_methods",
    "one_shot",
    "prune",
    "pruned_further",
    "reinitialize",
    "resolve_method",
    "rewind",
    "schedule",
    "snapshot",
]
