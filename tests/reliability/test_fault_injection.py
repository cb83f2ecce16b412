"""SIGKILL a real study at random moments, then resume: no finished trial is lost or redone, the database
stays sound, and the resumed run completes every trial exactly once."""

from __future__ import annotations

import random
import signal
import time

import pytest
from reliability_tools import finished, integrity, run_args, run_cli, start_cli, tiny_study, write_config


def kill_and_resume(tmp_path, data, kills: int, seeds: int, window: tuple[float, float]) -> None:
    config = write_config(tmp_path / "tiny.yaml", tiny_study(seeds=seeds))
    out = tmp_path / "study"
    rng = random.Random(14)
    seen: dict[str, tuple[str, float]] = {}
    landed = 0
    for _ in range(kills):
        proc = start_cli(*run_args(config, out, data), stdout=open(tmp_path / "log", "a"), stderr=open(tmp_path / "err", "a"))
        time.sleep(rng.uniform(*window))
        landed += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        now = finished(out)
        for trial_id, record in seen.items():  # nothing finished before is lost or rewritten (= redone)
            assert now.get(trial_id) == record, f"trial {trial_id} was lost or redone"
        seen = now
        assert not out.exists() or not (out / "results.sqlite").exists() or integrity(out) == "ok"
    assert landed >= kills // 2, "most kills should hit a running study"
    done = run_cli(*run_args(config, out, data))
    assert done.returncode == 0, done.stderr
    final = finished(out)
    assert len(final) == 2 * 10 * seeds and {s for s, _ in final.values()} == {"done"}
    for trial_id, record in seen.items():
        assert final[trial_id] == record
    assert integrity(out) == "ok"
    ran = int(done.stdout.split(" trials run, ")[0].split()[-1])
    reused = int(done.stdout.split(" reused")[0].split()[-1])
    assert (ran, reused) == (len(final) - len(seen), len(seen))
    assert len((out / "results.csv").read_text().strip().splitlines()) == len(final) + 1
    assert not list(out.glob(".*.tmp")) and not list((out / "cache").glob(".*.tmp"))


def test_three_sigkills_then_resume(tmp_path, reber_data):
    kill_and_resume(tmp_path, reber_data, kills=3, seeds=1, window=(2.0, 3.5))


@pytest.mark.slow  # about a minute: 20 interpreter starts (torch import) killed at random moments
def test_twenty_sigkills_then_resume(tmp_path, reber_data):
    kill_and_resume(tmp_path, reber_data, kills=20, seeds=4, window=(0.3, 4.0))


def test_a_database_killed_before_its_schema_resumes(tmp_path, reber_data):
    import sqlite3

    out = tmp_path / "study"
    out.mkdir()
    sqlite3.connect(out / "results.sqlite").close()  # created, then killed before any table was written
    config = write_config(tmp_path / "tiny.yaml", tiny_study(percents=1))
    run = run_cli(*run_args(config, out, reber_data))
    assert run.returncode == 0, run.stderr
    assert len(finished(out)) == 2 and integrity(out) == "ok"
