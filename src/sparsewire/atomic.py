"""Atomic file writes: a uniquely named temporary file in the target's folder, then ``os.replace``.

Readers never see a partial file, a killed writer leaves at most a stray ``.NAME.*.tmp`` file, and two
writers of the same target cannot clash on a shared temporary name (the last replace wins, whole).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once, at import: os.umask cannot be read without setting it (not thread-safe)


@contextmanager
def replacing(path: str | Path, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """``with replacing(path) as f: f.write(...)``: ``path`` is replaced once the block ends without error."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # as a plain open() would create it (mkstemp uses 0600)
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode, **open_args) as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with replacing(path, "w", encoding="utf-8") as out:
        out.write(text)
    return Path(path)
