"""Results: the SQLite store of a study folder, its CSV export, printed tables and reports."""

from sparsewire.results.store import DB_NAME, ResultsStore

__all__ = ["DB_NAME", "ResultsStore"]
