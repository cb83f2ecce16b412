"""The two Reber study types end to end on real data slices (tiny in the default run, the quick configs slow)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sparsewire.graphs.features import FEATURE_NAMES, directed_counts
from sparsewire.graphs.priors import generate
from sparsewire.results import ResultsStore
from sparsewire.results.report import write_report
from sparsewire.studies import ConfigError, run_study, validate
from sparsewire.studies.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
QUIET = {"progress": False, "echo": lambda s: None}


def run(config, out):
    study_type, parsed = validate(config)
    return run_study(study_type, parsed, out, **QUIET)


def tiny_prune(reber_dir, **extra):
    config = {
        "study": "reber-prune",
        "data": {"data_dir": str(reber_dir.parent), "val_size": 100, "train_limit": 400, "test_limit": 300},
        "cells": ["rnn-tanh"],
        "model": {"hidden_size": 6, "embedding_dim": 4},
        "train": {"epochs": 1, "batch_size": 64, "lr": 0.01},
        "retrain": {"epochs": 1, "batch_size": 64},
        "targets": ["i2h", "both"],
        "allocations": ["global", "per-layer"],
        "percents": [30, 100],
    }
    return {**config, **extra}


def test_reber_prune_tiny(reber_dir, tmp_path):
    summary = run(tiny_prune(reber_dir), tmp_path)
    # i2h is a single matrix, so only per-layer runs for it; "both" runs with both allocations
    assert (summary.total, summary.done, summary.failed) == (6, 6, 0)
    table = ResultsStore(tmp_path).table()
    assert table["dense_test_accuracy"].nunique() == 1  # one cached dense network shared by all trials
    full = table[table["prune_percent"] == 100]
    assert (full["sparsity_target"] == 1.0).all()
    # with no input weights left every string gets the same answer
    labels = pd.read_csv(reber_dir / "test_data.csv")["valid"].head(300)
    test_valid = float(labels.mean())
    for acc in full["test_accuracy_before_retrain"]:
        assert acc == pytest.approx(test_valid) or acc == pytest.approx(1 - test_valid)
    part = table[table["prune_percent"] == 30]
    assert ((part["sparsity_target"] - 0.3).abs() <= 1 / 24).all()  # rounding on the 24-weight i2h matrix
    assert (part["density_recurrent"] < 1).all()
    text = write_report(tmp_path).read_text()
    assert "paper" in text and "i2h before" in text and (tmp_path / "accuracy_vs_pruning.png").exists()


def test_reber_prune_config_errors(reber_dir):
    with pytest.raises(ConfigError, match="percents"):
        validate(tiny_prune(reber_dir, percents=[0]))
    with pytest.raises(ConfigError, match="targets"):
        validate(tiny_prune(reber_dir, targets=["output"]))
    with pytest.raises(ConfigError, match="Extra inputs"):
        validate(tiny_prune(reber_dir, hidden=3))


def tiny_structure(reber_dir, priors):
    return {
        "study": "reber-structure",
        "data": {"data_dir": str(reber_dir.parent), "val_size": 50, "train_limit": 150, "test_limit": 150},
        "cells": ["lstm"],
        "priors": priors,
        "train": {"epochs": 1, "batch_size": 64},
        "seed": 3,  # graph seeds differ from the features' default orientation seed
    }


def test_reber_structure_tiny_with_a_failing_prior(reber_dir, tmp_path):
    priors = [
        {"generator": "barabasi-albert", "networks": 2, "min_nodes": 10, "max_nodes": 12},
        {"generator": "watts-strogatz", "networks": 1, "min_nodes": 10, "max_nodes": 10, "k": 12},  # k >= n: invalid
    ]
    summary = run(tiny_structure(reber_dir, priors), tmp_path)
    assert (summary.total, summary.done, summary.failed) == (3, 2, 1)
    table = ResultsStore(tmp_path).table()
    assert set(FEATURE_NAMES) <= set(table.columns)
    assert table["nodes"].between(10, 12).all()
    assert (table["param_m"] == 1).all()  # the paper's m = n // 10
    assert table["test_accuracy"].between(0, 1).all()
    # the directed counts describe the DAG the network was built on (default: edge-order orientation)
    assert (table["layers"] == table["layer_sizes"].map(len)).all()
    assert (table["source_nodes"] == table["layer_sizes"].map(lambda s: json.loads(s)[0] if isinstance(s, str) else s[0])).all()
    assert set(table["orientation"]) == {"edge-order"} and set(table["feature_convention"]) == {"stier2021"}
    for row in table.itertuples():
        graph = generate(row.generator, int(row.nodes), seed=int(row.graph_seed), m=int(row.param_m))
        built = directed_counts(graph)
        assert {k: getattr(row, k) for k in built} == built
    [(_, error)] = ResultsStore(tmp_path).failures()
    assert "watts-strogatz" in error
    again = run(tiny_structure(reber_dir, priors), tmp_path)
    assert (again.skipped, again.done, again.failed) == (2, 0, 1)  # failed trials are retried
    here = write_report(tmp_path).read_text()
    assert "Failed trials" in here and "trials per active wall hour" in here
    assert "(accuracy_vs_nodes.png)" in here and (tmp_path / "accuracy_vs_nodes.png").stat().st_size > 0
    # written elsewhere (--out), the report still reads the study's own store and prediction files
    (tmp_path / "prediction.md").write_text("# prediction\n")
    elsewhere = write_report(tmp_path, to=tmp_path / "elsewhere").read_text()
    assert "trials per active wall hour" in elsewhere
    assert "[prediction.md](../prediction.md)" in elsewhere
    assert "[prediction.md](prediction.md)" in write_report(tmp_path).read_text()


def test_reber_structure_with_the_authors_conventions(reber_dir, tmp_path):
    config = tiny_structure(reber_dir, [{"generator": "connected-watts-strogatz", "networks": 2, "min_nodes": 10,
                                         "max_nodes": 14, "p": 1.0, "tries": 10}])
    config |= {"embedding_dim": "first-layer", "readout": "last-step", "padding_embedding": "learned",
               "cells": ["gru"]}
    summary = run(config, tmp_path)
    assert (summary.done, summary.failed) == (2, 0)
    table = ResultsStore(tmp_path).table()
    assert set(table["readout"]) == {"last-step"} and set(table["orientation"]) == {"edge-order"}
    assert (table["embedding_size"] == table["source_nodes"]).all()  # the embedding is as wide as the first layer
    assert (table["param_tries"] == 10).all() and (table["param_p"] == 1.0).all()


def test_last_step_read_out_is_tested_in_training_sized_batches():
    study_type, config = load_config(CONFIGS / "reber-structure-quick.yaml", ["train.batch_size=128"])
    last_valid = study_type.trials(config)[0]
    last_step = last_valid.model_copy(update={"readout": "last-step"})
    assert last_step.eval_batch_size == 128
    assert last_valid.eval_batch_size == 2048  # last-valid: batching changes nothing


def test_reber_structure_trials_are_seeded_and_interleaved():
    study_type, config = load_config(CONFIGS / "reber-structure.yaml")
    trials = study_type.trials(config)
    assert len(trials) == 400
    assert [t.cell for t in trials[:4]] == ["gru", "lstm", "gru", "lstm"]
    assert [t.index for t in trials[:8]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert all(10 <= t.nodes <= 50 for t in trials)
    ws = [t for t in trials if t.generator == "watts-strogatz"]
    assert all(t.params["k"] == max(2, t.nodes // 5) and t.params["p"] == 0.5 for t in ws)
    assert trials == study_type.trials(config)
    assert "train_seed" not in trials[0].model_dump()  # single-run studies keep the trial ids they were recorded with


def test_reber_structure_repeated_runs_share_the_structure(reber_dir, tmp_path):
    config = tiny_structure(reber_dir, [{"generator": "barabasi-albert", "networks": 1, "min_nodes": 12, "max_nodes": 12}])
    summary = run({**config, "train_seeds": [0, 1]}, tmp_path)
    assert (summary.done, summary.failed) == (2, 0)
    table = ResultsStore(tmp_path).table().sort_values("train_seed")
    assert table["train_seed"].tolist() == [0, 1]
    assert (table[list(FEATURE_NAMES)].nunique() == 1).all()  # same oriented graph
    assert table["layer_sizes"].map(tuple).nunique() == 1
    with pytest.raises(ConfigError, match="train_seeds"):
        validate({**config, "train_seeds": [1, 1]})


SLICE = {
    "reber-prune-quick": ["data.train_limit=200", "data.val_size=50", "data.test_limit=100", "train.epochs=1",
                          "retrain.epochs=1", "percents=[100]"],
    "reber-structure-quick": ["data.train_limit=150", "data.val_size=50", "data.test_limit=100"],
}


@pytest.mark.parametrize("name", ["reber-prune-quick", "reber-structure-quick"])
def test_quick_configs_run_on_a_slice(name, reber_dir, tmp_path):
    """The shipped quick configs, shrunk to a data slice for the default run (in full: the slow test below)."""
    study_type, config = load_config(CONFIGS / f"{name}.yaml", [f"data.data_dir={reber_dir.parent}", *SLICE[name]])
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert summary.failed == 0 and summary.done == summary.total > 0
    assert ResultsStore(tmp_path).table()["test_accuracy"].between(0, 1).all()
    assert write_report(tmp_path).exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reber-prune-quick", "reber-structure-quick"])
def test_quick_configs_run(name, tmp_path):
    study_type, config = load_config(CONFIGS / f"{name}.yaml")
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert summary.failed == 0 and summary.done == summary.total
    table = ResultsStore(tmp_path).table()
    assert table["test_accuracy"].between(0, 1).all()
    assert write_report(tmp_path).exists()
    assert yaml.safe_load((tmp_path / "study.yaml").read_text())["study"] == study_type.name


def test_active_hours_leave_out_idle_gaps_between_sessions():
    from sparsewire.results.reports.reber_structure import active_hours

    hour = 3600.0
    # two sessions of one hour each, a day apart, a trial finishing every 5 minutes; cohorts take at most 10
    finished = [*np.arange(0, hour + 1, 300), *(25 * hour + np.arange(0, hour + 1, 300))]
    assert active_hours(finished, longest=600) == pytest.approx((24 * 300 + 600) / hour)
    assert active_hours(finished, longest=30 * hour) == pytest.approx(26.0)  # no gap is idle: the plain span
    assert active_hours(finished[::-1], longest=30 * hour) == pytest.approx(26.0)  # order does not matter
    assert active_hours([5.0], longest=600) == 0.0
