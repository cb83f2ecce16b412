"""Reports: the study-specific sections live in ``sparsewire.results.reports`` and ``report.md`` does not change
when the code that writes it moves (a golden copy of a committed study's report)."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sparsewire.errors import StoreError
from sparsewire.results import ResultsStore
from sparsewire.results.report import summary_table, write_report
from sparsewire.results.reports import BUILT_IN, register_report, study_report

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"


def store_from_csv(folder: Path, target: Path) -> Path:
    """``target`` holding ``folder``'s ``study.yaml`` and a results store rebuilt from its ``results.csv``
    (list and dict cells parsed back from JSON, rows in the CSV's order)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "study.yaml", target / "study.yaml")
    config = yaml.safe_load((folder / "study.yaml").read_text())
    store = ResultsStore(target)
    store.set_meta("study", config["study"])
    store.set_meta("name", config["name"])
    for _, row in pd.read_csv(folder / "results.csv").iterrows():
        cells = {k: json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v
                 for k, v in row.items() if k not in ("trial_id", "status")}
        store.record(row["trial_id"], config["study"], {}, cells)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE trials SET finished = rowid")  # the CSV's order, whatever the clock's resolution
    return target


def test_report_is_unchanged(tmp_path):
    """report.md of benchmarks/results/dynamic-sparsity-robustness (tables, freezing cost, Jaccard, further pruning,
    history) equals what the code wrote before the reports moved out of the study modules."""
    folder = store_from_csv(REPO / "benchmarks" / "results" / "dynamic-sparsity-robustness", tmp_path / "study")
    report = write_report(folder)
    assert report.read_text() == (GOLDEN / "dynamic-sparsity-robustness.report.md").read_text()
    for png in ("accuracy_vs_freeze", "jaccard_to_final", "further_pruning", "training_history"):
        assert (folder / f"{png}.png").is_file()
    assert list(summary_table(folder).columns[:5]) == ["dataset", "model", "distribution", "density", "algorithm"]


def test_reports_need_no_study_code():
    """Reading and reporting results imports nothing from ``sparsewire.studies`` (results sit below studies)."""
    code = ("import sys, sparsewire.results.report as r, sparsewire.results.reports as p\n"
            "for name in p.BUILT_IN: p.study_report(name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('sparsewire.studies')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_study_type_reports_through_its_module():
    from sparsewire.studies import STUDY_TYPES

    assert set(STUDY_TYPES) == set(BUILT_IN)
    for name in BUILT_IN:
        assert study_report(name).report.__self__ is STUDY_TYPES[name]  # the study type's own method


def test_unknown_study_type_and_registration():
    with pytest.raises(StoreError, match="no report for study type 'mystery'"):
        study_report("mystery")
    register_report("mystery", lambda table, out: f"{len(table)} rows", lambda table: table.head(1))
    try:
        table = pd.DataFrame({"x": [1.0, math.pi]})
        assert study_report("mystery").report(table, Path(".")) == "2 rows"
        assert len(study_report("mystery").summary(table)) == 1
    finally:
        from sparsewire.results import reports

        reports._REGISTERED.pop("mystery")
