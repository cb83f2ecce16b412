"""Run a study: expand trials, skip the finished ones, run the rest, store every row at once."""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from sparsewire.atomic import replacing, write_text
from sparsewire.errors import ConfigError, StoreError, StudyMismatch, TrainingDiverged
from sparsewire.progress import progress as tqdm
from sparsewire.provenance import record_environment
from sparsewire.results import DB_NAME, ResultsStore
from sparsewire.results.models import MODELS_DIR, model_path, weights_file
from sparsewire.studies.base import StudyType, TrialContext
from sparsewire.studies.builtin import get_study_type
from sparsewire.studies.identity import config_hash
from sparsewire.studies.lock import StudyLock
from sparsewire.studies.trials import TrialConfig


@dataclass(frozen=True)
class Trial:
    """One unit of work: its id (hash of its config), study type and config.

    ``config`` is the trial's dict (``study`` and the typed trial's dump): what is hashed and stored.
    ``spec`` is the typed trial it came from; a Trial made from a dict alone (``spec`` None) is parsed by
    the study type when it runs (:meth:`typed`).
    """

    trial_id: str
    study: str
    config: dict[str, Any]
    device: str = "cpu"
    """Where the trial runs (``auto``, ``cpu``, ``cuda``, ``cuda:N``): not part of its id, since results
    must not depend on it."""
    spec: TrialConfig | None = field(default=None, compare=False, repr=False)

    def typed(self, study_type: StudyType[Any, Any]) -> TrialConfig:
        """The typed trial (:attr:`spec`, or ``config`` parsed by ``study_type``)."""
        return self.spec if self.spec is not None else study_type.parse_trial(self.config)


@dataclass(frozen=True)
class Outcome:
    """How one trial ended: ``done`` (``row`` is its result), ``diverged`` (``epoch``) or ``failed`` (``error``).

    Executors yield one Outcome per trial; a study that trains a group of trials together (a cohort) may
    yield several from one computation, e.g. ``Outcome.diverged(trial, epoch, why)`` for one network and
    ``Outcome.done(trial, row)`` for the others. The runner stores each the moment it arrives.
    ``Outcome(trial, row, error)`` without ``status`` means ``done`` if ``error`` is None, else ``failed``.
    """

    trial: Trial
    row: dict[str, Any] | None
    error: str | None
    status: str = ""
    epoch: int | None = None

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "done" if self.error is None else "failed")
        if self.status not in STATUSES:
            raise ValueError(f"unknown outcome status {self.status!r}; one of {STATUSES}")

    @classmethod
    def done(cls, trial: Trial, row: dict[str, Any]) -> Outcome:
        return cls(trial, {"trial_id": trial.trial_id, **row}, None, "done")

    @classmethod
    def failed(cls, trial: Trial, error: str) -> Outcome:
        return cls(trial, None, error, "failed")

    @classmethod
    def diverged(cls, trial: Trial, epoch: int | None, error: str) -> Outcome:
        """A trial whose training produced a non-finite loss or weight in ``epoch``: finished, not a result.

        Its stored row holds ``diverged_epoch`` and the trial's scalar config keys (to tell it apart in a
        table with ``--include-diverged``).
        """
        scalars = {k: v for k, v in trial.config.items() if isinstance(v, str | int | float | bool) and k != "study"}
        return cls(trial, {"trial_id": trial.trial_id, **scalars, "diverged_epoch": epoch}, error, "diverged", epoch)


STATUSES = ("done", "diverged", "failed")


def expand(study_type: StudyType[Any, Any], config: BaseModel) -> list[Trial]:
    """The study's trials with their ids (duplicates collapse to one).

    A config that expands to no trials (an empty list of seeds, methods, models, ...) or to more than
    :data:`MAX_TRIALS` raises :class:`~sparsewire.errors.ConfigError`.
    """
    seen: dict[str, Trial] = {}
    for spec in study_type.trials(config):
        trial_config = {"study": study_type.name, **spec.model_dump()}
        trial_id = config_hash(trial_config)
        seen.setdefault(trial_id, Trial(trial_id, study_type.name, trial_config, spec=spec))
        if len(seen) > MAX_TRIALS:
            raise ConfigError(f"the {study_type.name} config expands to more than {MAX_TRIALS} trials; split it")
    if not seen:
        empty = [k for k, v in config.model_dump().items() if isinstance(v, list | tuple | dict) and not v]
        hint = f" (empty: {', '.join(empty)})" if empty else ""
        raise ConfigError(f"the {study_type.name} config expands to no trials{hint}; nothing would run")
    return list(seen.values())


#: Most trials one config may expand to (a guard against typos such as ``seeds: range(1e6)``).
MAX_TRIALS = 100_000


def _context(out_dir: str | Path, progress: bool, device: str) -> TrialContext:
    return TrialContext(Path(out_dir), progress=progress, device=device,
                        save_models=(Path(out_dir) / MODELS_DIR).is_dir())


def _save_kept(context: TrialContext, member: int, trial_id: str) -> None:
    """Save (atomically) and release the networks ``member`` of this context handed over."""
    import torch

    for key in [key for key in context.kept if key[0] == member]:
        name = key[1]
        with replacing(model_path(context.out_dir, trial_id, name), "wb") as out:
            torch.save(weights_file(context.kept.pop(key), trial_id, name), out)  # weights only: loading runs no code


def execute_trial(trial: Trial, out_dir: str | Path, progress: bool = False) -> Outcome:
    """Run one trial in this process: ``done``, ``diverged`` (:class:`TrainingDiverged`) or ``failed`` (a crash)."""
    study_type = get_study_type(trial.study)
    context = _context(out_dir, progress, trial.device)
    try:
        row = study_type.run_trial(trial.typed(study_type), context)
        _save_kept(context, 0, trial.trial_id)
    except TrainingDiverged as err:
        return Outcome.diverged(trial, err.epoch, str(err))
    except Exception:  # noqa: BLE001 - a crashing trial is recorded, the study goes on
        return Outcome.failed(trial, traceback.format_exc(limit=8))
    return Outcome.done(trial, row)


@dataclass(frozen=True)
class Group:
    """Trials of one study trained together as a cohort (see :meth:`StudyType.run_cohort`)."""

    trials: tuple[Trial, ...]

    @property
    def study(self) -> str:
        return self.trials[0].study


Work = Trial | Group


def execute_group(group: Group, out_dir: str | Path, progress: bool = False) -> Iterator[Outcome]:
    """Train a cohort in this process, yielding each member's outcome as it finishes. A crash of the whole
    cohort fails the members that had not finished; they are retried on the next run."""
    study_type = get_study_type(group.study)
    pending = dict(enumerate(group.trials))
    context = _context(out_dir, progress, group.trials[0].device)
    try:
        for index, result in study_type.run_cohort([t.typed(study_type) for t in group.trials], context):
            trial = pending.pop(index)
            if isinstance(result, TrainingDiverged):
                yield Outcome.diverged(trial, result.epoch, str(result))
            elif isinstance(result, BaseException):
                yield Outcome.failed(trial, "".join(traceback.format_exception(result, limit=8)))
            else:
                _save_kept(context, index, trial.trial_id)
                yield Outcome.done(trial, result)
    except Exception:  # noqa: BLE001 - a crashing cohort is recorded per member, the study goes on
        error = traceback.format_exc(limit=8)
        for trial in pending.values():
            yield Outcome.failed(trial, error)
        pending = {}
    for trial in pending.values():
        yield Outcome.failed(trial, "the cohort ended without a result for this trial")


def execute_work(work: Work, out_dir: str | Path, progress: bool = False) -> list[Outcome]:
    """All outcomes of one unit of work (a trial or a cohort) as a list (for remote workers)."""
    if isinstance(work, Group):
        return list(execute_group(work, out_dir, progress))
    return [execute_trial(work, out_dir, progress)]


def group_work(study_type: StudyType[Any, Any], config: BaseModel, trials: list[Trial]) -> list[Work]:
    """The study's cohorts (:meth:`StudyType.cohorts`) over ``trials``; a group of one is a plain trial
    (:meth:`StudyType.run_trial`: trained alone, as without cohorts)."""
    device = getattr(config, "device", "cpu")
    trials = [dataclasses.replace(t, device=device) for t in trials] if device != "cpu" else trials
    groups = study_type.cohorts(config, [t.typed(study_type) for t in trials])
    if sorted(i for g in groups for i in g) != list(range(len(trials))):
        raise ValueError(f"{study_type.name}.cohorts must place every trial in exactly one group")
    return [trials[g[0]] if len(g) == 1 else Group(tuple(trials[i] for i in g)) for g in groups]


Executor = Callable[[list[Work], Path, bool], Iterator[Outcome]]


def sequential(trials: list[Work], out_dir: Path, progress: bool) -> Iterator[Outcome]:
    """Run trials and cohorts one after another in this process (a cohort's rows as its members finish)."""
    for work in trials:
        if isinstance(work, Group):
            yield from execute_group(work, out_dir, progress)
        else:
            yield execute_trial(work, out_dir, progress)


def record(store: ResultsStore, outcome: Outcome) -> None:
    """Store one outcome (any status) in the study's results store."""
    trial = outcome.trial
    store.record(trial.trial_id, trial.study, trial.config, outcome.row, status=outcome.status, error=outcome.error)


@dataclass
class StudySummary:
    out_dir: Path
    total: int
    skipped: int
    done: int
    failed: int
    diverged: int = 0

    @property
    def ok(self) -> bool:
        """No trial of this run failed or diverged."""
        return not (self.failed or self.diverged)

    def line(self) -> str:
        return f"{self.done} trials run, {self.skipped} reused, {self.diverged} diverged, {self.failed} failed."


def prepare_folder(study_type: StudyType[Any, Any], config: BaseModel, out_dir: Path, *, force: bool = False) -> None:
    """Refuse a folder that is a file, or that records another study (unless ``force``); writes nothing."""
    if out_dir.exists() and not out_dir.is_dir():
        raise StoreError(f"{out_dir} is a file, not a study folder; choose another --out")
    if not (out_dir / DB_NAME).is_file():
        return
    existing = ResultsStore(out_dir, readonly=True)
    study, name = existing.meta("study"), existing.meta("name")
    wanted = getattr(config, "name", study_type.name)
    if force or study is None or (study, name) == (study_type.name, wanted):
        return
    raise StudyMismatch(
        f"{out_dir} holds the {study} study {name!r}, not the {study_type.name} study {wanted!r}; "
        "use another --out, or --force to record this study there (its rows stay in the store; rows of another "
        "study type are hidden from tables)")


def run_study(
    study_type: StudyType[Any, Any],
    config: BaseModel,
    out_dir: str | Path,
    *,
    executor: Executor = sequential,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    force: bool = False,
    wait: bool = False,
    loggers: Any = None,
    save_models: bool = False,
) -> StudySummary:
    """Run every unfinished trial of ``config`` and record each row in ``out_dir`` as soon as it ends.

    Re-running the same config in the same folder skips finished trials (``done`` and ``diverged``; failed
    ones are retried), so an interrupted study resumes without losing or redoing work. Nothing is written
    before the config is checked (:meth:`StudyType.check`) and the folder is known to hold this study (or
    none; ``force`` overrides). The folder is locked for the run (:class:`~sparsewire.studies.lock.StudyLock`):
    a second run on it raises :class:`~sparsewire.errors.StudyLocked`, or waits with ``wait=True``.
    ``loggers`` (:func:`sparsewire.loggers.make_loggers`) receive every ``done`` row once it is stored.
    ``save_models`` creates ``out_dir/models``; while it exists, each trial trained here saves the networks its
    study hands over (:meth:`TrialContext.keep_model`; load them with :func:`sparsewire.studies.load_trial_model`).
    Trial ids do not change: saving changes no result.
    """
    out_dir = Path(out_dir)
    trials = expand(study_type, config)
    prepare_folder(study_type, config, out_dir, force=force)
    study_type.check(config)
    with StudyLock(out_dir, wait=wait):
        prepare_folder(study_type, config, out_dir, force=force)  # again, now that no other run can write
        _remove_stray_temporaries(out_dir)
        if save_models:
            (out_dir / MODELS_DIR).mkdir(exist_ok=True)
        store = ResultsStore(out_dir)
        store.set_meta("study", study_type.name)
        store.set_meta("name", getattr(config, "name", study_type.name))
        record_environment(store)  # library versions and git commit (issue 16)
        write_text(out_dir / "study.yaml", yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        return _run(store, study_type, config, trials, out_dir, executor, progress, echo, loggers)


def _remove_stray_temporaries(out_dir: Path) -> None:
    """Temporary files of atomic writes that a killed run left (``.NAME.*.tmp``); safe under the lock."""
    for folder in (out_dir, out_dir / "cache", out_dir / MODELS_DIR):
        for path in folder.glob(".*.tmp"):
            path.unlink(missing_ok=True)


def _run(store: ResultsStore, study_type: StudyType[Any, Any], config: BaseModel, trials: list[Trial], out_dir: Path,
         executor: Executor, progress: bool, echo: Callable[[str], None], loggers: Any = None) -> StudySummary:
    finished = store.finished_ids()
    todo = [t for t in trials if t.trial_id not in finished]
    summary = StudySummary(out_dir, len(trials), len(trials) - len(todo), 0, 0, 0)
    echo(f"{study_type.name}: {len(trials)} trials, {summary.skipped} already finished, {len(todo)} to run -> {out_dir}")
    store.set_config_trials([t.trial_id for t in trials])
    superseded = store.superseded_ids()
    if superseded:
        echo(f"note: {len(superseded)} finished trials in {out_dir} are not trials of this config (it, or a definition "
             "that changes what a trial computes, changed since they ran); they are kept but left out of reports")
    bar = tqdm(total=len(trials), initial=summary.skipped, desc="trials", unit="trial", disable=not progress)
    try:
        for outcome in executor(group_work(study_type, config, todo), out_dir, progress):
            record(store, outcome)
            if outcome.status == "done":
                summary.done += 1
                if loggers is not None:
                    try:
                        loggers.log(outcome.trial.trial_id, outcome.trial.study, outcome.trial.config, outcome.row or {})
                    except Exception as err:  # noqa: BLE001 - a logger never costs a stored result
                        bar.write(f"trial {outcome.trial.trial_id}: logging failed ({type(err).__name__}: {err})")
            elif outcome.status == "diverged":
                summary.diverged += 1
                bar.write(f"trial {outcome.trial.trial_id} diverged: {outcome.error}")
            else:
                summary.failed += 1
                last = (outcome.error or "").strip().splitlines()[-1:] or [""]
                bar.write(f"trial {outcome.trial.trial_id} failed: {last[0]}")
            store.export_csv()
            bar.update(1)
    finally:
        bar.close()
        store.export_csv()
        if loggers is not None:
            loggers.close()
    return summary
