"""``--save-models``: every trained network's weights kept as DIR/models/<trial id>.pt, rebuilt from its trial
without unpickling anything, and equal to its row."""

import os

import pytest
import torch

from sparsewire.errors import ModelFileError
from sparsewire.results import ResultsStore
from sparsewire.results.models import model_path
from sparsewire.studies import load_trial_model, run_study, validate
from sparsewire.training import evaluate
from tests.studies.test_cohort_studies import structure
from tests.studies.test_dynamic_sparsity_study import tiny

QUIET = {"progress": False, "echo": lambda s: None}


def test_kept_networks_reproduce_their_rows_and_change_no_trial_id(shared_data, tmp_path):
    from sparsewire.studies.common import load_splits

    study_type, config = validate(tiny(shared_data, algorithms=["set", "dnw"], freeze_epochs=["none"]))
    kept = run_study(study_type, config, tmp_path / "kept", save_models=True, **QUIET)
    plain = run_study(study_type, config, tmp_path / "plain", **QUIET)
    assert kept.done == plain.done == 2 and not (tmp_path / "plain" / "models").exists()
    rows, other = ResultsStore(tmp_path / "kept").table(), ResultsStore(tmp_path / "plain").table()
    assert sorted(rows["trial_id"]) == sorted(other["trial_id"])  # keeping networks changes no result
    test = load_splits(config.dataset).test
    for _, row in rows.iterrows():
        model = load_trial_model(tmp_path / "kept", row["trial_id"])
        assert evaluate(model, test)["accuracy"] == row["test_accuracy"]
        weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
        assert sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights) > 0.7  # density 0.2
    with pytest.raises(FileNotFoundError, match="--save-models"):
        load_trial_model(tmp_path / "plain", other["trial_id"].iloc[0])
    assert not list((tmp_path / "kept" / "models").glob(".*.tmp"))


def test_cohort_members_are_kept_one_file_each(reber_dir, tmp_path):
    study_type, config = validate(structure(reber_dir, cells=["gru"], cohort_size=5, train={"epochs": 1, "batch_size": 64}))
    summary = run_study(study_type, config, tmp_path, save_models=True, **QUIET)
    rows = ResultsStore(tmp_path).table()
    assert summary.done == len(rows) == 5
    test = config.data.load().test
    for _, row in rows.iterrows():
        model = load_trial_model(tmp_path, row["trial_id"])
        assert type(model).__name__ == "GraphRecurrentClassifier"
        assert evaluate(model, test)["accuracy"] == pytest.approx(row["test_accuracy"], abs=1e-9)


def test_a_planted_pickle_is_refused_without_running(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data, algorithms=["set"], freeze_epochs=["none"]))
    run_study(study_type, config, tmp_path, save_models=True, **QUIET)
    trial_id = ResultsStore(tmp_path).table()["trial_id"].iloc[0]
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"format": "sparsewire-trial-weights", "version": 1, "trial_id": trial_id, "state": Evil()},
               model_path(tmp_path, trial_id))
    with pytest.raises(ModelFileError, match="never unpickles"):
        load_trial_model(tmp_path, trial_id)
    assert not marker.exists()
    torch.save({"format": "sparsewire-trial-weights", "version": 1, "trial_id": "another", "state": {}},
               model_path(tmp_path, trial_id))
    with pytest.raises(ModelFileError, match="not 'another'|another"):
        load_trial_model(tmp_path, trial_id)


@pytest.mark.parametrize("study", ["prune", "prior"])
def test_pruned_and_prior_networks_are_kept(shared_data, tmp_path, study):
    from sparsewire.studies import load_config
    from sparsewire.studies.common import load_splits
    from tests.studies.test_prune_study import tiny as tiny_prune

    if study == "prune":
        study_type, config = validate(tiny_prune(shared_data, compressions=[0.9], methods=["class-blinded"]))
    else:
        study_type, config = load_config("configs/prior-quick.yaml", [
            f"dataset.data_dir={shared_data}", "dataset.train_limit=600", "dataset.val_size=300", "train.epochs=1",
            "priors=[{generator: watts-strogatz, nodes: [20], params: {k: 4, p: 0.3}}]", "seeds=[0, 1, 2]",
            "batch_order=shared", "cohort_size=3"])  # one cohort of 3
    run_study(study_type, config, tmp_path, save_models=True, **QUIET)
    test = load_splits(config.dataset).test
    rows = ResultsStore(tmp_path).table()
    assert len(rows) >= 2 and (study == "prune" or set(rows["cohort_size"]) == {3})
    for _, row in rows.iterrows():
        assert evaluate(load_trial_model(tmp_path, row["trial_id"]), test)["accuracy"] == \
            pytest.approx(row["test_accuracy"], abs=1e-9)


def test_a_search_keeps_its_best_network(shared_data, tmp_path):
    from sparsewire.studies.search import image_splits
    from tests.studies.test_search_study import quick

    study_type, config = validate(quick(shared_data, methods=["random"], lenet5=False))
    run_study(study_type, config, tmp_path, save_models=True, **QUIET)
    [row] = ResultsStore(tmp_path).table().to_dict("records")
    model = load_trial_model(tmp_path, row["trial_id"])
    assert sum(p.numel() for p in model.parameters()) == row["best_params"]
    assert evaluate(model, image_splits(config.dataset).test)["accuracy"] == row["best_test_accuracy"]
