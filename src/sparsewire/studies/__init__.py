"""Study types (``study:`` in a config) and the machinery that runs them."""

from sparsewire.studies import dynamic_sparsity as _dynamic_sparsity  # noqa: F401 - registers study: dynamic-sparsity
from sparsewire.studies import layer_sparsity as _layer_sparsity  # noqa: F401 - registers study: layer-sparsity
from sparsewire.studies import prior as _prior  # noqa: F401 - registers study: prior
from sparsewire.studies import prune as _prune  # noqa: F401 - registers study: prune
from sparsewire.studies import reber_prune as _reber_prune  # noqa: F401 - registers study: reber-prune
from sparsewire.studies import reber_search as _reber_search  # noqa: F401 - registers study: reber-search
from sparsewire.studies import reber_structure as _reber_structure  # noqa: F401 - registers study: reber-structure
from sparsewire.studies import search as _search  # noqa: F401 - registers study: search
from sparsewire.studies.base import STUDY_TYPES, StudyType, TrialContext, get_study_type, register
from sparsewire.studies.config import ConfigError, apply_overrides, load_config, validate
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
    "register",
    "run_study",
    "sequential",
    "validate",
]
