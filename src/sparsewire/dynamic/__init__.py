"""Dynamic sparse training (SET, RigL) with mask freezing and per-epoch mask snapshots.

See :mod:`sparsewire.dynamic.sparsity` and Van Gelder, Wortsman & Ehsani (2020).
"""

from sparsewire.dynamic.base import (
    DynamicSparsityError,
    GrowthRule,
    check_density,
    check_drop_fraction,
    drop_smallest,
    top_candidates,
)
from sparsewire.dynamic.init import layer_densities, random_masks, sparse_init
from sparsewire.dynamic.rigl import RigL
from sparsewire.dynamic.set import SET
from sparsewire.dynamic.sparsity import ALGORITHMS, DynamicSparsity, Update, get_algorithm, steps_per_epoch

__all__ = [
    "ALGORITHMS",
    "SET",
    "DynamicSparsity",
    "DynamicSparsityError",
    "GrowthRule",
    "RigL",
    "Update",
    "check_density",
    "check_drop_fraction",
    "drop_smallest",
    "get_algorithm",
    "layer_densities",
    "random_masks",
    "sparse_init",
    "steps_per_epoch",
    "top_candidates",
]
