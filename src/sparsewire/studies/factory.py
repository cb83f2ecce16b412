"""Your own model and data in a study: objects named by import path (``"package.module:attribute"``).

``model: {factory: "torchvision.models:resnet18", options: {num_classes: 10}}`` builds the model by calling
the factory with the options; ``dataset: {factory: "mypackage.data:make", options: {...}}`` calls a
factory that returns torch ``Dataset`` objects of ``(input, label)`` items: a mapping with ``train`` and
``test`` (and optionally ``val``) or a tuple ``(train, test)`` / ``(train, val, test)``. The datasets are
read once into aligned tensors (like the shipped datasets; fine for what fits in memory); without a
``val`` split, ``val_size`` examples are held out of ``train`` with ``split_seed``, and ``train_limit``
keeps a seeded subset of the rest. A path that does not import is a clear error when the config is
validated, before any work.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset, default_collate


def import_factory(path: str) -> Callable[..., Any]:
    """The callable named ``"package.module:attribute"`` (the attribute may be dotted); ``ValueError`` if
    the path is malformed, the module or attribute is missing, or the object is not callable."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"factory {path!r} must be 'package.module:attribute', e.g. 'torchvision.models:resnet18'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - a missing package and a broken import are the same to the user
        raise ValueError(f"factory {path!r}: module {module_name!r} does not import "
                         f"({type(err).__name__}: {str(err)[:200]})") from err
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"factory {path!r}: {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"factory {path!r} is not callable")
    factory: Callable[..., Any] = obj
    return factory


def build_model(path: str, options: Mapping[str, Any]) -> torch.nn.Module:
    """``factory(**options)``, which must return an ``nn.Module``."""
    from sparsewire.errors import ConfigError

    model = import_factory(path)(**options)
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"model factory {path!r} returned {type(model).__name__}, not an nn.Module")
    return model


@dataclass(frozen=True)
class FactorySplits:
    """Train/val/test as aligned tensors ``(inputs, labels)``, like :class:`sparsewire.data.Splits`."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    num_classes: int
    input_shape: tuple[int, ...]
    name: str


def _tensors(dataset: Dataset[Any], what: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]  # Dataset declares no __len__: TypeError below
    except TypeError as err:
        raise ValueError(f"the {what} dataset must be a map-style Dataset (len and indexing): {err}") from err
    if not items:
        return torch.empty(0), torch.empty(0, dtype=torch.long)
    batch = default_collate(items)
    if not isinstance(batch, list | tuple) or len(batch) != 2:
        raise ValueError(f"the {what} dataset's items must be (input, label) pairs")
    x, y = batch
    return torch.as_tensor(x).float(), torch.as_tensor(y).long()


def _parts(result: Any, path: str) -> dict[str, Dataset[Any]]:
    if isinstance(result, Mapping):
        parts = dict(result)
    elif isinstance(result, list | tuple) and len(result) in (2, 3):
        parts = dict(zip(("train", "test") if len(result) == 2 else ("train", "val", "test"), result, strict=True))
    else:
        raise ValueError(f"dataset factory {path!r} must return {{'train', 'test'[, 'val']}} or (train, [val,] test)")
    missing = {"train", "test"} - set(parts)
    if missing:
        raise ValueError(f"dataset factory {path!r} returned no {sorted(missing)} split")
    return parts


@functools.lru_cache(maxsize=4)
def _load(path: str, options_json: str, val_size: int, split_seed: int, train_limit: int | None) -> FactorySplits:
    parts = _parts(import_factory(path)(**json.loads(options_json)), path)
    train = _tensors(parts["train"], "train")
    if "val" in parts:
        val = _tensors(parts["val"], "val")
    else:
        if val_size >= len(train[0]):
            raise ValueError(f"val_size {val_size} leaves no training examples of {len(train[0])}")
        order = torch.randperm(len(train[0]), generator=torch.Generator().manual_seed(split_seed))
        val = (train[0][order[:val_size]], train[1][order[:val_size]])
        train = (train[0][order[val_size:]], train[1][order[val_size:]])
    if train_limit is not None and train_limit < len(train[0]):
        keep = torch.randperm(len(train[0]), generator=torch.Generator().manual_seed(split_seed + 1))[:train_limit]
        train = (train[0][keep], train[1][keep])
    test = _tensors(parts["test"], "test")
    classes = 1 + max(int(t[1].max()) for t in (train, val, test) if len(t[1]))
    return FactorySplits(train, val, test, classes, tuple(train[0].shape[1:]), path)


def load_factory_splits(path: str, options: Mapping[str, Any], val_size: int, split_seed: int,
                        train_limit: int | None) -> FactorySplits:
    """The splits of a dataset factory (cached in this process per path, options and split)."""
    return _load(path, json.dumps(dict(options), sort_keys=True, default=str), val_size, split_seed, train_limit)
