"""MNIST and Fashion-MNIST: decode the four official idx files into uint8 arrays."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import DataError
from .idx import decompress, parse_idx
from .sources import FileSpec, Found, verify_bytes

__all__ = ["FASHION_MNIST_CLASSES", "MNIST_CLASSES", "load_arrays", "read_idx_verified"]

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@lru_cache(maxsize=16)
def _read_cached(path: str, mtime_ns: int, size: int, spec: FileSpec, verify: bool) -> np.ndarray:
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DataError(f"{file}: cannot read ({exc})") from exc
    content = verify_bytes(data, spec, file) if verify else None
    if content is None:
        content = decompress(data, path)
    return parse_idx(content, path)


def read_idx_verified(path: Path, spec: FileSpec, verify: bool = True) -> np.ndarray:
    """Read, checksum-verify and decode one idx file (cached per path, mtime and size)."""
    stat = path.stat()
    return _read_cached(str(path), stat.st_mtime_ns, stat.st_size, spec, verify)


def load_arrays(found: Found, verify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)``: images uint8 (N, 1, 28, 28), labels uint8 (N,).

    Arrays are read-only (they may be shared through the in-process cache).
    """
    arrays = {}
    for spec in found.specs:
        arrays[spec.name.split("-idx")[0]] = (
            found.files[spec.name],
            read_idx_verified(found.files[spec.name], spec, verify),
        )
    out = []
    for split in ("train", "t10k"):
        (img_path, images), (lbl_path, labels) = arrays[f"{split}-images"], arrays[f"{split}-labels"]
        if images.dtype != np.uint8 or images.ndim != 3:
            raise DataError(
                f"{img_path}: expected a uint8 idx array (N, rows, cols), got {images.dtype} {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise DataError(
                f"{lbl_path}: expected a uint8 idx vector of labels, got {labels.dtype} {labels.shape}"
            )
        if len(images) != len(labels):
            raise DataError(
                f"{img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels"
            )
        if labels.size and labels.max() > 9:
            raise DataError(f"{lbl_path}: label {int(labels.max())} out of range 0..9")
        out += [images[:, None, :, :], labels]
    return out[0], out[1], out[2], out[3]
