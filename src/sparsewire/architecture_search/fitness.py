"""Fitness from a performance predictor: accuracy predicted from structural features alone
(Stier, Darji & Granitzer 2021), so a genetic search scores a candidate in milliseconds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from sparsewire.performance_prediction.predictors import make_predictor
from sparsewire.performance_prediction.table import PredictError, clean, default_features, load_results

if TYPE_CHECKING:
    from sparsewire.graphs.features import Convention


class PredictorFitness:
    """A scikit-learn regressor fitted on a results table (structural features → ``target``), called on a
    graph's :func:`~sparsewire.graphs.features.structural_features` — computed with the feature convention
    of the table's rows (``feature_convention`` column; rows recorded before it existed are
    ``sparsewire-v1``), so that the graph's features mean what the predictor learned from.

    Args:
        source: a results table, CSV file or study folder (e.g. a ``reber-structure`` run).
        target: the column to predict (default ``test_accuracy``).
        features: feature columns (default: the 23 structural features present).
        predictor: ``bayesian-ridge``, ``random-forest``, ``adaboost`` or ``gradient-boosting``.
        where: ``{column: value}`` filters on the table first (e.g. ``{"cell": "lstm"}``).
        seed: the predictor's random state.
    """

    def __init__(self, source: str | Path | pd.DataFrame, *, target: str = "test_accuracy",
                 features: Sequence[str] | None = None, predictor: str = "random-forest",
                 where: dict[str, object] | None = None, seed: int = 0) -> None:
        table = load_results(source)
        if "status" in table:
            table = table[table["status"] == "done"]
        for column, value in (where or {}).items():
            if column not in table:
                raise PredictError(f"cannot filter on {column!r}: the table has no such column")
            table = table[table[column] == value]
        from sparsewire.graphs.errors import GraphError
        from sparsewire.graphs.features import table_convention

        try:
            convention = table_convention(table)  # one of graphs.features.CONVENTIONS
        except GraphError as err:
            raise PredictError(str(err)) from err
        self.convention: Convention = "sparsewire-v1" if convention == "sparsewire-v1" else "stier2021"
        self.features = list(features) if features is not None else default_features(table)
        rows, _ = clean(table, self.features, target)
        if len(rows) < 10:
            raise PredictError(f"only {len(rows)} usable rows to fit the predictor on (need at least 10)")
        self.rows, self.target, self.predictor_name = len(rows), target, predictor
        self.model = make_predictor(predictor, seed).fit(rows[self.features].to_numpy(float), rows[target].to_numpy(float))

    def vector(self, graph: nx.Graph) -> np.ndarray:
        from sparsewire.graphs.features import structural_features

        values = structural_features(graph, convention=self.convention)
        return np.array([[values[f] for f in self.features]], dtype=float)

    def __call__(self, graph: nx.Graph) -> float:
        return float(self.model.predict(self.vector(graph))[0])
