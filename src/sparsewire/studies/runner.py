"""Run a study: expand trials, skip the finished ones, run the rest, store every row at once."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from tqdm.auto import tqdm

from sparsewire.results import ResultsStore
from sparsewire.studies.base import StudyType, TrialContext, get_study_type
from sparsewire.studies.identity import config_hash


@dataclass(frozen=True)
class Trial:
    """One unit of work: its id (hash of its config), study type and config."""

    trial_id: str
    study: str
    config: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    trial: Trial
    row: dict[str, Any] | None
    error: str | None


def expand(study_type: StudyType, config: BaseModel) -> list[Trial]:
    """The study's trials with their ids (duplicates collapse to one)."""
    seen: dict[str, Trial] = {}
    for trial_config in study_type.trials(config):
        trial_config = {"study": study_type.name, **trial_config}
        trial_id = config_hash(trial_config)
        seen.setdefault(trial_id, Trial(trial_id, study_type.name, trial_config))
    return list(seen.values())


def execute_trial(trial: Trial, out_dir: str | Path, progress: bool = False) -> Outcome:
    """Run one trial in this process; a crash becomes a failed :class:`Outcome` with its traceback."""
    study_type = get_study_type(trial.study)
    try:
        row = study_type.run_trial(trial.config, TrialContext(Path(out_dir), progress=progress))
    except Exception:  # noqa: BLE001 - a crashing trial is recorded, the study goes on
        return Outcome(trial, None, traceback.format_exc(limit=8))
    return Outcome(trial, {"trial_id": trial.trial_id, **row}, None)


Executor = Callable[[list[Trial], Path, bool], Iterator[Outcome]]


def sequential(trials: list[Trial], out_dir: Path, progress: bool) -> Iterator[Outcome]:
    """Run trials one after another in this process."""
    for trial in trials:
        yield execute_trial(trial, out_dir, progress)


@dataclass
class StudySummary:
    out_dir: Path
    total: int
    skipped: int
    done: int
    failed: int


def run_study(
    study_type: StudyType,
    config: BaseModel,
    out_dir: str | Path,
    *,
    executor: Executor = sequential,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> StudySummary:
    """Run every unfinished trial of ``config`` and record each row in ``out_dir`` as soon as it ends.

    Re-running the same config in the same folder skips finished trials (failed ones are retried), so
    an interrupted study resumes without losing or redoing work.
    """
    out_dir = Path(out_dir)
    store = ResultsStore(out_dir)
    store.set_meta("study", study_type.name)
    store.set_meta("name", getattr(config, "name", study_type.name))
    (out_dir / "study.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    study_type.check(config)
    trials = expand(study_type, config)
    finished = store.finished_ids()
    todo = [t for t in trials if t.trial_id not in finished]
    skipped = len(trials) - len(todo)
    echo(f"{study_type.name}: {len(trials)} trials, {skipped} already finished, {len(todo)} to run -> {out_dir}")
    done = failed = 0
    bar = tqdm(total=len(trials), initial=skipped, desc="trials", unit="trial", disable=not progress)
    try:
        for outcome in executor(todo, out_dir, progress):
            trial = outcome.trial
            if outcome.error is None:
                store.record(trial.trial_id, trial.study, trial.config, outcome.row)
                done += 1
            else:
                store.record(trial.trial_id, trial.study, trial.config, None, status="failed", error=outcome.error)
                failed += 1
                last = outcome.error.strip().splitlines()[-1]
                bar.write(f"trial {trial.trial_id} failed: {last}")
            store.export_csv()
            bar.update(1)
    finally:
        bar.close()
        store.export_csv()
    return StudySummary(out_dir, len(trials), skipped, done, failed)
