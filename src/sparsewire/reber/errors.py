"""Errors of the Reber data layer."""


class ReberError(ValueError):
    """Bad Reber input: an empty string, a character outside A-Z, a CSV with the wrong columns or checksum."""
