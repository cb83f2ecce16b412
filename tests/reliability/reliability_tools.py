"""Shared pieces of the reliability suite: a tiny real study (Reber grammar, ~0.1 s a trial) run as a
subprocess, and snapshots of a study folder's results store."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def tiny_study(seeds: int = 1, percents: int = 10, **changes) -> dict:
    """A reber-prune study of ``2 * seeds * percents`` trials of about 0.1 s each."""
    config = {
        "study": "reber-prune",
        "name": "tiny",
        "data": {"val_size": 50, "train_limit": 150, "test_limit": 100},
        "cells": ["gru", "rnn-tanh"],
        "model": {"hidden_size": 4, "embedding_dim": 3},
        "train": {"epochs": 1, "batch_size": 50},
        "retrain": {"epochs": 1, "batch_size": 50},
        "targets": ["h2h"],
        "allocations": ["global"],
        "percents": [10 * (i + 1) for i in range(percents)],
        "seeds": list(range(seeds)),
    }
    config.update(changes)
    return config


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def env() -> dict[str, str]:
    return {**os.environ, "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "sparsewire", *map(str, args)]


def run_cli(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``sparsewire ARGS`` in a subprocess (its output captured)."""
    return subprocess.run(command(*args), capture_output=True, text=True, timeout=timeout, env=env())


def start_cli(*args: str | Path, **popen) -> subprocess.Popen:
    return subprocess.Popen(command(*args), env=env(), text=True, **popen)


def run_args(config: Path, out: Path, data: Path, *extra: str) -> list[str | Path]:
    return ["run", config, "--out", out, "--data-dir", data, "--threads", "1", "--no-progress", "--no-report", *extra]


def finished(out: Path) -> dict[str, tuple[str, float]]:
    """``trial_id -> (status, finished time)`` of the trials stored in ``out`` (read-only)."""
    db_path = out / "results.sqlite"
    if not db_path.exists():
        return {}
    db = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {t: (s, f) for t, s, f in db.execute("SELECT trial_id, status, finished FROM trials")}
    except sqlite3.OperationalError:  # killed before the schema was written
        return {}
    finally:
        db.close()


def integrity(out: Path) -> str:
    db = sqlite3.connect(out / "results.sqlite")
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()
