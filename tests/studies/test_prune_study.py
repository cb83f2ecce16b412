import json
import sqlite3

import pandas as pd
import pytest
import yaml

from sparsewire.cli.main import main
from sparsewire.results import ResultsStore
from sparsewire.studies import ConfigError, apply_overrides, get_study_type, run_study, validate
from sparsewire.studies.runner import expand


def tiny(shared_data, **extra):
    config = {
        "study": "prune",
        "name": "tiny",
        "dataset": {"name": "mnist", "data_dir": str(shared_data), "val_size": 500, "train_limit": 2000, "download": False},
        "models": [{"name": "mlp", "options": {"hidden": [32]}}],
        "train": {"epochs": 2, "batch_size": 64},
        "retrain": {"epochs": 1, "batch_size": 64},
        "methods": ["class-blinded", "class-uniform"],
        "compressions": [0.5, 0.9],
        "seeds": [0],
    }
    config.update(extra)
    return config


def run(config, out, **kw):
    study_type, parsed = validate(config)
    return run_study(study_type, parsed, out, progress=False, echo=lambda s: None, **kw)


def test_end_to_end_on_real_mnist_slice(shared_data, tmp_path):
    summary = run(tiny(shared_data), tmp_path)
    assert (summary.total, summary.done, summary.failed) == (5, 5, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    for column in ["trial_id", "method", "compression", "seed", "test_accuracy", "test_accuracy_before_retrain",
                   "params_remaining", "train_seconds", "layer_density"]:
        assert column in table.columns
    base = table[table.method == "none"].iloc[0]
    assert base.test_accuracy > 0.85
    uniform = table[(table.method == "class-uniform") & (table.compression == 0.9)].iloc[0]
    assert set(round(v, 3) for v in json.loads(uniform.layer_density).values()) == {0.1}
    blinded = table[(table.method == "class-blinded") & (table.compression == 0.5)].iloc[0]
    assert blinded.params_remaining == round(0.5 * blinded.params_total)
    assert blinded.test_accuracy > 0.8


def test_resume_skips_finished_trials(shared_data, tmp_path, monkeypatch):
    study_type = get_study_type("prune")
    original = study_type.run_trial
    calls = []

    def crash_after_two(trial, context):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the study is killed mid-way
        calls.append(trial)
        return original(trial, context)

    monkeypatch.setattr(study_type, "run_trial", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        run(tiny(shared_data), tmp_path)
    assert len(ResultsStore(tmp_path).finished_ids()) == 2  # nothing written so far is lost
    monkeypatch.setattr(study_type, "run_trial", lambda trial, context: calls.append(trial) or original(trial, context))
    summary = run(tiny(shared_data), tmp_path)
    assert (summary.skipped, summary.done) == (2, 3)
    assert len(calls) == 5  # 2 before the kill + 3 after: nothing redone
    again = run(tiny(shared_data), tmp_path)
    assert (again.skipped, again.done) == (5, 0)


def test_failed_trial_is_recorded_and_study_goes_on(shared_data, tmp_path, monkeypatch):
    study_type = get_study_type("prune")
    original = study_type.run_trial

    def flaky(trial, context):
        if trial.method == "class-uniform":
            raise RuntimeError("boom")
        return original(trial, context)

    monkeypatch.setattr(study_type, "run_trial", flaky)
    summary = run(tiny(shared_data), tmp_path)
    assert (summary.done, summary.failed) == (3, 2)
    failures = ResultsStore(tmp_path).failures()
    assert len(failures) == 2 and all("boom" in err for _, err in failures)


def test_trial_ids_are_config_hashes(shared_data):
    study_type, parsed = validate(tiny(shared_data))
    first = [t.trial_id for t in expand(study_type, parsed)]
    assert first == [t.trial_id for t in expand(*validate(tiny(shared_data)))]
    changed = [t.trial_id for t in expand(*validate(tiny(shared_data, retrain={"epochs": 2})))]
    assert not set(first) & set(changed)


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"methods": ["biggest"]}, "unknown pruning method"),
        ({"compressions": [1.0]}, r"\[0, 1\)"),
        ({"compressions": [-0.2]}, r"\[0, 1\)"),
        ({"epochs": 3}, "Extra inputs"),
        ({"train": {"optimiser": "sgd"}}, "optimiser"),
        ({"study": "nonsense"}, "unknown study type"),
    ],
)
def test_bad_configs_fail_before_work(shared_data, patch, message):
    with pytest.raises(ConfigError, match=message):
        validate(tiny(shared_data, **patch))


def test_missing_dataset_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SPARSEWIRE_DATA", raising=False)
    config = tiny(tmp_path / "nowhere", dataset={"name": "mnist", "data_dir": str(tmp_path / "nowhere"), "download": False})
    with pytest.raises(Exception, match="nowhere"):
        run(config, tmp_path / "out")
    assert not ResultsStore(tmp_path / "out").finished_ids()


def test_bad_model_options_fail_before_training(shared_data, tmp_path):
    config = tiny(shared_data, models=[{"name": "mlp", "options": {"hidden": [8], "activation": "nope"}}])
    with pytest.raises(ValueError, match="unknown activation"):
        run(config, tmp_path)


def test_nothing_prunable_is_refused_and_prunable_is_configurable(shared_data, tmp_path):
    with pytest.raises(ValueError, match="no prunable parameter"):
        run(tiny(shared_data, prunable=r"nothing\.matches"), tmp_path / "a")
    run(tiny(shared_data, prunable=r"layers\.0\.weight", methods=["class-blinded"], compressions=[0.5]), tmp_path / "b")
    table = pd.read_csv(tmp_path / "b" / "results.csv")
    assert set(json.loads(table.layer_density.iloc[-1])) == {"layers.0.weight"}


@pytest.mark.parametrize("policy", ["init", "epoch", "reinit"])
def test_rewind_policies_run(shared_data, tmp_path, policy):
    run(tiny(shared_data, rewind=policy, methods=["class-blinded"], compressions=[0.8], baseline=False), tmp_path)
    table = pd.read_csv(tmp_path / "results.csv")
    assert list(table.rewind) == [policy] and table.test_accuracy.iloc[0] > 0.5


def test_overrides():
    config = apply_overrides({"a": {"b": 1}, "seeds": [0]}, ["a.b=0.5", "seeds=[1, 2]", "new.key=x"])
    assert config == {"a": {"b": 0.5}, "seeds": [1, 2], "new": {"key": "x"}}
    with pytest.raises(ConfigError):
        apply_overrides({}, ["novalue"])


def test_cli_run_results_report(shared_data, tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(shared_data, methods=["random"], compressions=[0.5])))
    out = tmp_path / "study"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--set", "seeds=[0]"]) == 0
    printed = capsys.readouterr().out
    assert "random" in printed and "report.md" in printed
    assert (out / "report.md").exists() and (out / "accuracy_test_accuracy.png").exists()
    assert main(["results", str(out)]) == 0
    assert "random" in capsys.readouterr().out
    with sqlite3.connect(out / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM trials WHERE status='done'").fetchone()[0] == 2
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--set", "methods=[bogus]"]) == 2
    assert "unknown pruning method" in capsys.readouterr().err
    assert main(["results", str(tmp_path / "empty")]) == 2


def test_further_pruning_in_the_prune_study(shared_data, tmp_path):
    config = tiny(shared_data, methods=["class-blinded"], compressions=[0.8], further_pruning=[0.5, 1.0],
                  further_pruning_method="random")
    summary = run(config, tmp_path)
    assert (summary.done, summary.failed) == (2, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    for row in table.itertuples():
        accuracy = json.loads(row.further_pruning_accuracy)
        assert json.loads(row.further_pruning_fractions) == [0.5, 1.0] and accuracy[1] < 0.3
    report = (main(["report", str(tmp_path)]), (tmp_path / "report.md").read_text())[1]
    assert "Robustness to further pruning" in report


def test_gradual_schedule_snip_and_erk_in_the_prune_study(shared_data, tmp_path):
    config = tiny(shared_data, methods=["snip", "erk"], compressions=[0.9], schedules=["one-shot", "gradual"],
                  gradual_rounds=3, baseline=False)
    study_type, parsed = validate(config)
    trials = expand(study_type, parsed)
    assert sorted(t.config.get("rounds", 0) for t in trials) == [0, 0, 3, 3]
    summary = run(config, tmp_path)
    assert (summary.done, summary.failed) == (4, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table["rounds"]) == [1, 1, 3, 3]
    assert (table.params_remaining == table.params_remaining.iloc[0]).all()
    assert (table.test_accuracy > 0.5).all()
    with pytest.raises(ConfigError, match="schedules"):
        validate(tiny(shared_data, schedules=["cubic"]))


def test_pruning_at_initialisation(shared_data, tmp_path):
    config = tiny(shared_data, methods=["snip", "random"], compressions=[0.9], prune_at="init",
                  retrain={"epochs": 5, "batch_size": 64})
    study_type, parsed = validate(config)
    assert all(t.config["prune_at"] == "init" for t in expand(study_type, parsed))
    summary = run(config, tmp_path)
    assert (summary.done, summary.failed) == (3, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    assert (table.prune_at == "init").all() and table.dense_test_accuracy.isna().all()
    pruned = table[table.method != "none"]
    assert (pruned.test_accuracy_before_retrain < 0.3).all()  # pruned before any training: near chance
    assert (pruned.test_accuracy > pruned.test_accuracy_before_retrain + 0.2).all()  # then trained from scratch
    assert (pruned.params_remaining == pruned.params_remaining.iloc[0]).all()
    # nothing of the dense cache was used: no dense network was trained
    assert not list((tmp_path / "cache").glob("*.pt"))
    with pytest.raises(ConfigError, match="prune_at: init"):
        validate(tiny(shared_data, prune_at="init", schedules=["iterative"]))
    with pytest.raises(ConfigError, match="prune_at: init"):
        validate(tiny(shared_data, prune_at="init", rewind="init"))
    _, default = validate(tiny(shared_data))
    assert all("prune_at" not in t.config for t in expand(study_type, default))


def test_rows_of_trials_the_config_no_longer_expands_to_stay_stored_but_leave_reports(shared_data, tmp_path):
    from sparsewire.results.report import load_table, notes, write_report

    small = {"methods": ["class-blinded"], "compressions": [0.5], "train": {"epochs": 1, "batch_size": 64},
             "retrain": {"epochs": 1, "batch_size": 64}}
    run(tiny(shared_data, **small), tmp_path)
    first = set(load_table(tmp_path)[1]["trial_id"])
    assert len(first) == 2 and ResultsStore(tmp_path).superseded_ids() == set()
    said = []
    study_type, parsed = validate(tiny(shared_data, **{**small, "compressions": [0.9]}))
    run_study(study_type, parsed, tmp_path, progress=False, echo=said.append)
    store = ResultsStore(tmp_path)
    (stale,) = store.superseded_ids()  # the 0.5 trial; the unpruned baseline is a trial of both configs
    assert stale in first and any("1 finished trials" in s and "left out of reports" in s for s in said)
    assert len(store.table(include_superseded=True)) == 3 and len(store.table()) == 2
    assert stale not in set(pd.read_csv(tmp_path / "results.csv")["trial_id"])
    reported = set(load_table(tmp_path)[1]["trial_id"])
    assert len(reported) == 2 and stale not in reported
    assert "1 stored trials are not in this report" in write_report(tmp_path).read_text()
    assert any("1 stored trials are not shown" in note for note in notes(tmp_path))
