"""Typed trials (issue 18): each study type's trials are frozen pydantic models whose dump is the trial's dict."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from pydantic import ValidationError

from sparsewire.studies import STUDY_TYPES, load_config
from sparsewire.studies.runner import Trial, expand
from sparsewire.studies.trials import Recorded, TrialConfig

ROOT = Path(__file__).resolve().parents[2]
QUICK = {"prune": "quick.yaml", "prior": "prior-quick.yaml", "dynamic-sparsity": "dynamic-sparsity-quick.yaml",
         "layer-sparsity": "layer-sparsity-quick.yaml", "reber-prune": "reber-prune-quick.yaml",
         "reber-structure": "reber-structure-quick.yaml", "reber-search": "reber-search-quick.yaml",
         "search": "search-quick.yaml"}


class Example(TrialConfig):
    seed: int
    added_later: Recorded[str] = "old"
    optional: Recorded[int | None] = None


def test_a_recorded_field_joins_the_dict_only_away_from_its_default():
    assert Example(seed=1).model_dump() == {"seed": 1}
    assert Example(seed=1, added_later="new", optional=0).model_dump() == {"seed": 1, "added_later": "new", "optional": 0}
    assert Example.recorded_fields() == ("added_later", "optional")
    assert Example.parse({"study": "x", "seed": 1}) == Example(seed=1)  # the runner's study key is not a field


def test_trials_are_frozen_and_refuse_unknown_keys():
    with pytest.raises(ValidationError):
        Example(seed=1).seed = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Example.parse({"seed": 1, "typo": 2})


def test_every_study_type_has_a_trial_model_and_a_quick_config():
    assert set(QUICK) == set(STUDY_TYPES)
    for study_type in STUDY_TYPES.values():
        assert issubclass(study_type.TrialConfig, TrialConfig)


@pytest.mark.parametrize("study", sorted(QUICK))
def test_a_trial_is_the_same_as_a_model_as_its_dict_and_after_pickling(study):
    study_type, config = load_config(ROOT / "configs" / QUICK[study])
    trials = expand(study_type, config)
    for trial in trials:
        assert isinstance(trial.spec, study_type.TrialConfig)
        assert trial.config == {"study": study, **trial.spec.model_dump()}
        from_dict = Trial(trial.trial_id, trial.study, trial.config)  # e.g. a work item made from a stored row
        assert from_dict.typed(study_type) == trial.spec
        assert pickle.loads(pickle.dumps(trial)).typed(study_type) == trial.spec  # what the Ray executor ships
    assert study_type.cohorts(config, [t.spec for t in trials])  # grouping reads the typed trials
