"""CIFAR-10, official "python version": pickled batches, extracted or inside the archive.

Each batch is a pickled dict with ``b"data"`` (uint8, N x 3072, channel-major
32x32 planes) and ``b"labels"`` (N ints in 0..9). The pickles are read with a
restricted unpickler that only admits numpy arrays, so a planted file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .sources import CIFAR10_ARCHIVE, CIFAR10_BATCH_DIR, CIFAR10_BATCHES, Found, verify_bytes

__all__ = ["CIFAR10_CLASSES", "load_arrays", "parse_batch"]

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_TRAIN = tuple(spec.name for spec in CIFAR10_BATCHES[:5])
_TEST = CIFAR10_BATCHES[5].name

# Globals a CIFAR batch pickle may reference (numpy 1.x and 2.x spellings; _codecs.encode
# is how Python 3 writes bytes under pickle protocol 2).
_ALLOWED = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")
        if module.startswith("numpy.core.") and int(np.__version__.split(".")[0]) >= 2:
            module = "numpy._core." + module[len("numpy.core.") :]
        return super().find_class(module, name)


def parse_batch(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode one pickled batch into ``(images uint8 (N, 3, 32, 32), labels uint8 (N,))``."""
    try:
        batch = _NumpyOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # truncated or hostile pickles raise many types
        raise DataError(
            f"{source}: not a readable CIFAR-10 batch pickle ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(batch, dict):
        raise DataError(f"{source}: expected a pickled dict, got {type(batch).__name__}")
    get = lambda key: batch.get(key.encode(), batch.get(key))  # noqa: E731  (bytes keys officially)
    images, labels = get("data"), get("labels")
    if images is None or labels is None:
        raise DataError(f"{source}: batch dict lacks b'data' or b'labels' (keys: {sorted(map(repr, batch))})")
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError(
            f"{source}: b'data' must be uint8 of shape (N, 3072), got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{source}: b'labels' must be {len(images)} integers, got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{source}: labels out of range 0..9 ({labels.min()}..{labels.max()})")
    return images.reshape(-1, 3, 32, 32), labels.astype(np.uint8)


def _read_batches_dir(found: Found, verify: bool) -> dict[str, bytes]:
    blobs = {}
    for spec in CIFAR10_BATCHES:
        path = found.files[spec.name]
        try:
            blobs[spec.name] = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc})") from exc
        if verify:
            try:
                verify_bytes(blobs[spec.name], spec, path)
            except DataError as exc:
                raise DataError(f"{exc} (pass verify=False to load unofficial CIFAR-10 batches)") from None
    return blobs


def _read_archive(path: Path, verify: bool) -> dict[str, bytes]:
    if verify:
        try:
            verify_bytes(path.read_bytes(), CIFAR10_ARCHIVE, path)
        except DataError as exc:
            raise DataError(f"{exc} (pass verify=False to load an unofficial archive)") from None
    blobs = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                parts = Path(member.name).parts
                if member.isfile() and len(parts) == 2 and parts[0] == CIFAR10_BATCH_DIR:
                    if parts[1] in _TRAIN or parts[1] == _TEST:
                        blobs[parts[1]] = tar.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated archive ({type(exc).__name__}: {exc})") from exc
    missing = [name for name in (*_TRAIN, _TEST) if name not in blobs]
    if missing:
        raise DataError(f"{path}: archive lacks {CIFAR10_BATCH_DIR}/{', '.join(missing)}")
    return blobs


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=2)
def _load_cached(
    key: tuple[tuple[str, int, int], ...], found: Found, verify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if CIFAR10_ARCHIVE.name in found.files:
        archive = found.files[CIFAR10_ARCHIVE.name]
        blobs = _read_archive(archive, verify)
        where = {name: f"{archive}:{CIFAR10_BATCH_DIR}/{name}" for name in blobs}
    else:
        blobs = _read_batches_dir(found, verify)
        where = {name: str(found.files[name]) for name in blobs}
    train = [parse_batch(blobs[name], where[name]) for name in _TRAIN]
    x_test, y_test = parse_batch(blobs[_TEST], where[_TEST])
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    for array in (x_train, y_train, x_test, y_test):
        array.flags.writeable = False
    return x_train, y_train, x_test, y_test


def load_arrays(found: Found, verify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)``: images uint8 (N, 3, 32, 32), labels uint8 (N,).

    ``verify`` checks the official digests (archive sha256, or each batch's md5);
    turn it off for unofficial or synthetic files. Arrays are read-only (cached).
    """
    key = tuple(_stamp(found.files[name]) for name in sorted(found.files))
    return _load_cached(key, found, verify)
