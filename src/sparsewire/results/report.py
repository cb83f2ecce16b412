"""``report.md`` for a study folder, generated from its results store."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from sparsewire.atomic import write_text
from sparsewire.errors import StoreError
from sparsewire.results.history import history_section
from sparsewire.results.notes import study_notes
from sparsewire.results.reports import study_report
from sparsewire.results.store import ResultsStore


def load_table(out_dir: str | Path) -> tuple[str, pd.DataFrame, ResultsStore]:
    """The study type and the ``done`` rows of a study folder, read-only: only rows of trials its config expands to
    now (:meth:`~sparsewire.results.store.ResultsStore.superseded_ids` are left out)."""
    store = ResultsStore.open_existing(out_dir)
    study = store.meta("study")
    if study is None:
        raise StoreError(f"{out_dir} records no study type")
    return study, store.table(study=study), store


def summary_table(out_dir: str | Path) -> pd.DataFrame:
    """The table ``sparsewire results DIR`` prints (the study type's summary of finished trials)."""
    study, table, _ = load_table(out_dir)
    return study_report(study).summary(table) if not table.empty else table


def notes(out_dir: str | Path) -> list[str]:
    """The notes to read before a study folder's numbers (smoke test, groups at chance accuracy, rows of trials the
    config no longer expands to)."""
    study, table, store = load_table(out_dir)
    superseded = store.superseded_ids()
    stale = [f"{len(superseded)} stored trials are not shown: the folder's config no longer expands to them (it, or "
             "a definition that changes what a trial computes, changed after they ran)"] if superseded else []
    return [*study_notes(study, store.meta("name", study), table), *stale]


def diverged_table(out_dir: str | Path) -> pd.DataFrame:
    """The diverged trials of a study folder: id, the epoch it diverged in, its scalar config keys, why."""
    store = ResultsStore.open_existing(out_dir)
    table = store.table(include_diverged=True, study=store.meta("study"))
    if table.empty or not (table["status"] == "diverged").any():
        return pd.DataFrame()
    table = table[table["status"] == "diverged"].dropna(axis=1, how="all")
    return table.drop(columns=["status"]).rename(columns={"error": "why"})


def write_report(out_dir: str | Path, *, include_diverged: bool = False, to: str | Path | None = None) -> Path:
    """Write ``report.md`` (and its PNG plots) from the study folder's results store.

    The report goes to ``to`` (default: the study folder). Diverged trials are counted and, with
    ``include_diverged``, listed with their epoch and config; they never enter the study's tables.
    The study-specific sections come from :func:`sparsewire.results.reports.study_report`.
    """
    out_dir = Path(out_dir)
    target = Path(to) if to is not None else out_dir
    target.mkdir(parents=True, exist_ok=True)
    if not os.access(target, os.W_OK):
        raise StoreError(f"cannot write the report into {target} (not writable); write it elsewhere with --out DIR")
    study, table, store = load_table(out_dir)
    failures = store.failures()
    diverged = store.errors("diverged")
    lines = [f"# {store.meta('name', study)} — `{study}` study", ""]
    lines.append(f"{len(table)} finished trials, {len(diverged)} diverged (left out of every table), "
                 f"{len(failures)} failed. Config: `study.yaml`; all rows: `results.csv`.")
    superseded = store.superseded_ids()
    if superseded:
        lines += ["", f"{len(superseded)} stored trials are not in this report: `study.yaml` no longer expands to "
                  "them (the config, or a definition that changes what a trial computes, changed after they ran). "
                  "They stay in `results.sqlite` only."]
    lines.append("")
    remarks = study_notes(study, store.meta("name", study), table)
    if remarks:
        lines += [*(f"> {note}\n>" for note in remarks[:-1]), f"> {remarks[-1]}", ""]
    if not table.empty:
        table.attrs["study_dir"] = str(out_dir)  # a report written elsewhere (--out) still reads the study's own files
        lines.append(study_report(study).report(table, target))
        lines += ["", *history_section(table, target)]
    if diverged and include_diverged:
        lines += ["", "## Diverged trials", "", "Training produced a non-finite loss or weight; no result recorded.", "",
                  diverged_table(out_dir).to_markdown(index=False)]
    if failures:
        lines += ["", "## Failed trials", ""]
        for trial_id, error in failures:
            last = (error or "").strip().splitlines()[-1:] or [""]
            lines.append(f"- `{trial_id}`: {last[0]}")
    return write_text(target / "report.md", "\n".join(lines) + "\n")
