"""``study: search`` end to end on a Fashion-MNIST slice (configs/search-quick.yaml), with resume."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sparsewire.results.report import write_report
from sparsewire.results.reports.search import pareto_front
from sparsewire.studies import run_study, validate
from sparsewire.studies.identity import config_hash
from sparsewire.studies.search import lenet5_like

ROOT = Path(__file__).resolve().parents[2]
QUIET = {"progress": False, "echo": lambda s: None}


def quick(shared_data, **extra):
    config = yaml.safe_load((ROOT / "configs" / "search-quick.yaml").read_text())
    config["dataset"]["data_dir"] = str(shared_data)
    config.update(extra)
    return config


def test_quick_config_end_to_end_and_resume(shared_data, tmp_path):
    study_type, config = validate(quick(shared_data))
    summary = run_study(study_type, config, tmp_path, **QUIET)
    assert (summary.total, summary.done, summary.failed) == (3, 3, 0)
    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table.method) == ["ga", "predictor-ga", "random"]
    for row in table.itertuples():
        networks = json.loads(row.networks)
        assert len(networks) == 6 and len({n["genome"] for n in networks}) == 6
        assert all(n["macs"] <= 100_000 for n in networks)
        curve = json.loads(row.curve)
        assert curve == sorted(curve) and curve[-1] == row.best_val_accuracy
        assert row.best_val_retrained == pytest.approx(row.best_val_accuracy, abs=1e-9)  # same seed, same network
        assert abs(row.lenet5_params - row.best_params) <= 0.1 * row.best_params + 50
    assert len(list((tmp_path / "cache").glob("search-*.json"))) == 3  # one checkpoint per search
    report = write_report(tmp_path).read_text()
    assert "predictor-ga vs random" in report and "LeNet-5" in report
    assert all((tmp_path / f).exists() for f in ("search_curves.png", "pareto_front.png", "best_genome.png"))
    again = run_study(study_type, config, tmp_path, **QUIET)
    assert (again.done, again.skipped) == (0, 3)


def test_feedforward_space_trains_generations_as_cohorts(shared_data, tmp_path):
    study_type, config = validate(quick(shared_data, methods=["predictor-ga"], lenet5=False,
                                        space={"kind": "feedforward", "min_nodes": 6, "max_nodes": 12}))
    assert run_study(study_type, config, tmp_path, **QUIET).done == 1
    row = pd.read_csv(tmp_path / "results.csv").iloc[0]
    assert row.space == "feedforward" and len(json.loads(row.networks)) == 6
    assert row.best_val_retrained == pytest.approx(row.best_val_accuracy, abs=2e-3)  # alone vs in a cohort


def test_trials_are_method_by_seed_and_bad_configs_fail(shared_data):
    study_type, config = validate(quick(shared_data, seeds=[0, 1]))
    trials = study_type.trials(config)
    assert [(t.method, t.search_seed) for t in trials][:3] == [("predictor-ga", 0), ("ga", 0), ("random", 0)]
    assert len(trials) == 6
    for bad in ({"space": {"min_nodes": 5, "max_nodes": 2}}, {"search": {"budget": 2, "population": 3}},
                {"methods": ["annealing"]}, {"space": {"readout_size": 3}}):
        with pytest.raises(Exception, match="invalid search config"):
            validate(quick(shared_data, **bad))


def test_readout_size_is_in_the_trial_id_only_when_set(shared_data):
    def ids(**space):
        study_type, config = validate(quick(shared_data, space={"readout": "flatten", **space}))
        return [config_hash(t) for t in study_type.trials(config)]

    plain = ids()
    assert ids(readout_size=None) == plain
    assert not set(ids(readout_size=3)) & set(plain)


def test_second_stage_is_in_predictor_gas_id_only_when_set(shared_data):
    def trials(**surrogate):
        study_type, config = validate(quick(shared_data, surrogate={"prefix_fraction": 0.25, "prefix_candidates": 6,
                                                                    **surrogate}))
        return {t.method: config_hash(t) for t in study_type.trials(config)}

    forest, prefix = trials(), trials(second_stage="prefix")
    assert trials(second_stage="forest") == forest
    assert prefix["predictor-ga"] != forest["predictor-ga"]
    assert prefix["random"] == forest["random"] and prefix["ga"] == forest["ga"]  # no prefix stage there
    with pytest.raises(Exception, match="needs surrogate.prefix_candidates"):
        validate(quick(shared_data, surrogate={"second_stage": "prefix"}))


def test_pareto_front_and_lenet_of_equal_size():
    networks = pd.DataFrame({"params": [10, 20, 20, 30, 40], "accuracy": [0.5, 0.4, 0.6, 0.55, 0.7]})
    assert pareto_front(networks)[["params", "accuracy"]].values.tolist() == [[10, 0.5], [20, 0.6], [40, 0.7]]

    class Splits:
        image_shape, num_classes = (1, 28, 28), 10

    model, width = lenet5_like(20_000, Splits)
    params = sum(p.numel() for p in model.parameters())
    assert abs(params - 20_000) < 1000 and 0 < width < 1


@pytest.mark.parametrize("name", ["search-fashion-mnist", "search-cifar10"])
def test_record_configs_validate_and_admit_random_genomes(name):
    import numpy as np

    from sparsewire.studies.search import make_space

    study_type, config = validate(yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text()))
    assert len(study_type.trials(config)) == 3 * len(config.seeds) >= 9
    shape = (3, 32, 32) if config.dataset.name == "cifar10" else (1, 28, 28)
    space, rng = make_space(config.space, shape, 10), np.random.default_rng(0)
    drawn = [space.draw(lambda: space.random(rng)) for _ in range(10)]
    assert sum(g is not None for g in drawn) >= 5


def test_recorded_report_regenerates_from_its_store(tmp_path):
    """benchmarks/results/search-fashion-mnist/report.md is what the report code writes from its results.sqlite."""
    import shutil

    recorded = ROOT / "benchmarks" / "results" / "search-fashion-mnist"
    for name in ("results.sqlite", "study.yaml"):
        shutil.copy(recorded / name, tmp_path / name)
    assert write_report(tmp_path).read_text() == (recorded / "report.md").read_text()


def test_lenet_goal_is_judged_over_searches_not_on_the_single_best():
    from sparsewire.results.reports.search import lenet_goal

    def table(gaps):
        return pd.DataFrame({"best_val_accuracy": [0.9] + [0.5] * (len(gaps) - 1), "best_params": 1000,
                             "lenet5_params": 1010, "lenet5_test_accuracy": 0.7,
                             "best_test_accuracy": [0.7 + g for g in gaps]})

    assert "**missed (LeNet-5 is better)**" in lenet_goal(table([0.01] + [-0.03] * 9))  # the best one won its run
    assert "**met**" in lenet_goal(table([0.02] * 10))
    assert "**not shown (within training noise)**" in lenet_goal(table([0.01, -0.01, 0.02, -0.02]))


def test_fractions_are_checked_one_way():
    from sparsewire.architecture_search import AssistedConfig, CellSpace, SearchConfig

    for bad in (-0.1, 1.5, float("nan")):
        for make in (lambda r: AssistedConfig(crossover_rate=r), lambda r: SearchConfig(crossover_rate=r)):
            with pytest.raises(ValueError, match=r"crossover_rate must be in \[0, 1\]"):
                make(bad)
        with pytest.raises(ValueError, match=r"edge_probability must be in \[0, 1\]"):
            CellSpace((1, 28, 28), 10, edge_probability=bad)


PREFIX = {"wl": True, "prefix_fraction": 0.25, "prefix_candidates": 4}


def test_prefix_is_recorded_at_its_step_without_changing_the_training(shared_data):
    import numpy as np
    import torch

    from sparsewire.studies.search import image_splits, make_space, prefix_steps, train_alone, train_prefix

    study_type, config = validate(quick(shared_data, surrogate=PREFIX))
    trial = study_type.trials(config)[0]
    splits = image_splits(trial.dataset)
    space = make_space(trial.space, splits.image_shape, splits.num_classes)
    genome, cpu = space.random(np.random.default_rng(0)), torch.device("cpu")
    steps = prefix_steps(trial, splits)
    assert steps == round(0.25 * 7)  # 400 images in batches of 64: 7 steps per epoch
    _, plain, none = train_alone(space.build(genome, 5), trial, splits, cpu, "plain")
    _, final, at_prefix = train_alone(space.build(genome, 5), trial, splits, cpu, "recorded", record_at=steps)
    assert none is None and final == plain  # measuring the prefix changes nothing
    suspended = space.build(genome, 5)
    accuracy, state = train_prefix(suspended, trial, splits, cpu, steps)
    assert at_prefix == accuracy and state is not None and state.steps == steps
    assert at_prefix != train_prefix(space.build(genome, 5), trial, splits, cpu, steps + 1)[0]
    _, continued, _ = train_alone(suspended, trial, splits, cpu, "continued", resume=state)
    assert continued == plain  # the prefix continued ends where the whole training ends


@pytest.mark.parametrize("continued", [True, False])
def test_prefix_search_charges_its_prefix_trainings(shared_data, tmp_path, continued):
    study_type, config = validate(quick(shared_data, surrogate=PREFIX, lenet5=False, methods=["predictor-ga", "random"],
                                        search={"budget": 8, "population": 3, "offspring": 2, "candidates": 3,
                                                "min_fit": 3, "trees": 10}, continue_prefix=continued))
    trials = study_type.trials(config)
    assert [t.prefix_continued for t in trials] == [continued, False]  # only predictor-ga has a prefix stage
    assert run_study(study_type, config, tmp_path, **QUIET).done == 2
    table = pd.read_csv(tmp_path / "results.csv").set_index("method")
    ours, random = table.loc["predictor-ga"], table.loc["random"]
    networks, trainings = json.loads(ours.networks), json.loads(ours.prefix_trainings)
    share = 2 / 7  # 2 of 7 steps of the one epoch
    assert ours.prefix_trained == len(trainings) > 0 and ours.networks_trained == len(networks) < 8
    paid = [t for t in trainings if not t.get("continued", False)]
    assert ours.network_epochs == pytest.approx(len(networks) + share * len(paid))
    assert 8 - 1 < ours.network_epochs <= 8 and random.network_epochs == random.networks_trained == 8
    assert all(0 <= n["prefix_accuracy"] <= 1 for n in networks)
    assert ours.train_flops > 0 and {t["chosen"] for t in trainings} == {True, False}
    chosen = [t for t in trainings if t["chosen"]]
    assert all(t.get("continued", False) == continued for t in chosen)
    if continued:  # each chosen network records the very prefix accuracy the screen saw, under the same number
        by_number = {n["index"]: n for n in networks}
        assert all(by_number[t["index"]]["prefix_accuracy"] == t["prefix_accuracy"] for t in chosen)
    with pytest.raises(Exception, match="prefix_fraction"):
        validate(quick(shared_data, surrogate={"prefix_candidates": 4}))
    with pytest.raises(Exception, match="must exceed search.offspring"):
        validate(quick(shared_data, surrogate={"prefix_fraction": 0.5, "prefix_candidates": 2}))
