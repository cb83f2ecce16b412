"""Repeated training runs of one structure: how much of the accuracy is structure, how much is noise.

A structure-only predictor sees the same features for every run of a structure, so it can at best predict
the structure's mean accuracy. Split the variance of single-run accuracy into a part between structures
(σ²_b) and a part between runs of the same structure (σ²_w, training noise: initialisation, data order)
with the one-way random-effects ANOVA estimator; then

- ``icc = σ²_b / (σ²_b + σ²_w)`` is the largest R² any structure-only predictor can reach on single runs,
- ``mean_ceiling = σ²_b / (σ²_b + σ²_w / k)`` the same for the mean over ``k`` runs per structure.

This is the yardstick next to which an R² such as the 0.81 of Stier, Darji & Granitzer (2021) can be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sparsewire.performance_prediction.table import PredictError


@dataclass(frozen=True)
class Repeatability:
    """Variance of accuracy between structures and between runs of one structure."""

    structures: int
    runs: int
    runs_per_structure: float
    between: float
    """σ²_b, the variance of the structures' true mean accuracies."""
    within: float
    """σ²_w, the variance between runs of one structure (training noise)."""
    icc: float
    """σ²_b / (σ²_b + σ²_w): the R² ceiling of a structure-only predictor on single runs."""
    mean_ceiling: float
    """σ²_b / (σ²_b + σ²_w / k): the R² ceiling on the mean over the k runs of each structure."""

    def as_row(self) -> dict[str, float]:
        return asdict(self)


def _keys(features: Sequence[str], keys: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*keys, *features]))


def repeatability(table: pd.DataFrame, features: Sequence[str], target: str, *,
                  keys: Sequence[str] = ()) -> Repeatability:
    """Variance components of ``target`` over structures (rows with equal ``keys`` + ``features``)."""
    cols = _keys(features, keys)
    missing = [c for c in [*cols, target] if c not in table.columns]
    if missing:
        raise PredictError(f"the table lacks columns {missing}")
    groups = table.groupby(cols, sort=False, dropna=True)[target]
    n = groups.size().to_numpy(dtype=float)
    means = groups.mean().to_numpy(dtype=float)
    total, g = n.sum(), len(n)
    if g < 2 or total <= g:
        raise PredictError(f"need at least 2 structures and some with repeated runs; got {g} structures, "
                           f"{int(total)} rows")
    grand = float(np.sum(n * means) / total)
    ss_between = float(np.sum(n * (means - grand) ** 2))
    ss_within = float(groups.apply(lambda s: float(((s - s.mean()) ** 2).sum())).sum())
    ms_between, ms_within = ss_between / (g - 1), ss_within / (total - g)
    n0 = (total - float(np.sum(n**2)) / total) / (g - 1)
    between = max(0.0, (ms_between - ms_within) / n0)
    within = ms_within
    k = total / g
    icc = between / (between + within) if between + within > 0 else float("nan")
    mean_ceiling = between / (between + within / k) if between + within > 0 else float("nan")
    return Repeatability(g, int(total), k, between, within, icc, mean_ceiling)


def average_runs(table: pd.DataFrame, features: Sequence[str], target: str, *,
                 keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per structure: its ``keys``, ``features``, the mean ``target`` over its runs and ``runs``."""
    cols = _keys(features, keys)
    grouped = table.groupby(cols, sort=False, dropna=True)[target]
    means, runs = grouped.mean(), grouped.size()
    # built at once: reset_index() inserts hundreds of key columns (WL patterns) one by one
    return pd.concat([means.index.to_frame(index=False),
                      pd.DataFrame({target: means.to_numpy(), "runs": runs.to_numpy()})], axis=1)
