"""Dataset loading, offline first: MNIST, Fashion-MNIST and CIFAR-10.

>>> from sparsewire.data import load_dataset
>>> splits = load_dataset("mnist", val_size=10_000, seed=0)   # doctest: +SKIP
>>> x, y = splits.train                                         # doctest: +SKIP

Files are looked for in ``data_dir``, ``$SPARSEWIRE_DATA``, ``./data``,
``../shared/data``, system folders and the user cache (see :func:`search_paths`),
verified against the published checksums, and only downloaded when missing.
"""

from __future__ import annotations

from .errors import DataError
from .sources import cache_dir, search_paths
from .splits import DATASETS, DatasetInfo, Split, Splits, load_dataset

__all__ = [
    "DATASETS",
    "DataError",
    "DatasetInfo",
    "Split",
    "Splits",
    "cache_dir",
    "clear_cache",
    "load_dataset",
    "search_paths",
]


def clear_cache() -> None:
    """Drop the decoded arrays kept in memory by earlier loads."""
    from . import cifar10, mnist

    mnist._read_cached.cache_clear()
    cifar10._load_cached.cache_clear()
