"""Unit tests for the idx reader (synthetic bytes only)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from sparsewire.data import DataError
from sparsewire.data.idx import decompress, parse_idx, read_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = struct.pack(">HBB", 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_parse_uint8_images() -> None:
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = parse_idx(idx_bytes(a))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, a)
    assert not out.flags.writeable


def test_parse_big_endian_int32_to_native() -> None:
    a = np.array([1, -2, 70000], dtype=np.int32)
    out = parse_idx(idx_bytes(a, 0x0C))
    assert out.dtype == np.dtype("int32") and out.dtype.isnative
    np.testing.assert_array_equal(out, a)


def test_read_gzip_and_plain(tmp_path) -> None:
    a = np.arange(10, dtype=np.uint8)
    (tmp_path / "plain").write_bytes(idx_bytes(a))
    (tmp_path / "packed.gz").write_bytes(gzip.compress(idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(tmp_path / "plain"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed.gz"), a)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "too short"),
        (b"\x00\x01\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic number 0x00010801"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "not an idx file"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "truncated idx header"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00" * 4, "declares shape (5,)"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00" * 6, "holds 6 data bytes"),
    ],
)
def test_bad_idx_raises(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_idx(data, "some-file")


def test_bad_gzip_raises() -> None:
    packed = gzip.compress(idx_bytes(np.zeros(1000, np.uint8)))
    with pytest.raises(DataError, match="f.gz: corrupt or truncated gzip stream"):
        decompress(packed[: len(packed) // 2], "f.gz")
    broken = packed[:12] + bytes(b ^ 0xFF for b in packed[12:20]) + packed[20:]
    with pytest.raises(DataError, match="gzip"):
        decompress(broken, "f.gz")
    assert decompress(b"not gzip") == b"not gzip"
