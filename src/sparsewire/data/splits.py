"""Train/validation/test splits as normalised tensors: :func:`load_dataset`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from . import cifar10, mnist
from .sources import Found, canonical_name, obtain

__all__ = ["DATASETS", "DatasetInfo", "Split", "Splits", "load_dataset"]

Split = tuple[torch.Tensor, torch.Tensor]
_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a supported dataset (official split sizes)."""

    name: str
    num_classes: int
    image_shape: tuple[int, int, int]
    classes: tuple[str, ...]
    train_size: int
    test_size: int


#: Supported datasets by canonical name (iterate for the names).
DATASETS: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "mnist": DatasetInfo("mnist", 10, (1, 28, 28), mnist.MNIST_CLASSES, 60_000, 10_000),
        "fashion-mnist": DatasetInfo(
            "fashion-mnist", 10, (1, 28, 28), mnist.FASHION_MNIST_CLASSES, 60_000, 10_000
        ),
        "cifar10": DatasetInfo("cifar10", 10, (3, 32, 32), cifar10.CIFAR10_CLASSES, 50_000, 10_000),
    }
)

_LOADERS: dict[str, Callable[[Found, bool], _Arrays]] = {
    "mnist": mnist.load_arrays,
    "fashion-mnist": mnist.load_arrays,
    "cifar10": cifar10.load_arrays,
}


@dataclass(frozen=True)
class Splits:
    """A dataset split three ways, as float32 inputs and int64 labels.

    ``input_shape`` is the shape of one example as returned (``(C, H, W)``, or
    ``(C*H*W,)`` when flattened); ``image_shape`` is always ``(C, H, W)``.
    ``mean``/``std`` are the per-channel statistics (in 0..255 pixel units) of
    the training split, used to normalise all three splits.
    """

    train: Split
    val: Split
    test: Split
    num_classes: int
    input_shape: tuple[int, ...]
    name: str
    source: Path
    image_shape: tuple[int, int, int]
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


def _channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-channel mean and (population) std of uint8 images (N, C, H, W), via histograms."""
    values = np.arange(256, dtype=np.float64)
    means, stds = [], []
    for c in range(images.shape[1]):
        pixels = torch.from_numpy(np.ascontiguousarray(images[:, c])).flatten()
        counts = torch.bincount(pixels, minlength=256).numpy().astype(np.float64)
        total = counts.sum()
        mean = float(counts @ values / total) if total else 0.0
        var = float(counts @ (values - mean) ** 2 / total) if total else 1.0
        means.append(mean)
        stds.append(var**0.5 if var > 0 else 1.0)
    return np.array(means), np.array(stds)


def _normalise(images: np.ndarray, mean: np.ndarray, std: np.ndarray, flatten: bool) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 ``(x - mean) / std`` per channel, optionally flattened."""
    if not images.flags.writeable or not images.flags.c_contiguous:
        images = np.array(images, order="C")  # torch.from_numpy wants a writable array
    shape = (1, -1, 1, 1)
    x = torch.from_numpy(images).to(torch.float32)
    x.sub_(torch.from_numpy(mean).to(torch.float32).view(shape))
    x.div_(torch.from_numpy(std).to(torch.float32).view(shape))
    return x.flatten(1) if flatten else x


def _labels(labels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(labels.astype(np.int64))


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    val_size: int = 10000,
    seed: int = 0,
    download: bool = True,
    train_limit: int | None = None,
    flatten: bool = False,
    *,
    verify: bool = True,
) -> Splits:
    """Load ``name`` (one of :data:`DATASETS`) as normalised train/val/test tensors.

    Files are searched offline first (:func:`~sparsewire.data.search_paths`, starting
    at ``data_dir``) and downloaded into the user cache only if missing and
    ``download`` is true. ``val_size`` examples are held out of the official
    training set at random (seeded); ``train_limit`` then keeps a seeded random
    subset of the remaining training examples. Inputs are normalised per channel
    with the mean/std of the resulting training split; ``flatten`` returns them as
    ``(N, C*H*W)`` instead of ``(N, C, H, W)``. ``verify=False`` skips checksum
    checks (for unofficial or synthetic files; structure is still validated).

    Raises :class:`~sparsewire.data.DataError` when the data cannot be found,
    fetched, verified or decoded, and ValueError for bad arguments.
    """
    key = canonical_name(name)
    if val_size < 0:
        raise ValueError(f"val_size must be >= 0, got {val_size}")
    if train_limit is not None and train_limit < 1:
        raise ValueError(f"train_limit must be >= 1 or None, got {train_limit}")
    info = DATASETS[key]
    found = obtain(key, data_dir, download_missing=download)
    x_full, y_full, x_test, y_test = _LOADERS[key](found, verify)
    if val_size >= len(x_full):
        raise ValueError(f"val_size={val_size} leaves no training data ({len(x_full)} training examples)")

    order = np.random.default_rng(seed).permutation(len(x_full))
    val_idx = np.sort(order[:val_size])
    train_idx = order[val_size:]
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    train_idx = np.sort(train_idx)

    x_train = x_full[train_idx]
    mean, std = _channel_stats(x_train)
    image_shape = tuple(int(d) for d in x_full.shape[1:])
    input_shape = (int(np.prod(image_shape)),) if flatten else image_shape
    return Splits(
        train=(_normalise(x_train, mean, std, flatten), _labels(y_full[train_idx])),
        val=(_normalise(x_full[val_idx], mean, std, flatten), _labels(y_full[val_idx])),
        test=(_normalise(x_test, mean, std, flatten), _labels(y_test)),
        num_classes=info.num_classes,
        input_shape=input_shape,
        name=key,
        source=found.directory,
        image_shape=image_shape,  # type: ignore[arg-type]
        classes=info.classes,
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
    )
