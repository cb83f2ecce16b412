"""The Ray executor on a tiny real study: same rows as sequential, crashes recorded, resume skips work."""

from dataclasses import replace
from pathlib import Path

import pytest

from sparsewire.results import ResultsStore
from sparsewire.studies import run_study, validate
from sparsewire.studies.executors import RayExecutor, make_executor
from sparsewire.studies.runner import expand, sequential

REBER = Path(__file__).resolve().parents[3] / "shared" / "data"

ray = pytest.importorskip("ray")


def tiny_config():
    return {
        "study": "reber-prune",
        "name": "tiny-ray",
        "data": {"data_dir": str(REBER), "val_size": 100, "train_limit": 300, "test_limit": 200},
        "cells": ["gru"],
        "model": {"hidden_size": 4, "embedding_dim": 3},
        "train": {"epochs": 1, "batch_size": 64},
        "retrain": {"epochs": 1, "batch_size": 64},
        "targets": ["h2h"],
        "percents": [50, 100],
    }


@pytest.fixture(scope="module")
def local_ray():
    if not (REBER / "reber" / "train_data.csv").exists():
        pytest.skip("shipped Reber data not found")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024**2)
    yield
    ray.shutdown()


def test_make_executor_choices():
    assert make_executor(1) is sequential
    assert isinstance(make_executor(2), RayExecutor)
    assert isinstance(make_executor(1, "auto"), RayExecutor)
    with pytest.raises(ValueError, match="at least 1"):
        make_executor(0)


@pytest.mark.slow  # starting Ray workers (each imports torch) takes 10-40 s on the shared 2-core machine
def test_ray_sweep_matches_sequential_records_crashes_and_resumes(local_ray, tmp_path):
    study_type, config = validate(tiny_config())
    quiet = {"progress": False, "echo": lambda s: None}

    seq = run_study(study_type, config, tmp_path / "seq", **quiet)
    par = run_study(study_type, config, tmp_path / "ray", executor=RayExecutor(2), **quiet)
    assert (seq.done, par.done, par.failed) == (2, 2, 0)
    a = ResultsStore(tmp_path / "seq").table().set_index("trial_id").sort_index()
    b = ResultsStore(tmp_path / "ray").table().set_index("trial_id").sort_index()
    for column in ["test_accuracy", "test_accuracy_before_retrain", "dense_test_accuracy", "params_remaining"]:
        assert a[column].tolist() == b[column].tolist()

    again = run_study(study_type, config, tmp_path / "ray", executor=RayExecutor(2), **quiet)
    assert (again.skipped, again.done) == (2, 0)

    good = expand(study_type, config)[0]
    bad = replace(good, trial_id="bad", config={**good.config, "cell": "transformer"})
    outcomes = {o.trial.trial_id: o for o in RayExecutor(2)([bad, good], tmp_path / "mixed", False)}
    assert outcomes["bad"].row is None and "transformer" in outcomes["bad"].error
    assert outcomes[good.trial_id].error is None and outcomes[good.trial_id].row["test_accuracy"] >= 0


def test_no_trials_starts_nothing(tmp_path):
    assert list(RayExecutor(2)([], tmp_path, False)) == []
    assert not ray.is_initialized()


def test_unreachable_cluster_gives_a_clear_error(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr("sparsewire.studies.executors._check_reachable", lambda address: None)
    with pytest.raises(ValueError, match="10.0.0.1:6379.*ray status.*RAY_AUTH_MODE=token"):
        RayExecutor(2, address="10.0.0.1:6379")._init()


def test_address_nobody_listens_on_fails_fast():
    import socket

    from sparsewire.studies.executors import _check_reachable

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        _check_reachable(f"127.0.0.1:{port}")  # something answers: left to Ray
        _check_reachable(f"ray://127.0.0.1:{port}")
    with pytest.raises(ValueError, match=f"no Ray cluster answers at '127.0.0.1:{port}'"):
        _check_reachable(f"127.0.0.1:{port}", timeout=2)
    _check_reachable("auto")  # not host:port: Ray resolves it
