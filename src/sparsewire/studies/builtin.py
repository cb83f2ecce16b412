"""The built-in study types (each registered when its module is imported) and the lookup ``sparsewire run``
dispatches on (``study:`` in the YAML).

Kept apart from :mod:`sparsewire.studies.base` (the contract and the registry, which the study modules
import) so that no module of the package imports one that imports it back.
"""

from __future__ import annotations

from typing import Any

from sparsewire.studies import dynamic_sparsity as _dynamic_sparsity  # noqa: F401 - registers study: dynamic-sparsity
from sparsewire.studies import layer_sparsity as _layer_sparsity  # noqa: F401 - registers study: layer-sparsity
from sparsewire.studies import prior as _prior  # noqa: F401 - registers study: prior
from sparsewire.studies import prune as _prune  # noqa: F401 - registers study: prune
from sparsewire.studies import reber_prune as _reber_prune  # noqa: F401 - registers study: reber-prune
from sparsewire.studies import reber_search as _reber_search  # noqa: F401 - registers study: reber-search
from sparsewire.studies import reber_structure as _reber_structure  # noqa: F401 - registers study: reber-structure
from sparsewire.studies import search as _search  # noqa: F401 - registers study: search
from sparsewire.studies.base import STUDY_TYPES, StudyType


def get_study_type(name: str) -> StudyType[Any, Any]:
    """The registered study type called ``name`` (built-in, or registered with ``@register`` by the user)."""
    if name not in STUDY_TYPES:
        raise ValueError(f"unknown study type {name!r}; choose from {sorted(STUDY_TYPES)}")
    return STUDY_TYPES[name]
