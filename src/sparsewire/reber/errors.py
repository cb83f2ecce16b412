"""Errors of the Reber data layer."""

from sparsewire.errors import SparsewireError


class ReberError(SparsewireError, ValueError):
    """Bad Reber input: an empty string, a character outside A-Z, a CSV with the wrong columns or checksum."""
