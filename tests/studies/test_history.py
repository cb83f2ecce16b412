"""Tracking (issue 16): per-epoch history in every training study's rows, its report figure, the environment in
the store's meta, and the optional TensorBoard / MLflow loggers (faked: neither package is required)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from sparsewire.results import ResultsStore
from sparsewire.results.report import write_report
from sparsewire.studies import run_study, validate
from sparsewire.studies.runner import expand

QUIET = {"progress": False, "echo": lambda s: None}


def _prune(shared_data):
    return {
        "study": "prune", "name": "tiny-history",
        "dataset": {"name": "mnist", "data_dir": str(shared_data), "val_size": 200, "train_limit": 600,
                    "download": False},
        "models": [{"name": "mlp", "options": {"hidden": [16]}}],
        "train": {"epochs": 2, "batch_size": 100},
        "retrain": {"epochs": 1, "batch_size": 100},
        "methods": ["class-blinded"], "compressions": [0.5], "schedules": ["iterative"], "iterative_rate": 0.3,
        "seeds": [0],
    }


def test_prune_rows_carry_history_meta_and_report_plot(shared_data, tmp_path):
    study_type, config = validate(_prune(shared_data))
    ids_before = [t.trial_id for t in expand(study_type, config)]
    run_study(study_type, config, tmp_path, **QUIET)
    assert [t.trial_id for t in expand(study_type, config)] == ids_before
    store = ResultsStore(tmp_path, readonly=True)
    table = store.table().set_index("method")
    pruned = table.loc["class-blinded", "history"]
    phases = [(e["phase"], e.get("round")) for e in pruned]
    assert phases[:2] == [("train", None), ("train", None)]  # the dense network's 2 epochs
    retrain = [e for e in pruned if e["phase"] == "retrain"]
    assert [e["round"] for e in retrain] == list(range(1, len(retrain) + 1)) and len(retrain) >= 2
    assert all({"train_loss", "lr", "val_accuracy", "val_loss", "density"} <= set(e) for e in pruned)
    assert retrain[-1]["density"] == pytest.approx(0.5, abs=0.01) and retrain[0]["density"] > 0.5
    baseline = table.loc["none", "history"]
    assert [e["phase"] for e in baseline] == ["train", "train", "retrain"]

    env = store.meta("environment")
    assert env["packages"]["torch"] and env["packages"]["numpy"] and env["python"]
    assert env["git"] is None or len(env["git"]["commit"]) == 40

    report = write_report(tmp_path).read_text()
    assert "## Training history" in report and (tmp_path / "training_history.png").is_file()


def test_dynamic_rows_record_mask_changes_per_epoch(shared_data, tmp_path):
    study_type, config = validate({
        "study": "dynamic-sparsity", "name": "tiny",
        "dataset": {"name": "mnist", "data_dir": str(shared_data), "val_size": 200, "train_limit": 1000,
                    "download": False},
        "models": [{"name": "mlp", "options": {"hidden": [16]}}],
        "train": {"epochs": 3, "batch_size": 50},
        "algorithms": ["rigl"], "densities": [0.2], "freeze_epochs": ["none"], "update_every": 5, "seeds": [0],
    })
    run_study(study_type, config, tmp_path, **QUIET)
    table = ResultsStore(tmp_path, readonly=True).table()
    row = table[table["algorithm"] == "rigl"].iloc[0]
    history = row["history"]
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert [e["replaced"] for e in history] == row["replaced_per_epoch"][:3]
    assert [e["jaccard_to_final"] for e in history] == pytest.approx(row["jaccard_to_final"][1:], abs=1e-5)
    assert history[-1]["jaccard_to_final"] == 1.0


class _FakeWriter:
    calls: list = []

    def __init__(self, log_dir):
        self.log_dir = log_dir

    def add_scalar(self, tag, value, step):
        self.calls.append(("scalar", self.log_dir, tag, value, step))

    def add_hparams(self, params, metrics, run_name=None):
        self.calls.append(("hparams", self.log_dir, params, metrics))

    def close(self):
        pass


def _fake_mlflow(calls):
    mlflow = types.ModuleType("mlflow")
    mlflow.set_tracking_uri = lambda uri: calls.append(("uri", uri))
    mlflow.set_experiment = lambda name: calls.append(("experiment", name))

    class Run:
        def __init__(self, run_name):
            calls.append(("run", run_name))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            calls.append(("end",))

    mlflow.start_run = lambda run_name=None: Run(run_name)
    mlflow.log_params = lambda params: calls.append(("params", params))
    mlflow.log_metrics = lambda metrics, step=None: calls.append(("metrics", metrics, step))
    return mlflow


def test_loggers_receive_history_and_results(tmp_path, monkeypatch):
    from sparsewire.loggers import make_loggers

    board = types.ModuleType("torch.utils.tensorboard")
    board.SummaryWriter = _FakeWriter
    monkeypatch.setitem(sys.modules, "tensorboard", types.ModuleType("tensorboard"))
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", board)
    calls: list = []
    monkeypatch.setitem(sys.modules, "mlflow", _fake_mlflow(calls))
    _FakeWriter.calls = []
    loggers = make_loggers(["tensorboard", "mlflow"], tmp_path, "prune")
    row = {"test_accuracy": 0.9, "method": "x", "history": [{"epoch": 1, "train_loss": 1.0, "lr": 0.1},
                                                            {"epoch": 2, "train_loss": 0.5, "lr": 0.1}]}
    loggers.log("abc", "prune", {"seed": 0, "train": {"epochs": 2}}, row)
    loggers.close()
    scalars = [c for c in _FakeWriter.calls if c[0] == "scalar"]
    assert ("scalar", str(tmp_path / "tensorboard" / "abc"), "history/train_loss", 0.5, 2) in scalars
    hparams = next(c for c in _FakeWriter.calls if c[0] == "hparams")
    assert hparams[2] == {"seed": "0"} and hparams[3] == {"final/test_accuracy": 0.9}
    assert ("experiment", "prune") in calls and ("run", "abc") in calls
    assert ("metrics", {"train_loss": 0.5, "lr": 0.1}, 2) in calls and ("metrics", {"test_accuracy": 0.9}, None) in calls


def test_missing_logger_package_is_one_line(monkeypatch, capsys):
    import importlib.util

    from sparsewire.cli.main import main

    real = importlib.util.find_spec
    monkeypatch.delitem(sys.modules, "mlflow", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    config = Path(__file__).resolve().parents[2] / "configs" / "quick.yaml"
    code = main(["run", str(config), "--log", "mlflow", "--out", "/nonexistent/never-written"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "pip install mlflow" in err[0]
