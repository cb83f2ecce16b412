"""Results tables for performance prediction: loading, feature columns, clean rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sparsewire.errors import SparsewireError


class PredictError(SparsewireError, ValueError):
    """A table or request that performance prediction cannot work with."""


def load_results(source: str | Path | pd.DataFrame, *, include_diverged: bool = False) -> pd.DataFrame:
    """A results table from a DataFrame, a CSV file, or a study folder (its ``results.sqlite`` or ``results.csv``).

    A study folder gives its ``done`` trials (read-only); ``include_diverged`` adds the diverged ones (no
    accuracy: they count as dropped rows).
    """
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if path.is_dir():
        from sparsewire.results import DB_NAME, ResultsStore

        if (path / DB_NAME).exists():
            return ResultsStore(path, readonly=True).table(include_diverged=include_diverged)
        path = path / "results.csv"
    if not path.exists():
        raise PredictError(f"{source} is neither a study folder with results nor a CSV file")
    return pd.read_csv(path)


def default_features(table: pd.DataFrame) -> list[str]:
    """The 23 structural features (:data:`sparsewire.graphs.features.FEATURE_NAMES`) present in ``table``."""
    from sparsewire.graphs.features import FEATURE_NAMES

    present = [f for f in FEATURE_NAMES if f in table.columns]
    if not present:
        raise PredictError("the table has none of the 23 structural feature columns; name them with features=[...]")
    return present


def count_features() -> list[str]:
    """The count-only features (layers, nodes, edges, sources, sinks) — the ablation baseline."""
    from sparsewire.graphs.features import COUNT_FEATURES

    return list(COUNT_FEATURES)


def clean(table: pd.DataFrame, features: Sequence[str], target: str) -> tuple[pd.DataFrame, int]:
    """Rows with finite values in every feature and the target; also how many rows were dropped."""
    missing = [c for c in [*features, target] if c not in table.columns]
    if missing:
        raise PredictError(f"the table lacks columns {missing}; it has {list(table.columns)}")
    if not features:
        raise PredictError("no feature columns given")
    numeric = table[[*features, target]].apply(pd.to_numeric, errors="coerce")
    keep = np.isfinite(numeric.to_numpy(dtype=float)).all(axis=1)
    return numeric[keep].reset_index(drop=True), int((~keep).sum())
