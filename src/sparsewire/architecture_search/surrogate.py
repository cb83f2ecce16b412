"""An online surrogate for architecture search: a random forest over a genome's structure, retrained on
every network trained so far, that screens candidates before any is trained.

Features (:func:`genome_features`): the 23 structural features of the genome's DAG
(:func:`~sparsewire.graphs.features.structural_features`, Stier et al. 2021's definitions) and the space's
size features (log10 parameters and MACs; for cells the mean width and the share of cells per stage).
The forest's per-tree spread is its uncertainty: candidates are ranked by the upper confidence bound
``μ + κσ`` or by expected improvement over the best accuracy so far (Jones et al. 1998, Eq. 15).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from sparsewire.architecture_search.spaces import SearchSpace


def genome_features(space: SearchSpace, genome: Any) -> dict[str, float]:
    """The 23 structural features of ``space.graph(genome)`` and ``space.size_features(genome)``."""
    from sparsewire.graphs.features import structural_features

    return structural_features(space.graph(genome)) | space.size_features(genome)


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, kappa: float = 1.0) -> np.ndarray:
    """``mean + kappa * std``."""
    return np.asarray(mean) + kappa * np.asarray(std)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """``E[max(Y − best, 0)]`` for ``Y ~ N(mean, std²)``: ``(μ − best)Φ(z) + σφ(z)``, ``z = (μ − best)/σ``
    (the improvement itself where ``σ = 0``)."""
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    gain = mean - best
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, gain / std, 0.0)
    return np.where(std > 0, gain * stats.norm.cdf(z) + std * stats.norm.pdf(z), np.maximum(gain, 0.0))


class ForestSurrogate:
    """A random forest regressor on genome features whose per-tree spread is its uncertainty.

    Args:
        trees: forest size.
        seed: the forest's random state (refits are deterministic).
    """

    def __init__(self, trees: int = 100, seed: int = 0) -> None:
        self.trees, self.seed = trees, seed
        self.columns: list[str] = []
        self.model: Any = None
        """The fitted ``RandomForestRegressor`` (None before :meth:`fit`)."""

    def fit(self, features: Sequence[dict[str, float]], targets: Sequence[float]) -> ForestSurrogate:
        from sklearn.ensemble import RandomForestRegressor

        if len(features) != len(targets) or len(targets) < 2:
            raise ValueError(f"need >= 2 rows with one target each (got {len(features)} rows, {len(targets)} targets)")
        self.columns = sorted(features[0])
        model = RandomForestRegressor(n_estimators=self.trees, min_samples_leaf=2, random_state=self.seed)
        self.model = model.fit(self._matrix(features), np.asarray(targets, float))
        return self

    def _matrix(self, features: Sequence[dict[str, float]]) -> np.ndarray:
        return np.array([[row[c] for c in self.columns] for row in features], dtype=float)

    def predict(self, features: Sequence[dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over the trees of each row's prediction."""
        if self.model is None:
            raise RuntimeError("fit the surrogate first")
        x = self._matrix(features)
        per_tree = np.stack([tree.predict(x) for tree in self.model.estimators_])
        return per_tree.mean(0), per_tree.std(0)


def rank_correlation(predicted: Sequence[float], actual: Sequence[float]) -> float:
    """Spearman's ρ (nan with fewer than 3 pairs or a constant side)."""
    if len(predicted) < 3 or len(set(predicted)) < 2 or len(set(actual)) < 2:
        return math.nan
    return float(stats.spearmanr(predicted, actual).statistic)
