"""A study folder's record is never overwritten by a rejected config or another study (unless --force), and
`results`/`report` read it without writing (a read-only folder can be listed)."""

from __future__ import annotations

import os
import sqlite3

import pytest
from reliability_tools import run_args, tiny_study, write_config

from sparsewire.cli import main as cli
from sparsewire.results import ResultsStore


def _args(config, out, data, *extra) -> list[str]:
    return [str(a) for a in run_args(config, out, data, *extra)]


def _state(folder) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file (but SQLite's shared-memory index, which readers touch)."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.endswith("-shm")}


@pytest.fixture
def study(tmp_path, reber_data):
    out = tmp_path / "study"
    config = write_config(tmp_path / "tiny.yaml", tiny_study(percents=1))
    assert cli.main(_args(config, out, reber_data)) == 0
    return out


def test_rejected_configs_write_nothing(study, tmp_path, reber_data, capsys):
    before, record = _state(study), (study / "study.yaml").read_text()
    bad_key = write_config(tmp_path / "bad.yaml", {**tiny_study(percents=1), "name": "other", "nonsense": 1})
    assert cli.main(_args(bad_key, study, reber_data)) == 2
    missing = tiny_study(percents=1)
    missing["data"]["data_dir"] = str(tmp_path / "nowhere")  # check() fails: no data there
    assert cli.main(_args(write_config(tmp_path / "missing.yaml", missing), study, reber_data)) == 2
    assert "train_data.csv not found" in capsys.readouterr().err
    assert _state(study) == before and (study / "study.yaml").read_text() == record
    assert ResultsStore(study, readonly=True).meta("name") == "tiny"


def test_another_study_is_refused_unless_forced(study, tmp_path, reber_data, capsys):
    other = write_config(tmp_path / "other.yaml", {**tiny_study(percents=2), "name": "other"})
    before = _state(study)
    assert cli.main(_args(other, study, reber_data)) == 2
    err = capsys.readouterr().err
    assert "holds the reber-prune study 'tiny', not the reber-prune study 'other'" in err and "--force" in err
    assert _state(study) == before
    assert cli.main(_args(other, study, reber_data, "--force")) == 0
    assert ResultsStore(study, readonly=True).meta("name") == "other"


def test_results_and_report_do_not_write(study, tmp_path, monkeypatch, capsys):
    uris = []
    real = sqlite3.connect

    def spy(database, *args, **kwargs):
        uris.append(str(database))
        return real(database, *args, **kwargs)

    before = _state(study)
    monkeypatch.setattr(sqlite3, "connect", spy)
    assert cli.main(["results", str(study)]) == 0
    assert cli.main(["report", str(study), "--out", str(tmp_path / "report")]) == 0
    assert uris and all(u.startswith("file:") and "mode=ro" in u for u in uris)
    assert _state(study) == before
    assert (tmp_path / "report" / "report.md").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_folder_can_be_listed(study, tmp_path, capsys):
    for path in [study, *study.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert cli.main(["results", str(study)]) == 0
        assert "gru" in capsys.readouterr().out
        assert cli.main(["report", str(study), "--out", str(tmp_path / "r")]) == 0
    finally:
        for path in [study, *study.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_report_into_a_read_only_folder_says_where_else(study, monkeypatch, capsys):
    from sparsewire.results import report

    monkeypatch.setattr(report.os, "access", lambda path, mode: False)
    assert cli.main(["report", str(study)]) == 2
    assert "not writable); write it elsewhere with --out DIR" in capsys.readouterr().err
