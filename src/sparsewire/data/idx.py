"""Reader for the idx file format used by MNIST and Fashion-MNIST.

An idx file starts with the magic ``00 00 <type> <ndim>``, then ``ndim``
big-endian uint32 dimension sizes, then the array in C order (big-endian).
Files may be gzip-compressed; compression is recognised by content, not name.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["IDX_DTYPES", "decompress", "parse_idx", "read_idx"]

#: idx type code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def decompress(data: bytes, source: str = "<bytes>") -> bytes:
    """Return ``data`` gunzipped if it is a gzip stream, else unchanged.

    Raises :class:`DataError` naming ``source`` on a corrupt or truncated stream.
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataError(f"{source}: corrupt or truncated gzip stream ({type(exc).__name__}: {exc})") from exc


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode an uncompressed idx byte string into a read-only numpy array.

    Multi-byte types are converted to native byte order. Raises
    :class:`DataError` on a bad magic number or a size inconsistent with the header.
    """
    if len(data) < 4:
        raise DataError(f"{source}: too short for an idx file ({len(data)} bytes)")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code not in IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{source}: not an idx file (magic number 0x{data[:4].hex()}; expected 0x0000TTNN "
            f"with type TT in {sorted(f'{t:02x}' for t in IDX_DTYPES)} and NN >= 1 dimensions)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated idx header ({len(data)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        raise DataError(
            f"{source}: idx header declares shape {tuple(shape)} ({expected} data bytes) "
            f"but the file holds {actual} data bytes"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    array.flags.writeable = False
    return array


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (gzip-compressed or not) from disk."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    return parse_idx(decompress(data, str(path)), str(path))
