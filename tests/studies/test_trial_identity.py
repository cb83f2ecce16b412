"""Trial ids: recorded studies keep theirs where their computation is unchanged, new conventions get new ones.

A trial's id is the hash of its config dict. Issue 11 changed the default orientation of prior-built
networks (random -> edge order) and added read-out / embedding options: a key joins the trial dict only
when it is not at the behaviour of the runs recorded before it existed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from sparsewire.studies import load_config
from sparsewire.studies.runner import expand

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def _records() -> list[tuple[Path, Path]]:
    """(results folder, committed config of the same name) for every recorded study that has both."""
    out = []
    for folder in sorted(RESULTS.iterdir()) if RESULTS.exists() else []:
        if not (folder / "results.csv").exists() or not (folder / "study.yaml").exists():
            continue
        if not (folder / "results.csv").read_text().strip():  # a study that has started but finished no trial yet
            continue
        name = yaml.safe_load((folder / "study.yaml").read_text()).get("name")
        if name and (ROOT / "configs" / f"{name}.yaml").exists():
            out.append((folder, ROOT / "configs" / f"{name}.yaml"))
    return out


def _ids(source: Path, overrides: list[str] | None = None) -> set[str]:
    study_type, config = load_config(source, overrides or [])
    return {t.trial_id for t in expand(study_type, config)}


RECORDS = _records()


def test_the_recorded_prior_studies_are_covered():
    names = {config.stem for _, config in RECORDS}
    assert {"reber-structure", "reber-structure-long", "reber-structure-repeats", "reber-prune", "reber-search",
            "prior-mnist", "prior-fashion-mnist"} <= names


@pytest.mark.parametrize(("folder", "config"), RECORDS, ids=[f.name for f, _ in RECORDS])
def test_committed_configs_resume_their_recorded_rows(folder, config):
    recorded = set(pd.read_csv(folder / "results.csv", usecols=["trial_id"])["trial_id"])
    assert recorded <= _ids(config), f"{config.name} no longer names the trials recorded in {folder}"
    assert recorded <= _ids(folder / "study.yaml"), f"{folder}/study.yaml no longer names its own trials"


def test_orientation_readout_and_padding_join_the_id_only_when_they_change_the_computation():
    config = ROOT / "configs" / "reber-structure.yaml"  # says orientation: random (its recorded behaviour)
    recorded = _ids(config)
    assert _ids(config, ["readout=last-valid", "padding_embedding=zero"]) == recorded
    for change in (["orientation=edge-order"], ["readout=last-step"], ["padding_embedding=learned"],
                   ["embedding_dim=first-layer"]):
        assert not _ids(config, change) & recorded, change  # a new convention: all new trials
    study_type, parsed = load_config(config, ["orientation=edge-order"])
    assert all(t.model_dump()["orientation"] == "edge-order" for t in study_type.trials(parsed))
    assert all("orientation" not in t.model_dump() for t in load_config(config)[0].trials(load_config(config)[1]))


def test_prior_and_reber_prune_options_follow_the_same_rule():
    prior = ROOT / "configs" / "prior-mnist.yaml"
    assert not _ids(prior, ["orientation=edge-order"]) & _ids(prior)
    prune = ROOT / "configs" / "reber-prune.yaml"
    same = _ids(prune, ["model.readout=last-valid", "model.padding_embedding=zero"])
    assert same == _ids(prune)
    assert not _ids(prune, ["model.readout=last-step"]) & same


def test_paper_configs_use_the_authors_conventions():
    study_type, config = load_config(ROOT / "configs" / "reber-structure-paper.yaml")
    trials = study_type.trials(config)
    assert len(trials) == 800
    assert {t.cell for t in trials} == {"rnn-tanh", "rnn-relu", "gru", "lstm"}
    assert {(t.orientation, t.readout, t.embedding_dim, t.padding_embedding) for t in trials} == {
        ("edge-order", "last-step", "first-layer", "learned")}
    assert {t.data.val_size for t in trials} == {0} and {t.data.train_limit for t in trials} == {None}
    assert {t.data.test_limit for t in trials} == {None}
    train = trials[0].train
    assert (train.epochs, train.batch_size, train.optimizer, train.lr) == (15, 128, "adam", 0.001)
    for t in trials:
        n = t.nodes
        assert 10 <= n <= 50
        if t.generator == "barabasi-albert":
            assert t.params == {"m": n // 10}
        else:
            assert t.generator == "connected-watts-strogatz" and t.params == {"k": n // 5, "p": 1.0, "tries": 10}
    study_type, config = load_config(ROOT / "configs" / "reber-prune-paper.yaml")
    model = study_type.trials(config)[0].model
    assert (model.embedding_dim, model.readout, model.padding_embedding) == ("first-layer", "last-step", "learned")
