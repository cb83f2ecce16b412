"""``report.md`` for a study folder, generated from its results store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sparsewire.results.store import ResultsStore


def load_table(out_dir: str | Path) -> tuple[str, pd.DataFrame, ResultsStore]:
    store = ResultsStore.open_existing(out_dir)
    study = store.meta("study")
    if study is None:
        raise ValueError(f"{out_dir} records no study type")
    return study, store.table(), store


def summary_table(out_dir: str | Path) -> pd.DataFrame:
    """The table ``sparsewire results DIR`` prints (the study type's summary of finished trials)."""
    from sparsewire.studies.base import get_study_type

    study, table, _ = load_table(out_dir)
    return get_study_type(study).summary(table) if not table.empty else table


def write_report(out_dir: str | Path) -> Path:
    """Write ``DIR/report.md`` (and its PNG plots) from the study folder's results store."""
    from sparsewire.studies.base import get_study_type

    out_dir = Path(out_dir)
    study, table, store = load_table(out_dir)
    failures = store.failures()
    lines = [f"# {store.meta('name', study)} — `{study}` study", ""]
    lines.append(f"{len(table)} finished trials, {len(failures)} failed. Config: `study.yaml`; all rows: `results.csv`.")
    lines.append("")
    if not table.empty:
        lines.append(get_study_type(study).report(table, out_dir))
    if failures:
        lines += ["", "## Failed trials", ""]
        for trial_id, error in failures:
            last = (error or "").strip().splitlines()[-1:] or [""]
            lines.append(f"- `{trial_id}`: {last[0]}")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
