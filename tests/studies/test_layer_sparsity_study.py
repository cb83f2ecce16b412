import json

import pandas as pd
import pytest

from sparsewire.results.report import write_report
from sparsewire.results.reports.layer_sparsity import best_tradeoffs
from sparsewire.studies import ConfigError, run_study, validate
from sparsewire.studies.runner import expand


def tiny(shared_data, **extra):
    config = {
        "study": "layer-sparsity",
        "name": "tiny-layers",
        "datasets": [{"name": "mnist", "data_dir": str(shared_data), "val_size": 300, "train_limit": 1500,
                      "download": False}],
        "hidden": [16, 16, 16, 16],
        "lambdas": [0.0, 60.0],
        "train": {"epochs": 2, "batch_size": 50, "restore_best": False},
        "refit": {"epochs": 1, "batch_size": 50, "restore_best": False},
        "latency_batch_sizes": [1, 8],
        "latency_rounds": 2,
        "report_samples": 200,
        "seeds": [0],
    }
    config.update(extra)
    return config


@pytest.mark.parametrize("bad", [[-1.0], [0.0, float("nan")], [float("inf")]])
def test_bad_lambda_path_refused(shared_data, bad):
    with pytest.raises(ConfigError, match="λ path"):
        validate(tiny(shared_data, lambdas=bad))


def test_unknown_key_refused(shared_data):
    with pytest.raises(ConfigError, match="width: Extra inputs"):
        validate(tiny(shared_data, width=3))


def test_trials_cover_datasets_lambdas_seeds(shared_data):
    study_type, config = validate(tiny(shared_data, lambdas=[3.0, 0.0, 3.0], seeds=[0, 1]))
    trials = expand(study_type, config)
    assert sorted((t.config["lam"], t.config["seed"]) for t in trials) == [(0.0, 0), (0.0, 1), (3.0, 0), (3.0, 1)]
    _, with_control = validate(tiny(shared_data, lambdas=[0.0, 3.0], seeds=[0], controls=[[8]]))
    trials = expand(study_type, with_control)
    assert sorted((len(t.config["hidden"]), t.config["lam"]) for t in trials) == [(1, 0.0), (4, 0.0), (4, 3.0)]
    with pytest.raises(ConfigError, match="control"):
        validate(tiny(shared_data, controls=[[]]))


def test_end_to_end_on_real_mnist_slice(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data))
    summary = run_study(study_type, config, tmp_path, progress=False, echo=lambda s: None)
    assert (summary.done, summary.failed) == (2, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    base, reg = table[table.lam == 0].iloc[0], table[table.lam > 0].iloc[0]
    assert base.n_collapsed == 0 and base.params_collapsed == base.params_original
    assert reg.n_collapsed == 3 and json.loads(reg.collapsed_layers) == [1, 2, 3]  # all but the first
    assert reg.linear_layers_after == 2 and reg.params_collapsed < reg.params_original
    assert reg.flops_collapsed < reg.flops_original
    assert reg.test_accuracy_collapsed == reg.test_accuracy_penalised  # collapsing changes nothing
    assert reg.collapse_max_abs_diff < 1e-4
    assert reg.input_min < 0 and not reg.first_layer_collapsible
    assert json.loads(reg.negative_weight_fraction)[1:] == [0.0, 0.0, 0.0]
    assert base.test_accuracy_refit > 0.5
    for b in (1, 8):
        assert reg[f"latency_ratio_b{b}"] > 0
    report = write_report(tmp_path).read_text()
    assert "First layer not collapsed" in report and "Best trade-off" in report
    assert (tmp_path / "accuracy_vs_active_layers.png").exists() and (tmp_path / "latency_ratio.png").exists()


def test_best_tradeoff_prefers_most_collapsed_within_one_point():
    rows = []
    for lam, collapsed, acc in [(0.0, 0, 0.95), (1.0, 2, 0.948), (2.0, 5, 0.945), (3.0, 7, 0.90)]:
        for seed in (0, 1):
            rows.append({"dataset": "mnist", "lam": lam, "seed": seed, "n_collapsed": collapsed,
                         "active_hidden_layers": 8 - collapsed, "hidden_layers": 8, "test_accuracy_refit": acc,
                         "params_collapsed": 100 - collapsed})
    best = best_tradeoffs(pd.DataFrame(rows))
    assert best.iloc[0]["lam"] == 2.0 and bool(best.iloc[0]["within_1pt"])
    assert best.iloc[0]["delta_pts"] == pytest.approx(-0.5)


def test_hidden_accepts_one_or_several_architectures(shared_data):
    _, one = validate(tiny(shared_data, hidden=[8, 8]))
    _, several = validate(tiny(shared_data, hidden=[[8, 8], [4, 4, 4]]))
    assert one.hidden == [[8, 8]] and several.hidden == [[8, 8], [4, 4, 4]]
    for bad in ([[8, 0]], [[]], [0]):
        with pytest.raises(ConfigError, match="hidden"):
            validate(tiny(shared_data, hidden=bad))


def test_unit_inputs_let_the_first_layer_collapse(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data, inputs="unit", lambdas=[60.0]))
    assert expand(study_type, config)[0].config["inputs"] == "unit"
    _, default = validate(tiny(shared_data))
    assert "inputs" not in expand(study_type, default)[0].config  # earlier trial ids stay valid
    summary = run_study(study_type, config, tmp_path, progress=False, echo=lambda s: None)
    assert (summary.done, summary.failed) == (1, 0)
    row = pd.read_csv(tmp_path / "results.csv").iloc[0]
    assert row.input_min >= 0 and row.first_layer_collapsible
    assert json.loads(row.collapsed_layers) == [0, 1, 2, 3] and row.linear_layers_after == 1
    assert row.test_accuracy_collapsed == row.test_accuracy_penalised
    assert "Inputs in [0, 1]" in write_report(tmp_path).read_text()


def test_layer_weights_choose_which_layers_collapse(shared_data, tmp_path):
    # r_j = 1 only on hidden layers 2 and 3 (of 0..3): only they may become non-negative and collapse
    study_type, config = validate(tiny(shared_data, lambdas=[60.0], layer_weights=[0, 0, 1, 1, 0]))
    trial = expand(study_type, config)[0]
    assert trial.config["layer_weights"] == [0, 0, 1, 1, 0]
    summary = run_study(study_type, config, tmp_path, progress=False, echo=lambda s: None)
    assert (summary.done, summary.failed) == (1, 0)
    row = pd.read_csv(tmp_path / "results.csv").iloc[0]
    assert json.loads(row.collapsed_layers) == [2, 3]
    assert "r_j" in write_report(tmp_path).read_text()


def test_layer_weights_default_keeps_trial_ids(shared_data):
    study_type, config = validate(tiny(shared_data))
    assert all("layer_weights" not in t.config for t in expand(study_type, config))


@pytest.mark.parametrize(("weights", "match"), [([1, 1], "5 linear layers"), ([0, -1, 1, 1, 0], "r_j"),
                                                ([0, float("nan"), 1, 1, 0], "r_j")])
def test_bad_layer_weights_refused(shared_data, weights, match):
    with pytest.raises(ConfigError, match=match):
        validate(tiny(shared_data, layer_weights=weights))
