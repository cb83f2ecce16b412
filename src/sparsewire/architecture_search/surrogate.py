"""An online surrogate for architecture search: a random forest over a genome's structure, retrained on
every network trained so far, that screens candidates before any is trained.

Features (:func:`genome_features`): the 23 structural features of the genome's DAG
(:func:`~sparsewire.graphs.features.structural_features`, Stier et al. 2021's definitions) and the space's
size features (log10 parameters and MACs; for cells the mean width and the share of cells per stage);
optionally (:class:`SurrogateFeatures`) the graph-native Weisfeiler–Lehman pattern frequencies of the DAG
(:mod:`sparsewire.performance_prediction.graph_kernel`, Shervashidze et al. 2011, Sec. 3) over a vocabulary
refitted on the genomes seen so far.
The forest's per-tree spread is its uncertainty: candidates are ranked by the upper confidence bound
``μ + κσ`` or by expected improvement over the best accuracy so far (Jones et al. 1998, Eq. 15).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx
import numpy as np
from scipy import stats

from sparsewire.architecture_search.spaces import SearchSpace
from sparsewire.performance_prediction.graph_kernel import (
    wl_frequencies,
    wl_histogram,
    wl_names,
    wl_vocabulary,
)


def genome_features(space: SearchSpace, genome: Any) -> dict[str, float]:
    """The 23 structural features of ``space.graph(genome)`` and ``space.size_features(genome)``."""
    from sparsewire.graphs.features import structural_features

    return structural_features(space.graph(genome)) | space.size_features(genome)


class WLFeatures:
    """Weisfeiler–Lehman pattern frequencies of graphs named by key, over a vocabulary fitted on the graphs
    :meth:`fit` saw (label-free: patterns present in at least ``min_graphs`` of them, the ``max_columns`` most
    frequent; :func:`~sparsewire.performance_prediction.graph_kernel.wl_vocabulary`). Refit it whenever the
    set of seen graphs grows; the same keys give the same vocabulary, whatever their order.

    Args:
        graph_of: a key's graph (e.g. a genome key's DAG); each key's histogram is computed once.
        iterations: WL rounds.
        attributes: node attributes appended to the initial degree labels (a cell's ``channels``, ``stage``).
        min_graphs, max_columns: the vocabulary's filters.
    """

    def __init__(self, graph_of: Callable[[str], nx.DiGraph], *, iterations: int = 3,
                 attributes: Sequence[str] = (), min_graphs: int = 3, max_columns: int = 64) -> None:
        self.graph_of, self.iterations, self.attributes = graph_of, iterations, tuple(attributes)
        self.min_graphs, self.max_columns = min_graphs, max_columns
        self.vocabulary: list[str] = []
        self._histograms: dict[str, tuple[Counter, int]] = {}

    def _histogram(self, key: str) -> tuple[Counter, int]:
        if key not in self._histograms:
            graph = self.graph_of(key)
            self._histograms[key] = (wl_histogram(graph, self.iterations, self.attributes), graph.number_of_nodes())
        return self._histograms[key]

    def fit(self, keys: Sequence[str]) -> WLFeatures:
        """Choose the vocabulary from the graphs of ``keys`` (each distinct key counted once)."""
        self.vocabulary = wl_vocabulary([self._histogram(k)[0] for k in sorted(set(keys))],
                                        min_graphs=self.min_graphs, max_columns=self.max_columns)
        return self

    def __call__(self, key: str) -> dict[str, float]:
        histogram, nodes = self._histogram(key)
        return dict(zip(wl_names(self.vocabulary), wl_frequencies(histogram, nodes, self.vocabulary), strict=True))


class SurrogateFeatures:
    """A genome's surrogate features by key: :func:`genome_features`, plus :class:`WLFeatures` when ``wl``
    (then :meth:`refit` on the genomes seen so far before featurising). Each genome's features are computed once.

    Args:
        space: the genomes' space (its ``node_attributes`` label the WL nodes).
        wl: add the WL pattern frequencies.
    """

    def __init__(self, space: SearchSpace, wl: bool = False) -> None:
        self.space = space
        self.wl = WLFeatures(lambda key: space.graph(space.from_key(key)), attributes=space.node_attributes) if wl else None
        self._base: dict[str, dict[str, float]] = {}

    def refit(self, keys: Sequence[str]) -> SurrogateFeatures:
        """Refit the WL vocabulary on ``keys`` (no-op without WL features)."""
        if self.wl is not None:
            self.wl.fit(keys)
        return self

    def __call__(self, key: str) -> dict[str, float]:
        if key not in self._base:
            self._base[key] = genome_features(self.space, self.space.from_key(key))
        return self._base[key] | (self.wl(key) if self.wl is not None else {})


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
