"""One writer per study folder: a second run on a locked folder says who holds it and exits 3, or waits with
--wait and then redoes nothing; stale locks do not block; CSV exports never race."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from reliability_tools import finished, run_args, run_cli, start_cli, tiny_study, write_config

from sparsewire.errors import StudyLocked
from sparsewire.results import ResultsStore
from sparsewire.studies.lock import HOLDER_NAME, LOCK_NAME, StudyLock


def test_two_runs_on_one_folder(tmp_path, reber_data):
    # the first run has 400 trials of ~0.3 s each (~2 min, far longer than the second run's start even on a
    # loaded machine) and is interrupted once the second has been refused; the second starts once it is working
    config = write_config(tmp_path / "tiny.yaml", tiny_study(seeds=20, train={"epochs": 10, "batch_size": 50},
                                                                  retrain={"epochs": 10, "batch_size": 50}))
    out = tmp_path / "study"
    first = start_cli(*run_args(config, out, reber_data), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not finished(out):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = run_cli(*run_args(config, out, reber_data))
        assert first.poll() is None, "the first run ended before the second tried: make its study longer"
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert second.returncode == 3
    message = second.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert f"in use by pid {first.pid} on {socket.gethostname()}, started" in message and "--wait" in message
    assert first.returncode == 130 and not (out / HOLDER_NAME).exists()


def test_a_second_run_waits_with_wait(tmp_path, reber_data):
    config = write_config(tmp_path / "tiny.yaml", tiny_study(percents=2))
    out = tmp_path / "study"
    with StudyLock(out):  # another run holds the folder
        waiting = start_cli(*run_args(config, out, reber_data, "--wait"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
        line = waiting.stderr.readline()
        assert f"waiting for pid {os.getpid()} on {socket.gethostname()}" in line
        time.sleep(0.5)
        assert waiting.poll() is None and not finished(out)  # it waits, writing nothing
    stdout, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0 and "4 trials run, 0 reused" in stdout


def test_lock_in_process(tmp_path):
    with StudyLock(tmp_path) as lock:
        holder = json.loads((tmp_path / HOLDER_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(StudyLocked, match=f"pid {os.getpid()}"):
            StudyLock(tmp_path).acquire()
        with pytest.raises(StudyLocked, match="still in use"):
            StudyLock(tmp_path, wait=True, timeout=0.3, poll=0.05).acquire()
        assert lock.describe_holder().startswith(f"pid {os.getpid()}")
    StudyLock(tmp_path).acquire().release()  # free again


HOLD = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1], timeout=0, thread_local=False)
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_stale_lock_of_a_dead_holder_is_broken(tmp_path, capsys):
    # A lock still held by a process other than the recorded holder, whose pid is dead (e.g. a child that
    # inherited the lock, or the lock-file fallback after a crash): it must not block forever.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / HOLDER_NAME).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(),
                                                    "started": time.time() - 60, "command": "sparsewire run"}))
    orphan = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / LOCK_NAME)], stdout=subprocess.PIPE, text=True)
    try:
        assert orphan.stdout.readline().strip() == "locked"
        with StudyLock(tmp_path):
            assert json.loads((tmp_path / HOLDER_NAME).read_text())["pid"] == os.getpid()
        assert "broke the stale lock" in capsys.readouterr().err
    finally:
        orphan.kill()
        orphan.wait()


def test_a_holder_on_another_host_is_never_broken(tmp_path):
    (tmp_path / HOLDER_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": 0, "command": "x"}))
    orphan = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / LOCK_NAME)], stdout=subprocess.PIPE, text=True)
    try:
        assert orphan.stdout.readline().strip() == "locked"
        with pytest.raises(StudyLocked, match="pid 1 on elsewhere"):
            StudyLock(tmp_path).acquire()
    finally:
        orphan.kill()
        orphan.wait()


def test_concurrent_exports_are_atomic(tmp_path):
    store = ResultsStore(tmp_path)
    for i in range(50):
        store.record(f"t{i}", "x", {"i": i}, {"value": i})
    store.export_csv()
    errors: list[BaseException] = []

    def export_many() -> None:
        try:
            for _ in range(30):
                ResultsStore(tmp_path).export_csv()
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    writers = [threading.Thread(target=export_many) for _ in range(3)]
    for w in writers:
        w.start()
    reads = 0
    while any(w.is_alive() for w in writers):
        assert len(pd.read_csv(tmp_path / "results.csv")) == 50  # never empty or partial
        reads += 1
    for w in writers:
        w.join()
    assert not errors  # no clash on a shared temporary name
    assert reads > 0 and not list(tmp_path.glob(".*.tmp"))
