"""``study: dynamic-sparsity`` end to end on a tiny MNIST slice, its report and its config errors."""

import json
from pathlib import Path

import pandas as pd
import pytest

from sparsewire.results.report import write_report
from sparsewire.results.reports.dynamic_sparsity import accuracy_vs_freeze, freeze_cost, reinit_table
from sparsewire.studies import ConfigError, load_config, run_study, validate

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
QUIET = {"progress": False, "echo": lambda s: None}


def tiny(shared_data, **extra):
    config = {
        "study": "dynamic-sparsity",
        "name": "tiny",
        "dataset": {"name": "mnist", "data_dir": str(shared_data), "val_size": 200, "train_limit": 1000,
                    "download": False},
        "models": [{"name": "mlp", "options": {"hidden": [16]}}],
        "train": {"epochs": 3, "batch_size": 50},
        "algorithms": ["set", "rigl"],
        "densities": [0.2],
        "freeze_epochs": ["none", 0, 1],
        "update_every": 5,
        "seeds": [0],
    }
    config.update(extra)
    return config


def test_study_end_to_end_on_a_tiny_slice(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data))
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert (summary.total, summary.done, summary.failed) == (5, 5, 0)  # static once + 2 algorithms x 2
    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table.algorithm) == ["rigl", "rigl", "set", "set", "static"]
    for row in table.itertuples():
        assert {round(v, 3) for v in json.loads(row.layer_density).values()} == {0.2}
        assert row.epochs == 3 and row.test_accuracy > 0.3
        jaccard = json.loads(row.jaccard_to_final)
        assert len(jaccard) == 4 and jaccard[-1] == 1.0
    never = table[table.freeze_epoch.isna()]
    assert len(never) == 2
    for row in never.itertuples():
        jaccard, chance = json.loads(row.jaccard_to_final), json.loads(row.chance_jaccard_to_final)
        assert row.mask_updates == 3 * 20 // 5 - 1  # the last update has drop fraction cos(pi) = 0
        assert jaccard[0] < jaccard[1] < 1.0  # the structure settles over training
        assert jaccard[1] > chance[1] > 0
    frozen = table[table.freeze_epoch == 1]
    for row in frozen.itertuples():
        assert json.loads(row.jaccard_to_final)[1:] == [1.0, 1.0, 1.0]
        assert json.loads(row.replaced_per_epoch)[1:] == [0, 0]
    static = table[table.algorithm == "static"].iloc[0]
    assert static.mask_updates == 0 and json.loads(static.jaccard_to_final) == [1.0] * 4

    for row in table.itertuples():  # what dense gradients cost: SET reads none, RigL one per update
        assert row.dense_grad_steps == (row.mask_updates if row.algorithm == "rigl" else 0)
        assert row.train_gflops > 0 and 0 <= row.flops_saved_fraction < 1
    rigl = table[table.algorithm == "rigl"]
    rigl = rigl.set_index(rigl.freeze_epoch.fillna(-1))
    assert rigl.loc[1, "dense_grad_steps_saved"] == rigl.loc[-1, "dense_grad_steps"] - rigl.loc[1, "dense_grad_steps"] > 0
    assert rigl.loc[1, "gflops_saved"] > 0 and rigl.loc[-1, "gflops_saved"] == 0

    report = write_report(tmp_path).read_text()
    assert "freeze never" in report and "Jaccard" in report and "Cost of freezing" in report
    assert "dense_grad_steps" in report and "flops_saved" in report
    assert (tmp_path / "jaccard_to_final.png").stat().st_size > 0
    assert (tmp_path / "accuracy_vs_freeze.png").stat().st_size > 0


def test_snfs_and_dnw_trials_freeze_and_save_dense_gradients(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data, algorithms=["snfs", "dnw"], freeze_epochs=["none", 1]))
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert (summary.done, summary.failed) == (4, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    steps = 3 * 1000 // 50
    for row in table.itertuples():
        frozen = row.freeze_epoch == 1
        assert row.dense_grad_steps == (steps // 3 if frozen else steps)  # every step until frozen
        assert row.dense_grad_steps_saved == (2 * steps // 3 if frozen else 0)
        assert (row.flops_saved_fraction > 0.3) == frozen  # density 0.2: dense weight grads dominate
        assert row.density_actual == pytest.approx(0.2, abs=1e-3) and row.test_accuracy > 0.3
        replaced = json.loads(row.replaced_per_epoch)
        assert replaced[0] > 0 and (not frozen or replaced[1:] == [0, 0])


def test_imp_and_snip_find_their_masks_and_take_part_in_all_three_experiments(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data, algorithms=["imp", "snip"], imp_rounds=2, snip_batches=2,
                                       reinit_seeds=[0], further_pruning=[0.5]))
    assert sorted((t.algorithm, t.freeze_epoch or 0) for t in study_type.trials(config)) == [
        ("imp", 0), ("imp", 1), ("snip", 0), ("static", 0)]  # freeze 0 is the static run; SNIP never changes
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert (summary.done, summary.failed) == (4, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    steps = 1000 // 50
    for row in table.itertuples():
        assert {round(v, 3) for v in json.loads(row.layer_density).values()} == {0.2}
        assert row.epochs == 3 and row.test_accuracy > 0.3
        assert len(json.loads(row.reinit_test_accuracy)) == 1 and len(json.loads(row.further_pruning_accuracy)) == 1
    snip = table[table.algorithm == "snip"].iloc[0]
    assert json.loads(snip.jaccard_to_final) == [1.0] * 4 and json.loads(snip.replaced_per_epoch) == [0, 0, 0]
    assert snip.mask_updates == 0 and snip.dense_grad_steps == 2  # one dense gradient per scored batch
    imp = table[(table.algorithm == "imp") & table.freeze_epoch.isna()].iloc[0]
    bird = table[(table.algorithm == "imp") & (table.freeze_epoch == 1)].iloc[0]
    assert imp.mask_updates == 2 and bird.mask_updates == 1
    densities = json.loads(imp.round_density)
    assert densities[0] == 1.0 and densities[-1] == pytest.approx(0.2, abs=1e-3) and len(densities) == 3
    assert len(json.loads(imp.jaccard_to_final)) == 4  # the early-bird masks of the dense training's epochs
    assert json.loads(bird.jaccard_to_final)[1:] == [1.0] * 3  # frozen after epoch 1: its own ticket
    assert (imp.dense_grad_steps, bird.dense_grad_steps, bird.dense_grad_steps_saved) == (3 * steps, steps, 2 * steps)
    assert imp.train_gflops > bird.train_gflops > snip.train_gflops > 0
    assert bird.gflops_saved == pytest.approx(imp.train_gflops - bird.train_gflops)
    assert imp.flops_saved_fraction == 0 and 0 < bird.flops_saved_fraction < 1
    history = json.loads(imp.history)
    assert [(h["phase"], h["round"]) for h in history[::3]] == [("dense", 0), ("round", 1), ("round", 2)]
    report = write_report(tmp_path).read_text()
    assert "imp" in report and "snip" in report


def test_mask_finders_add_trials_and_keep_to_their_own_options(shared_data):
    from sparsewire.studies.runner import expand

    def ids(**change):
        study_type, config = validate(tiny(shared_data, **change))
        return {(t.config["algorithm"], t.config["freeze_epoch"]): t.trial_id for t in expand(study_type, config)}

    def finders(**change):  # the static trial carries the drop-and-grow settings (recorded before issue 15)
        return {key: i for key, i in ids(algorithms=["imp", "snip"], **change).items() if key[0] != "static"}

    plain, more = ids(), ids(algorithms=["set", "rigl", "imp", "snip"])
    assert plain.items() < more.items()  # the dynamic trials keep their ids
    base = finders()
    assert len(base) == 3 and finders(update_every=7, drop_fraction=0.5, drop_schedule="constant") == base
    rounds = finders(imp_rounds=2)
    assert rounds[("snip", None)] == base[("snip", None)] and rounds[("imp", None)] != base[("imp", None)]
    batches = finders(snip_batches=3)
    assert batches[("snip", None)] != base[("snip", None)] and batches[("imp", 1)] == base[("imp", 1)]


def test_freeze_cost_and_summary_from_a_known_table():
    base = {"dataset": "mnist", "model": "m", "distribution": "uniform", "density": 0.1}
    rows = [{**base, "algorithm": "static", "freeze_epoch": 0, "seed": s, "test_accuracy": 0.90} for s in (0, 1)]
    rows += [{**base, "algorithm": "rigl", "freeze_epoch": None, "seed": 0, "test_accuracy": 0.96},
             {**base, "algorithm": "rigl", "freeze_epoch": None, "seed": 1, "test_accuracy": 0.98},
             {**base, "algorithm": "rigl", "freeze_epoch": 1, "seed": 0, "test_accuracy": 0.95},
             {**base, "algorithm": "rigl", "freeze_epoch": 1, "seed": 1, "test_accuracy": 0.96}]
    cost = freeze_cost(pd.DataFrame(rows))
    assert len(cost) == 1
    row = cost.iloc[0]
    assert (row.freeze, row.seeds, row.delta_vs_never_pts, row.gain_over_static_kept) == ("1", 2, "-1.50 ± 0.71", "79%")
    assert 0 < float(row.paired_t_p) < 1
    summary = accuracy_vs_freeze(pd.DataFrame(rows))
    rigl = summary[summary.algorithm == "rigl"].iloc[0]
    assert (rigl["freeze 1"], rigl["freeze never"], rigl["freeze 0"]) == ("95.50 ± 0.71", "97.00 ± 1.41", "")
    assert list(summary.columns[-4:]) == ["freeze 0", "freeze 1", "freeze never", "seeds"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"algorithms": ["set", "gmp"]}, "unknown algorithm 'gmp'"),
        ({"imp_rounds": 0}, "imp_rounds"),
        ({"densities": [0.0]}, "density must be in"),
        ({"densities": [1.2]}, "density must be in"),
        ({"drop_fraction": 1.0}, "drop_fraction must be in"),
        ({"drop_fraction": -0.5}, "drop_fraction must be in"),
        ({"freeze_epochs": [3]}, "freeze epoch 3 must be in"),
        ({"train": {"epochs": 3, "restore_best": True}}, "restore_best must be false"),
        ({"epochs": 3}, "Extra inputs"),
    ],
)
def test_bad_config_is_rejected(shared_data, change, message):
    with pytest.raises(ConfigError, match=message):
        validate(tiny(shared_data, **change))


def test_restore_best_is_switched_off_and_trials_share_their_seed(shared_data):
    study_type, config = validate(tiny(shared_data, seeds=[0, 1]))
    assert config.train.restore_best is False
    trials = study_type.trials(config)
    assert len(trials) == 10 and len({(t.algorithm, t.freeze_epoch, t.seed) for t in trials}) == 10


@pytest.mark.slow
def test_quick_config_runs(shared_data, tmp_path):
    study_type, config = load_config(CONFIGS / "dynamic-sparsity-quick.yaml", [f"dataset.data_dir={shared_data}"])
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert summary.failed == 0 and summary.done == len(study_type.trials(config))


def test_further_pruning_is_recorded_and_reported(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data, freeze_epochs=["none", 0], algorithms=["rigl"],
                                       further_pruning=[0.9, 0.5, 1.0]))
    run_study(study_type, config, tmp_path, **QUIET)
    table = pd.read_csv(tmp_path / "results.csv")
    for row in table.itertuples():
        fractions, accuracy = json.loads(row.further_pruning_fractions), json.loads(row.further_pruning_accuracy)
        assert fractions == [0.5, 0.9, 1.0] and len(accuracy) == 3
        assert accuracy[0] <= row.test_accuracy + 0.05  # removing half the weights does not help much
        assert accuracy[2] < 0.3  # no weight left: near chance
    report = write_report(tmp_path).read_text()
    assert "Robustness to further pruning" in report and (tmp_path / "further_pruning.png").exists()
    assert "further_pruning_accuracy_recalibrated" not in table


def test_further_pruning_with_recalibration_adds_a_column_and_new_ids_only_when_asked(shared_data, tmp_path):
    from sparsewire.studies.runner import expand

    plain = {t.trial_id for t in expand(*validate(tiny(shared_data, further_pruning=[0.5])))}
    study_type, config = validate(tiny(shared_data, freeze_epochs=["none"], algorithms=["set"], further_pruning=[0.5],
                                       further_pruning_recalibrate=True))
    assert not {t.trial_id for t in expand(study_type, config)} & plain
    run_study(study_type, config, tmp_path, **QUIET)
    (row,) = pd.read_csv(tmp_path / "results.csv").itertuples()
    # an MLP has no batch norm: recalibrating changes nothing
    assert json.loads(row.further_pruning_accuracy_recalibrated) == json.loads(row.further_pruning_accuracy)
    assert "batch-norm running statistics re-estimated" in write_report(tmp_path).read_text()


def test_further_pruning_off_by_default_keeps_trial_ids(shared_data):
    from sparsewire.studies.runner import expand

    study_type, config = validate(tiny(shared_data))
    assert all("further_pruning" not in t.config for t in expand(study_type, config))
    with pytest.raises(ConfigError, match="no training data"):
        validate(tiny(shared_data, further_pruning=[0.5], further_pruning_method="obd"))
    with pytest.raises(ConfigError, match="fractions of the remaining"):
        validate(tiny(shared_data, further_pruning=[0.0]))


def test_reinitialised_structures_are_trained_and_reported(shared_data, tmp_path):
    study_type, config = validate(tiny(shared_data, algorithms=["snfs"], freeze_epochs=["none"], reinit_seeds=[0, 1]))
    assert all(t.model_dump()["reinit_seeds"] == [0, 1] for t in study_type.trials(config))
    assert all("reinit_seeds" not in t.model_dump() for t in study_type.trials(validate(tiny(shared_data))[1]))  # ids kept
    run_study(study_type, config, tmp_path, **QUIET)
    table = pd.read_csv(tmp_path / "results.csv")
    for row in table.itertuples():
        accuracy = json.loads(row.reinit_test_accuracy)
        assert len(accuracy) == 2 and accuracy[0] != accuracy[1] and min(accuracy) > 0.2  # chance: 0.1
        assert row.reinit_test_accuracy_mean == pytest.approx(sum(accuracy) / 2)
    summary = reinit_table(table)  # the report's section
    assert list(summary["re-initialised"]) == [f"{100 * table.reinit_test_accuracy_mean.iloc[0]:.2f}"]


def test_only_networks_with_batch_norm_carry_norm_recalibration_in_their_trials(shared_data):
    from sparsewire.studies.common import ModelConfig, keeps_running_norms

    assert keeps_running_norms(ModelConfig(name="resnet20-narrow"))
    assert not keeps_running_norms(ModelConfig(name="lenet5")) and not keeps_running_norms(ModelConfig(name="mlp"))
    models = [{"name": "mlp", "options": {"hidden": [16]}}, {"name": "resnet20-narrow"}]
    study_type, config = validate(tiny(shared_data, models=models))
    flags = {t.model.name: t.model_dump().get("recalibrate_norms") for t in study_type.trials(config)}
    assert flags == {"mlp": None, "resnet20-narrow": True}  # the MLP's trial ids are those recorded before
    study_type, config = validate(tiny(shared_data, models=models, recalibrate_norms=False))
    assert all("recalibrate_norms" not in t.model_dump() for t in study_type.trials(config))


def test_further_pruning_of_batch_norm_networks_warns_about_stale_statistics(shared_data):
    import warnings

    from sparsewire.studies.common import StaleStatisticsWarning

    def warned(**extra):
        study_type, config = validate(tiny(shared_data, further_pruning=[0.5], **extra))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            study_type.check(config)
        return [w for w in caught if issubclass(w.category, StaleStatisticsWarning)]

    resnet = [{"name": "resnet20-narrow"}]
    (warning,) = warned(models=resnet)
    assert "resnet20-narrow" in str(warning.message) and "further_pruning_recalibrate: true" in str(warning.message)
    assert not warned(models=resnet, further_pruning_recalibrate=True)
    assert not warned()  # the MLP has no batch norm
