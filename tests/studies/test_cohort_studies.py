"""Studies on cohorts: one row per network, the same rows as training alone, resume per network."""

import pytest

from sparsewire.results import ResultsStore
from sparsewire.studies import run_study, validate

QUIET = {"progress": False, "echo": lambda s: None}


def structure(reber_dir, **extra):  # noqa: F811
    return {
        "study": "reber-structure",
        "data": {"data_dir": str(reber_dir.parent), "val_size": 60, "train_limit": 200, "test_limit": 150},
        "cells": ["gru", "rnn-tanh"],
        "priors": [{"generator": "barabasi-albert", "networks": 3, "min_nodes": 10, "max_nodes": 16},
                   {"generator": "watts-strogatz", "networks": 2, "min_nodes": 10, "max_nodes": 14, "p": 0.5}],
        "train": {"epochs": 2, "batch_size": 64, "lr": 0.01, "grad_clip": 1.0, "patience": 1},
        "seed": 1,
        **extra,
    }


def run(config, out):
    study_type, parsed = validate(config)
    return run_study(study_type, parsed, out, **QUIET)


def accuracies(folder):
    table = ResultsStore(folder).table().sort_values(["cell", "generator", "index"])
    return table


def test_cohorts_give_the_rows_of_training_alone(reber_dir, tmp_path):  # noqa: F811
    together = run(structure(reber_dir, cohort_size=4), tmp_path / "cohort")
    alone = run(structure(reber_dir, cohort_size=1), tmp_path / "alone")
    assert together.done == alone.done == 10 and not together.failed
    a, b = accuracies(tmp_path / "cohort"), accuracies(tmp_path / "alone")
    assert list(a["trial_id"]) == list(b["trial_id"])  # grouping is not part of a trial's identity
    assert list(a["test_accuracy"]) == pytest.approx(list(b["test_accuracy"]), abs=1e-9)
    assert list(a["epochs"]) == list(b["epochs"])
    assert set(a["batch_order"]) == {"shared"} and set(a["data_seed"]) == {1}
    assert set(a["cohort_size"].dropna()) == {4}  # 5 networks per cell: a cohort of 4 and one trained alone
    assert a["cohort_size"].isna().sum() == 2


def test_per_network_batch_order_keeps_the_old_trial_ids(reber_dir):  # noqa: F811
    from sparsewire.studies.runner import expand

    study_type, shared = validate(structure(reber_dir))
    _, own = validate(structure(reber_dir, batch_order="per-network"))
    ids = {t.trial_id for t in expand(study_type, shared)}
    assert all("data_seed" not in t.config for t in expand(study_type, own))
    assert ids.isdisjoint(t.trial_id for t in expand(study_type, own))  # a different computation, new ids
    groups = study_type.cohorts(shared, [t.spec for t in expand(study_type, shared)])
    assert sorted(len(g) for g in groups) == [5, 5]  # one cohort per cell
    assert study_type.cohorts(own, [t.spec for t in expand(study_type, own)]) == [[i] for i in range(10)]


def test_a_killed_cohort_reruns_only_its_unfinished_networks(reber_dir, tmp_path, monkeypatch):  # noqa: F811
    import sparsewire.cohorts as cohorts

    real = cohorts.iter_train_cohort

    def dies_after_two(*args, **kwargs):
        for count, item in enumerate(real(*args, **kwargs)):
            if count == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(cohorts, "iter_train_cohort", dies_after_two)
    config = structure(reber_dir, cells=["gru"], cohort_size=5, train={"epochs": 1, "batch_size": 64})
    with pytest.raises(KeyboardInterrupt):
        run(config, tmp_path)
    kept = set(ResultsStore(tmp_path).finished_ids())
    assert len(kept) == 2
    monkeypatch.setattr(cohorts, "iter_train_cohort", real)
    again = run(config, tmp_path)
    assert (again.skipped, again.done) == (2, 3)
