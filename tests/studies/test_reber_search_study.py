"""``study: reber-search`` end to end on a Reber slice, with the predictor fitted on the recorded structure study."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sparsewire.results.report import write_report
from sparsewire.studies import ConfigError, run_study, validate
from sparsewire.studies.runner import expand

ROOT = Path(__file__).resolve().parents[2]
QUIET = {"progress": False, "echo": lambda s: None}


def quick(shared_data, **extra):
    config = yaml.safe_load((ROOT / "configs" / "reber-search-quick.yaml").read_text())
    config["predictor"]["results"] = str(ROOT / config["predictor"]["results"])
    config["data"]["data_dir"] = str(shared_data)
    config.update(extra)
    return config


def test_quick_config_end_to_end_and_resume(shared_data, tmp_path):
    study_type, config = validate(quick(shared_data))
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert (summary.total, summary.done, summary.failed) == (4, 4, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table.kind) == ["random", "random", "search", "search"]
    found = table[table.kind == "search"]
    assert found.structure.nunique() == 2
    best = json.loads(found.iloc[0].search_best_per_generation)
    assert len(best) == 5 and best == sorted(best)  # elitism: the predicted best never drops
    # the trained structures are the search's best: their predicted accuracy is the final best
    assert found.predicted_accuracy.max() == pytest.approx(best[-1])
    assert (found.predicted_accuracy.min() >= table[table.kind == "random"].predicted_accuracy.min())
    assert list((tmp_path / "cache").glob("search-*.json"))  # the search's checkpoint
    report = write_report(tmp_path).read_text()
    assert "Search vs random" in report and (tmp_path / "predicted_vs_actual.png").exists()
    again = run_study(study_type, config, tmp_path, **QUIET)
    assert (again.done, again.skipped) == (0, 4)


def test_cohorts_train_the_structures_of_one_seed_together_with_the_same_results(shared_data, tmp_path):
    study_type, config = validate(quick(shared_data))
    assert study_type.cohorts(config, [t.spec for t in expand(study_type, config)]) == [[0, 1, 2, 3]]
    one = run_study(*validate(quick(shared_data, cohort_size=1)), tmp_path / "alone", **QUIET)
    together = run_study(*validate(quick(shared_data, cohort_size=4)), tmp_path / "cohort", **QUIET)
    assert one.done == together.done == 4
    a = pd.read_csv(tmp_path / "alone" / "results.csv").sort_values("trial_id")
    b = pd.read_csv(tmp_path / "cohort" / "results.csv").sort_values("trial_id")
    assert list(a.trial_id) == list(b.trial_id)
    assert list(a.test_accuracy) == pytest.approx(list(b.test_accuracy), abs=1e-9)
    assert set(b.cohort_size) == {4}


def test_trials_and_bad_config(shared_data):
    study_type, config = validate(quick(shared_data, train_seeds=[0, 1], search_seeds=[0, 1]))
    trials = expand(study_type, config)
    assert len(trials) == 2 * (2 + 2) * 2
    with pytest.raises(ConfigError, match="top_k"):
        validate(quick(shared_data, top_k=50))
    with pytest.raises(ConfigError, match="Extra inputs"):
        validate(quick(shared_data, populaton=3))


def test_missing_predictor_table_fails_before_training(shared_data, tmp_path):
    from sparsewire.performance_prediction.table import PredictError

    config = quick(shared_data)
    config["predictor"]["results"] = str(tmp_path / "nothing.csv")
    study_type, parsed = validate(config)
    with pytest.raises(PredictError, match="neither a study folder"):
        run_study(study_type, parsed, tmp_path / "out", **QUIET)
