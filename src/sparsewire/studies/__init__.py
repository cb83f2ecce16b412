"""Study types (``study:`` in a config) and the machinery that runs them."""

from sparsewire.studies.base import STUDY_TYPES, StudyType, TrialContext, register
from sparsewire.studies.builtin import get_study_type
from sparsewire.studies.config import ConfigError, apply_overrides, load_config, validate
from sparsewire.studies.kept import load_trial_model
from sparsewire.studies.runner import Trial, execute_trial, expand, run_study, sequential

__all__ = [
    "STUDY_TYPES",
    "ConfigError",
    "StudyType",
    "Trial",
    "TrialContext",
    "apply_overrides",
    "execute_trial",
    "expand",
    "get_study_type",
    "load_config",
    "load_trial_model",
    "register",
    "run_study",
    "sequential",
    "validate",
]
