"""``study: prior`` end to end on a small real MNIST slice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sparsewire.graphs.features import FEATURE_NAMES
from sparsewire.results.report import write_report
from sparsewire.studies import load_config, run_study
from sparsewire.studies.config import ConfigError
from sparsewire.studies.prior import NodeDraw, PriorStudyConfig
from sparsewire.studies.runner import expand

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_prior_study_on_a_slice(shared_data, tmp_path):
    study_type, config = load_config(CONFIGS / "prior-quick.yaml", [
        f"dataset.data_dir={shared_data}", "dataset.train_limit=600", "dataset.val_size=300", "train.epochs=1",
        "priors=[{generator: watts-strogatz, nodes: [20], params: {k: 4, p: 0.3}}, "
        "{generator: barabasi-albert, nodes: [20], params: {m: 2}}]"])
    summary = run_study(study_type, config, tmp_path, progress=False, echo=lambda s: None)
    assert (summary.done, summary.failed) == (2, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    assert set(FEATURE_NAMES) <= set(table.columns)
    assert (table["nodes"] == 20).all() and table["test_accuracy"].between(0, 1).all()
    assert (table["dead_units"] == 0).all()  # the output reads every sink: no node is dead
    report = write_report(tmp_path).read_text()
    assert "too few trials" in report and "barabasi-albert" in report  # 2 trials: no correlations
    assert (tmp_path / "accuracy_vs_nodes.png").exists()
    again = run_study(study_type, config, tmp_path, progress=False, echo=lambda s: None)
    assert (again.done, again.skipped) == (0, 2)


def test_bad_prior_configs_are_rejected(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("study: prior\npriors: [{generator: small-world, nodes: [10]}]\n")
    with pytest.raises((ConfigError, ValueError)):
        load_config(path)
    path.write_text("study: prior\npriors: [{generator: erdos-renyi, nodes: [10]}]\nepochs: 3\n")
    with pytest.raises((ConfigError, ValueError)):
        load_config(path)


def test_drawn_node_counts_expand_into_distinct_seeded_trials(tmp_path):
    path = tmp_path / "drawn.yaml"
    draw = "{uniform: [50, 800], count: 40, seed: 3}"
    path.write_text(f"study: prior\nseeds: [0, 1]\npriors: [{{generator: barabasi-albert, nodes: {draw}, "
                    "params: {m: 2}}]\n")
    study_type, config = load_config(path)
    trials = study_type.trials(config)
    sizes = [t.nodes for t in trials[::2]]
    assert len(trials) == 80 and [t.seed for t in trials[:2]] == [0, 1]
    assert len(set(sizes)) == 40 and all(50 <= n <= 800 for n in sizes)  # distinct, in range
    assert sizes == NodeDraw(uniform=(50, 800), count=40, seed=3).sizes()  # the same draw every time
    assert sizes != NodeDraw(uniform=(50, 800), count=40, seed=4).sizes()
    assert sorted(NodeDraw(uniform=(5, 9), count=5).sizes()) == [5, 6, 7, 8, 9]  # the whole range, once each
    listed = PriorStudyConfig(priors=[{"generator": "barabasi-albert", "nodes": sizes, "params": {"m": 2}}],
                              seeds=[0, 1])
    assert [t.trial_id for t in expand(study_type, listed)] == [t.trial_id for t in expand(study_type, config)]


@pytest.mark.parametrize("draw", ["{uniform: [50, 60], count: 12}", "{uniform: [60, 50], count: 1}",
                                  "{uniform: [0, 50], count: 1}", "{uniform: [50, 60], count: 0}",
                                  "{uniform: [50, 60], count: 2, step: 2}"])
def test_bad_node_draws_are_rejected(tmp_path, draw):
    path = tmp_path / "bad.yaml"
    path.write_text(f"study: prior\npriors: [{{generator: erdos-renyi, nodes: {draw}}}]\n")
    with pytest.raises((ConfigError, ValueError)):
        load_config(path)


def test_user_graphml_prior(shared_data, tmp_path):
    from sparsewire.graphs.io import save_graphml
    from sparsewire.graphs.priors import generate

    path = save_graphml(generate("erdos-renyi", 15, seed=0, p=0.3), tmp_path / "mine.graphml")
    study_type, config = load_config(CONFIGS / "prior-quick.yaml", [
        f"dataset.data_dir={shared_data}", "dataset.train_limit=600", "dataset.val_size=300", "train.epochs=1",
        f"priors=[{{generator: graphml, path: {path}}}]", "seeds=[0, 1]"])
    summary = run_study(study_type, config, tmp_path / "run", progress=False, echo=lambda s: None)
    assert (summary.done, summary.failed) == (2, 0)
    table = pd.read_csv(tmp_path / "run" / "results.csv")
    assert (table["nodes"] == 15).all() and set(table["generator"]) == {"graphml"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: prior\npriors: [{generator: graphml}]\n")
    with pytest.raises((ConfigError, ValueError)):
        load_config(bad)
