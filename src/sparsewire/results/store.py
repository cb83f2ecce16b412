"""Results store: one SQLite file per study folder, one row per trial, written the moment a trial ends.

Each write is its own transaction (WAL journal), so killing a study loses at most the trial in flight.
Rows are stored as JSON next to the trial's canonical config, so every number traces back to the exact
config that produced it.

A trial's status is ``done`` (its row is a result), ``diverged`` (training produced a non-finite loss or
weight: finished, not retried, but not a result; its row holds ``diverged_epoch`` and the trial's scalar
config keys) or ``failed`` (crashed; retried on resume). Tables show ``done`` rows unless asked otherwise.
Readers (``sparsewire results``/``report``/``predict``) open the database read-only (``mode=ro``), so a
read-only results folder can be listed. A corrupt database raises :class:`~sparsewire.errors.StoreError`
naming the intact ``results.csv``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from sparsewire.atomic import replacing
from sparsewire.errors import StoreError

DB_NAME = "results.sqlite"
CSV_NAME = "results.csv"
#: Statuses of finished trials (skipped on resume); ``failed`` trials are retried.
FINISHED = ("done", "diverged")

_SCHEMA = """
BEGIN;
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
COMMIT;
"""
# (one transaction: a run killed while creating the schema leaves all of it or none)


class ResultsStore:
    """The SQLite results of one study folder (``DIR/results.sqlite``).

    ``readonly=True`` opens an existing database without writing anything (``mode=ro``; for a folder that
    is not writable at all, ``immutable=1``).
    """

    def __init__(self, folder: str | Path, *, readonly: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        self.readonly = readonly
        self._immutable = False
        if self.folder.exists() and not self.folder.is_dir():
            raise StoreError(f"{self.folder} is a file, not a study folder; choose another folder (--out)")
        if readonly:
            if not self.path.is_file():
                raise StoreError(f"{self.folder} holds no {DB_NAME}; run a study there first "
                                 f"(sparsewire run CONFIG --out {self.folder})")
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the study folder {self.folder}: {err.strerror or err}") from err
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def open_existing(cls, folder: str | Path, *, readonly: bool = True) -> ResultsStore:
        """Open a folder that must already hold results (read-only by default); clear error otherwise."""
        return cls(folder, readonly=readonly)

    def _open(self) -> sqlite3.Connection:
        if not self.readonly:
            db = sqlite3.connect(self.path, timeout=60)
            db.execute("PRAGMA journal_mode=WAL")
            return db
        mode = "ro&immutable=1" if self._immutable else "ro"
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode={mode}", uri=True, timeout=60)
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1")
            return db
        except sqlite3.OperationalError:
            if self._immutable or os.access(self.folder, os.W_OK):
                raise
            self._immutable = True  # a read-only folder: no writer can be active, read the file as it is
            return self._open()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._open()
        except sqlite3.DatabaseError as err:
            raise self._error(err) from err
        try:
            with db:
                yield db
        except sqlite3.DatabaseError as err:
            raise self._error(err) from err
        finally:
            db.close()

    def _error(self, err: sqlite3.DatabaseError) -> StoreError:
        if isinstance(err, sqlite3.OperationalError) and "malformed" not in str(err):
            return StoreError(f"cannot use {self.path}: {err}")
        csv = self.folder / CSV_NAME
        rescue = (f"the rows exported so far are intact in {csv}" if csv.is_file()
                  else f"there is no {CSV_NAME} export next to it")
        return StoreError(f"{self.path} is corrupt ({err}); {rescue}. Move {DB_NAME} aside to start over "
                          "(finished trials are then run again)")

    # ------------------------------------------------------------------ writing
    def set_meta(self, key: str, value: Any) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: Any = None) -> Any:
        with self._connect() as db:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
                return default  # a database whose schema was never written (opened read-only)
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
        """Store a trial that is ``done`` (``row`` is its result), ``diverged`` or ``failed`` (``error`` says why)."""
        if status not in (*FINISHED, "failed"):
            raise ValueError(f"unknown trial status {status!r}")
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
    def set_config_trials(self, trial_ids: list[str]) -> None:
        """Record the ids of the trials the folder's config (``study.yaml``) expands to now (the runner does)."""
        self.set_meta("config_trials", sorted(trial_ids))

    def config_trials(self) -> set[str] | None:
        """The ids recorded by :meth:`set_config_trials`; ``None`` for a store written before they were recorded."""
        ids = self.meta("config_trials")
        return None if ids is None else set(ids)

    def superseded_ids(self) -> set[str]:
        """Finished trials the config no longer expands to: their definition or the config changed since they
        ran. They stay in the store but leave :meth:`table` (so reports, ``results.csv`` and ``predict``)."""
        current = self.config_trials()
        return set() if current is None else self.finished_ids() - current

    def trial_config(self, trial_id: str) -> dict[str, Any] | None:
        """The stored config (the trial's dict, with ``study``) of ``trial_id``; None if the store has no such trial."""
        with self._connect() as db:
            found = db.execute("SELECT config FROM trials WHERE trial_id = ?", (trial_id,)).fetchone()
        return None if found is None else json.loads(found[0])

    def trial_result(self, trial_id: str) -> dict[str, Any] | None:
        """The stored result row of ``trial_id``; None if the store has no such trial or it has no row (failed)."""
        with self._connect() as db:
            found = db.execute("SELECT row FROM trials WHERE trial_id = ?", (trial_id,)).fetchone()
        return None if found is None or found[0] is None else json.loads(found[0])

    def finished_ids(self) -> set[str]:
        """Ids of finished trials, ``done`` or ``diverged`` (failed trials are retried on resume)."""
        with self._connect() as db:
            return {r[0] for r in db.execute("SELECT trial_id FROM trials WHERE status IN ('done', 'diverged')")}

    def failures(self) -> list[tuple[str, str]]:
        """``(trial_id, error)`` of failed trials."""
        return self.errors("failed")

    def errors(self, status: str) -> list[tuple[str, str]]:
        """``(trial_id, error)`` of the trials with ``status`` (``failed`` or ``diverged``)."""
        with self._connect() as db:
            return list(db.execute("SELECT trial_id, error FROM trials WHERE status = ? ORDER BY finished", (status,)))

    def counts(self) -> dict[str, int]:
        """Number of trials per status."""
        with self._connect() as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM trials GROUP BY status").fetchall())

    def table(self, include_failed: bool = False, *, include_diverged: bool = False,
              study: str | None = None, include_superseded: bool = False) -> pd.DataFrame:
        """One row per trial: ``trial_id``, ``status`` and the trial's result columns.

        Only ``done`` trials unless ``include_diverged``/``include_failed``; only trials of ``study`` if given;
        only trials of the config as last run (:meth:`config_trials`) unless ``include_superseded``.
        """
        statuses = ["done"] + ["diverged"] * include_diverged + ["failed"] * include_failed
        query = f"SELECT trial_id, status, row, error, finished FROM trials WHERE status IN ({','.join('?' * len(statuses))})"
        params: list[Any] = list(statuses)
        if study is not None:
            query += " AND study = ?"
            params.append(study)
        with self._connect() as db:
            records = db.execute(query + " ORDER BY finished", params).fetchall()
        current = None if include_superseded else self.config_trials()
        rows = []
        for trial_id, status, row, error, _ in records:
            if current is not None and trial_id not in current:
                continue
            data = {"trial_id": trial_id, "status": status}
            data.update(json.loads(row) if row else {})
            if error:
                data["error"] = error
            rows.append(data)
        return pd.DataFrame(rows)

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a sound database."""
        with self._connect() as db:
            return "\n".join(r[0] for r in db.execute("PRAGMA integrity_check"))

    def export_csv(self, path: str | Path | None = None) -> Path:
        """Write the table of finished trials to ``DIR/results.csv`` (or ``path``), atomically.

        The table goes to a uniquely named temporary file beside the target, then replaces it in one
        step: readers never see a partial file, and concurrent exports cannot clash.
        """
        path = Path(path) if path is not None else self.folder / CSV_NAME
        table = self.table().map(lambda v: json.dumps(v) if isinstance(v, dict | list) else v)
        with replacing(path, "w", newline="") as out:
            table.to_csv(out, index=False)
        return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a results row")
