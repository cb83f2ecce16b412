"""Features recomputed from each recorded row's graph: the old definitions reproduce the recorded values
exactly (so the graphs are the networks' graphs), the authors' describe the networks' own layers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparsewire.graphs.features import FEATURE_NAMES
from sparsewire.performance_prediction import predict_performance
from sparsewire.performance_prediction.recompute import recompute_features

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def _recorded(name: str, rows: int) -> pd.DataFrame:
    path = RESULTS / name / "results.csv"
    if not path.exists():
        pytest.skip(f"no recorded {name} rows")
    table = pd.read_csv(path)
    return table[table["status"] == "done"].head(rows).reset_index(drop=True)


@pytest.mark.parametrize(("name", "rows"), [("reber-structure", 24), ("reber-structure-repeats", 6), ("prior-mnist", 4)])
def test_old_definitions_reproduce_recorded_rows_and_new_ones_describe_the_network(name, rows):
    table = _recorded(name, rows)
    assert "feature_convention" not in table
    same, count = recompute_features(table, "sparsewire-v1", force=True)
    assert count == len(table)
    np.testing.assert_allclose(same[FEATURE_NAMES].to_numpy(float), table[FEATURE_NAMES].to_numpy(float), rtol=1e-12)
    new, count = recompute_features(table)
    assert count == len(table) and set(new["feature_convention"]) == {"stier2021"}
    sizes = table["layer_sizes"].map(json.loads)
    assert (new["source_nodes"] == sizes.map(lambda s: s[0])).all()  # the network's first layer
    assert (new["sink_nodes"] == sizes.map(lambda s: s[-1])).all()  # and its last
    assert (new["layers"] == sizes.map(len)).all()
    np.testing.assert_allclose(new["density"], table["density"] / 2)  # E / (N (N - 1)) instead of 2E / (N (N - 1))
    again, count = recompute_features(new)
    assert count == 0 and again[FEATURE_NAMES].equals(new[FEATURE_NAMES])


def test_predict_recomputes_recorded_rows_and_says_so():
    table = _recorded("reber-structure", 60)
    [result] = predict_performance(table, predictors=["bayesian-ridge"], folds=3, repeats=1, ablations=False)
    assert "recomputed from their graphs" in result.feature_note and "60 rows" in result.feature_note
    [kept] = predict_performance(table, predictors=["bayesian-ridge"], folds=3, repeats=1, ablations=False,
                                 recompute=False)
    assert "sparsewire-v1" in kept.feature_note and "recomputed" not in kept.feature_note
