"""The study-specific part of a study folder's ``report.md`` and of ``sparsewire results``: one module per
study type, each with ``report(table, out_dir) -> str`` (Markdown; its plots written into ``out_dir``) and
``summary(table) -> DataFrame``, both computed from the ``done`` rows of the results store.

:func:`~sparsewire.results.report.write_report` finds them by the study type's name: a built-in study type's
module is imported when needed (no study code is), and :func:`sparsewire.studies.register` registers every
study type's own :meth:`~sparsewire.studies.StudyType.report` and ``summary`` with :func:`register_report`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sparsewire.errors import StoreError


@dataclass(frozen=True)
class StudyReport:
    """How one study type reports its finished trials."""

    report: Callable[[pd.DataFrame, Path], str]
    """Markdown body of ``report.md``; plots go into the folder given."""
    summary: Callable[[pd.DataFrame], pd.DataFrame]
    """The table ``sparsewire results`` prints."""


BUILT_IN: dict[str, str] = {
    "dynamic-sparsity": "dynamic_sparsity",
    "layer-sparsity": "layer_sparsity",
    "prior": "prior",
    "prune": "prune",
    "reber-prune": "reber_prune",
    "reber-search": "reber_search",
    "reber-structure": "reber_structure",
    "search": "search",
}
"""Study type → its module in this package."""

_REGISTERED: dict[str, StudyReport] = {}


def register_report(study: str, report: Callable[[pd.DataFrame, Path], str],
                    summary: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Report the folders of ``study`` with ``report`` and ``summary`` (replacing any earlier registration)."""
    _REGISTERED[study] = StudyReport(report, summary)


def study_report(study: str) -> StudyReport:
    """The registered report of ``study``, else its built-in module's; :class:`StoreError` for neither."""
    if study in _REGISTERED:
        return _REGISTERED[study]
    if study in BUILT_IN:
        module = importlib.import_module(f"{__name__}.{BUILT_IN[study]}")
        return StudyReport(module.report, module.summary)
    raise StoreError(f"no report for study type {study!r}: import the module that registers it "
                     f"(built in: {sorted(BUILT_IN)})")
