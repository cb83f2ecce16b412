"""Weisfeiler–Lehman pattern frequencies as a predictor input that reads the graph itself."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.graphs.build import orient
from sparsewire.graphs.priors import generate
from sparsewire.performance_prediction import predict_performance
from sparsewire.performance_prediction.graph_kernel import add_wl_columns, wl_columns, wl_histogram

ROOT = Path(__file__).resolve().parents[2]


def dag(n, seed, m=2):
    return orient(generate("barabasi-albert", n, seed=seed, m=m), "edge-order", seed)


@settings(max_examples=10, deadline=None)
@given(st.integers(6, 30), st.integers(0, 1000), st.integers(1, 3))
def test_histograms_are_invariant_to_relabelling_and_count_every_node_each_round(n, seed, iterations):
    g = dag(n, seed)
    mapping = dict(zip(g.nodes, np.random.default_rng(seed).permutation(n).tolist(), strict=True))
    h = wl_histogram(g, iterations)
    assert h == wl_histogram(nx.relabel_nodes(g, mapping), iterations)
    assert sum(h.values()) == n * (iterations + 1)


def test_reversed_edges_are_another_graph():
    g = dag(20, 1)
    assert wl_histogram(g) != wl_histogram(g.reverse())


def test_columns_are_frequencies_of_patterns_shared_by_enough_graphs():
    graphs = [dag(n, n) for n in range(10, 30)]
    table = wl_columns(graphs, iterations=2, min_graphs=3, max_columns=40)
    assert len(table) == 20 and 0 < table.shape[1] <= 40
    assert ((table > 0).sum(axis=0) >= 3).all()
    every = wl_columns(graphs, iterations=2, min_graphs=1, max_columns=10_000)
    round0 = [c for c in every.columns if c.startswith("wl_0_")]
    np.testing.assert_allclose(every[round0].sum(axis=1), 1.0)  # every node has one degree label


def graph_table():
    rows = []
    for i in range(30):
        m = 1 + i % 3
        rows.append({"generator": "barabasi-albert", "nodes": 12 + i % 7, "graph_seed": i, "param_m": m,
                     "orientation": "edge-order", "test_accuracy": 0.5 + 0.1 * m + 0.01 * (i % 5)})
    table = pd.DataFrame(rows)
    from sparsewire.performance_prediction.recompute import recompute_features

    return recompute_features(table.assign(**{"feature_convention": "stier2021"}), force=True)[0]


def test_predict_scores_the_graph_reading_sets():
    table = graph_table()
    [result] = predict_performance(table, graph="wl", predictors=["random-forest"], folds=3, repeats=1,
                                   ablations=False)
    sets = set(result.cv["features"])
    assert {"all", "graph (WL)", "all + graph (WL)"} <= sets
    wl = result.cv[result.cv["features"] == "graph (WL)"].iloc[0]
    assert wl["r2_mean"] > 0.5  # m (edges per new node) shows in the pattern mix


def test_the_cli_prints_what_the_graph_adds(tmp_path, capsys):
    from sparsewire.cli.main import main

    graph_table().to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(tmp_path / "rows.csv"), "--graph", "wl", "--predictors", "random-forest", "--folds",
                 "3", "--repeats", "1", "--no-ablations", "--no-progress"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("all rows: 30 rows, best random-forest R2 = ") and "with the graph (WL) random-forest R2" in line
    assert (tmp_path / "prediction.md").exists()


def test_rows_without_graphs_are_refused():
    from sparsewire.performance_prediction.table import PredictError

    with pytest.raises(PredictError, match="name their graph"):
        predict_performance(pd.DataFrame({"nodes": range(12), "test_accuracy": np.linspace(0, 1, 12)}), graph="wl",
                            features=["nodes"], folds=3, repeats=1)
    assert add_wl_columns(pd.DataFrame({"x": [1]}))[1] == []
