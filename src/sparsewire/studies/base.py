"""What a study type is, and the registry ``sparsewire run`` dispatches on (``study:`` in the YAML; looked up
with :func:`sparsewire.studies.builtin.get_study_type`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import pandas as pd
from pydantic import BaseModel

from sparsewire.results.reports import register_report
from sparsewire.studies.trials import TrialConfig as TrialModel

if TYPE_CHECKING:
    import torch

ConfigT = TypeVar("ConfigT", bound=BaseModel)
TrialT = TypeVar("TrialT", bound=TrialModel)


@dataclass(frozen=True)
class TrialContext:
    """Where a trial may write shared artefacts (e.g. a dense model reused by all trials of one seed), and
    where it hands over the networks it trained when the study keeps them (:meth:`keep_model`)."""

    out_dir: Path
    progress: bool = True
    device: str = "cpu"
    """``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``; see :meth:`torch_device`."""
    save_models: bool = False
    """Whether :meth:`keep_model` keeps anything (``sparsewire run --save-models``)."""
    kept: dict[tuple[int, str], torch.nn.Module] = field(default_factory=dict)
    """Networks handed over by :meth:`keep_model`, by (member, name), until the runner saves them."""

    def keep_model(self, model: torch.nn.Module, *, member: int = 0, name: str = "final") -> None:
        """Hand over a trained network for the runner to save as ``DIR/models/<trial id>.pt`` (``name`` other
        than ``final``: ``<trial id>-<name>.pt``); ``member``: its position in a cohort's trials. Does nothing
        unless the study keeps its models, so studies call it unconditionally."""
        if self.save_models:
            self.kept[(member, name)] = model

    def torch_device(self) -> torch.device:
        """The device to train on (``auto`` resolved)."""
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    @property
    def cache_dir(self) -> Path:
        path = self.out_dir / "cache"
        path.mkdir(parents=True, exist_ok=True)
        return path


class StudyType(ABC, Generic[ConfigT, TrialT]):
    """A kind of study: a typed config that expands into independent trials, and how to report them.

    Subclasses set ``name``, ``Config`` (a pydantic model with ``extra="forbid"`` that includes a
    ``study: Literal[name]`` field) and ``TrialConfig`` (the typed trial, :mod:`sparsewire.studies.trials`),
    and implement :meth:`trials`, :meth:`run_trial` and :meth:`report`. The two type parameters are the
    ``Config`` and ``TrialConfig`` models (``class PruneStudy(StudyType[PruneStudyConfig, PruneTrial])``).
    """

    name: ClassVar[str]
    Config: type[ConfigT]
    TrialConfig: type[TrialT]

    @abstractmethod
    def trials(self, config: ConfigT) -> list[TrialT]:
        """The study's trials, each fully determining one trial (its dump is hashed into the trial id)."""

    def model_for(self, trial: TrialT, result: Mapping[str, Any] | None = None) -> torch.nn.Module:
        """The untrained network ``trial`` trains (architecture, masks attached where the study attaches them at
        build time): what :func:`sparsewire.studies.load_trial_model` loads kept weights into. Studies that hand
        networks over (:meth:`TrialContext.keep_model`) implement it. ``result`` is the trial's stored row, for
        studies whose network is chosen while the trial runs (``search``: its best genome)."""
        raise NotImplementedError(f"the {self.name} study keeps no networks")

    def parse_trial(self, trial: TrialModel | Mapping[str, Any]) -> TrialT:
        """A trial as this study's :attr:`TrialConfig` (from the model itself or from its dict)."""
        return self.TrialConfig.parse(trial)

    @abstractmethod
    def run_trial(self, trial: TrialT, context: TrialContext) -> dict[str, Any]:
        """Run one trial and return its results row (JSON-able scalars, lists or dicts)."""

    def check(self, config: ConfigT) -> None:  # noqa: B027 - optional hook
        """Fail fast on problems the schema cannot see (e.g. data that is missing) before any work."""

    @abstractmethod
    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        """Markdown body of ``report.md`` for the finished trials; write plots into ``out_dir``.

        Built-in study types delegate to their module in :mod:`sparsewire.results.reports`."""

    def cohorts(self, config: ConfigT, trials: list[TrialT]) -> list[list[int]]:
        """Groups of indices into ``trials`` to train together as one cohort (default: each alone).

        Grouping must never change what a trial computes (members of a cohort give the same results as
        alone), so it is not part of any trial id; a study that groups implements :meth:`run_cohort`.
        """
        return [[i] for i in range(len(trials))]

    def run_cohort(self, trials: list[TrialT],
                   context: TrialContext) -> Iterator[tuple[int, dict[str, Any] | BaseException]]:
        """Train ``trials`` together; yield ``(index, row)`` as each member finishes, or ``(index, error)``
        (a :class:`~sparsewire.errors.TrainingDiverged` for a diverged member)."""
        raise NotImplementedError(f"{self.name} does not train cohorts")

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        """The table ``sparsewire results`` prints (default: the whole table)."""
        return table


StudyClass = TypeVar("StudyClass", bound=type[StudyType[Any, Any]])

STUDY_TYPES: dict[str, StudyType[Any, Any]] = {}


def register(cls: StudyClass) -> StudyClass:
    """Class decorator adding a study type to :data:`STUDY_TYPES`, and its report and summary to those
    :func:`~sparsewire.results.report.write_report` uses (:func:`~sparsewire.results.reports.register_report`)."""
    study_type = STUDY_TYPES[cls.name] = cls()
    register_report(cls.name, study_type.report, study_type.summary)
    return cls

