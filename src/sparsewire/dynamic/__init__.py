"""Dynamic sparse training (SET, RigL, SNFS, DNW) with mask freezing and per-epoch mask snapshots.

Every algorithm is a :class:`MaskUpdater` (drop score, grow score, per-layer counts, schedule) over the
selection code it shares with pruning (:mod:`sparsewire.masks.select`, :mod:`sparsewire.masks.quotas`);
:class:`DynamicSparsity` drives it from the training loop's hooks; :func:`train_sparse` trains one network
that way from a seeded random mask. See :mod:`sparsewire.dynamic.sparsity` and Van Gelder, Wortsman & Ehsani (2020).
"""

from sparsewire.dynamic.base import (
    DynamicSparsityError,
    MaskUpdater,
    check_density,
    check_drop_fraction,
    drop_smallest,
)
from sparsewire.dynamic.cost import Phase, TrainingCost, phases_cost, training_cost, weight_uses
from sparsewire.dynamic.dnw import DNW
from sparsewire.dynamic.init import layer_densities, random_masks, sparse_init
from sparsewire.dynamic.rigl import RigL
from sparsewire.dynamic.set import SET
from sparsewire.dynamic.snfs import SNFS
from sparsewire.dynamic.sparsity import ALGORITHMS, DynamicSparsity, Update, get_algorithm, steps_per_epoch
from sparsewire.dynamic.train import STATIC, SparseRun, train_sparse
from sparsewire.masks.quotas import apportion
from sparsewire.masks.select import highest, lowest

__all__ = [
    "ALGORITHMS",
    "DNW",
    "SET",
    "SNFS",
    "STATIC",
    "DynamicSparsity",
    "DynamicSparsityError",
    "MaskUpdater",
    "Phase",
    "RigL",
    "SparseRun",
    "TrainingCost",
    "Update",
    "apportion",
    "check_density",
    "check_drop_fraction",
    "drop_smallest",
    "get_algorithm",
    "highest",
    "layer_densities",
    "lowest",
    "phases_cost",
    "random_masks",
    "sparse_init",
    "steps_per_epoch",
    "train_sparse",
    "training_cost",
    "weight_uses",
]
