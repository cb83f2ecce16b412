"""The one exception type of :mod:`sparsewire.data`."""

from __future__ import annotations

from sparsewire.errors import SparsewireError

__all__ = ["DataError"]


class DataError(SparsewireError, RuntimeError):
    """A dataset could not be found, downloaded, verified or decoded.

    The message is meant for the user: it names the file(s) involved and, where
    files are missing, every location searched and how to supply them.
    """
