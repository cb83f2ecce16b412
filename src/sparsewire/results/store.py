"""Results store: one SQLite file per study folder, one row per trial, written the moment a trial ends.

Each write is its own transaction (WAL journal), so killing a study loses at most the trial in flight.
Rows are stored as JSON next to the trial's canonical config, so every number traces back to the exact
config that produced it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

DB_NAME = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    trial_id TEXT PRIMARY KEY,
    study TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    row TEXT,
    error TEXT,
    finished REAL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class ResultsStore:
    """The SQLite results of one study folder (``DIR/results.sqlite``)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def open_existing(cls, folder: str | Path) -> ResultsStore:
        """Open a folder that must already hold results; clear error otherwise."""
        if not (Path(folder) / DB_NAME).exists():
            raise FileNotFoundError(f"{folder} holds no {DB_NAME}; run a study there first (sparsewire run CONFIG --out {folder})")
        return cls(folder)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ writing
    def set_meta(self, key: str, value: Any) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: Any = None) -> Any:
        with self._connect() as db:
            found = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else default

    def record(
        self,
        trial_id: str,
        study: str,
        config: Mapping[str, Any],
        row: Mapping[str, Any] | None,
        *,
        status: str = "done",
        error: str | None = None,
    ) -> None:
        """Store a finished (``status="done"``) or failed (``status="failed"``) trial."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO trials VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    trial_id,
                    study,
                    status,
                    json.dumps(dict(config), sort_keys=True),
                    json.dumps(dict(row), default=_jsonable) if row is not None else None,
                    error,
                    time.time(),
                ),
            )

    # ------------------------------------------------------------------ reading
    def finished_ids(self) -> set[str]:
        """Ids of trials that completed successfully (failed trials are retried on resume)."""
        with self._connect() as db:
            return {r[0] for r in db.execute("SELECT trial_id FROM trials WHERE status = 'done'")}

    def failures(self) -> list[tuple[str, str]]:
        """``(trial_id, error)`` of failed trials."""
        with self._connect() as db:
            return list(db.execute("SELECT trial_id, error FROM trials WHERE status = 'failed'"))

    def table(self, include_failed: bool = False) -> pd.DataFrame:
        """One row per trial: ``trial_id``, ``status`` and the trial's result columns."""
        query = "SELECT trial_id, status, row, error, finished FROM trials"
        if not include_failed:
            query += " WHERE status = 'done'"
        with self._connect() as db:
            records = db.execute(query + " ORDER BY finished").fetchall()
        rows = []
        for trial_id, status, row, error, _ in records:
            data = {"trial_id": trial_id, "status": status}
            data.update(json.loads(row) if row else {})
            if error:
                data["error"] = error
            rows.append(data)
        return pd.DataFrame(rows)

    def export_csv(self, path: str | Path | None = None) -> Path:
        """Write the table of finished trials to ``DIR/results.csv`` (or ``path``)."""
        path = Path(path) if path is not None else self.folder / "results.csv"
        table = self.table().map(lambda v: json.dumps(v) if isinstance(v, dict | list) else v)
        tmp = path.with_suffix(".csv.tmp")
        table.to_csv(tmp, index=False)
        tmp.replace(path)
        return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a results row")
