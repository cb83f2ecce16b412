"""Errors end in one clear message naming the file, with documented exit codes; --debug shows the
traceback; Ctrl-C says how to resume and exits 130."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from reliability_tools import finished, run_args, start_cli, tiny_study, write_config

from sparsewire.cli import main as cli
from sparsewire.errors import EXIT_CODES, SparsewireError


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("sparsewire: error: ")
    return err


def test_every_user_error_derives_from_one_base():
    from sparsewire.data import DataError
    from sparsewire.graphs.errors import GraphError
    from sparsewire.reber.errors import ReberError
    from sparsewire.studies import ConfigError

    for cls in (DataError, GraphError, ReberError, ConfigError):
        assert issubclass(cls, SparsewireError)
    assert issubclass(GraphError, ValueError) and issubclass(DataError, RuntimeError)  # still what they were


def test_malformed_yaml_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: prune\nseeds: [0, 1\nmethods: [random]\n")
    assert cli.main(["run", str(bad)]) == 2
    assert f"{bad}:3:8: malformed YAML" in _error(capsys)


def test_missing_dataset(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    config = write_config(tmp_path / "c.yaml", {"study": "prune", "dataset": {"download": False}, "seeds": [0]})
    assert cli.main(["run", str(config), "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    err = _error(capsys)
    assert "dataset 'mnist' not found" in err and str(tmp_path / "empty") in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_corrupt_dataset(tmp_path, capsys, reber_data):
    folder = tmp_path / "data" / "reber"
    folder.mkdir(parents=True)
    for name in ("train_data.csv", "test_data.csv"):
        (folder / name).write_text("sequence,label\nBTSXSE,1\n")
    config = write_config(tmp_path / "c.yaml", tiny_study(percents=1))
    assert cli.main(["run", str(config), "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o")]) == 2
    assert "train_data.csv has SHA-256" in _error(capsys)


def test_corrupt_results_database_names_the_intact_csv(tmp_path, capsys, reber_data):
    config = write_config(tmp_path / "c.yaml", tiny_study(percents=1))
    out = tmp_path / "o"
    assert cli.main(run_args_str(config, out, reber_data)) == 0
    capsys.readouterr()
    (out / "results.sqlite").write_bytes(b"this is not a database" * 100)
    for f in ("results.sqlite-wal", "results.sqlite-shm"):
        (out / f).unlink(missing_ok=True)
    for argv in (["results", str(out)], ["report", str(out)], run_args_str(config, out, reber_data)):
        assert cli.main(argv) == 2
        err = _error(capsys)
        assert f"{out / 'results.sqlite'} is corrupt" in err and f"intact in {out / 'results.csv'}" in err


def run_args_str(config, out, data) -> list[str]:
    return [str(a) for a in run_args(config, out, data)]


def test_out_pointing_at_a_file(tmp_path, capsys, reber_data):
    config = write_config(tmp_path / "c.yaml", tiny_study(percents=1))
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert cli.main(run_args_str(config, target, reber_data)) == 2
    assert "is a file, not a study folder" in _error(capsys)
    assert target.read_text() == "keep me"


def test_debug_shows_the_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: [")
    for argv in (["--debug", "run", str(bad)], ["run", str(bad), "--debug"]):
        with pytest.raises(SparsewireError, match="malformed YAML"):  # raised: Python prints the traceback
            cli.main(argv)
    assert cli.main(["run", str(bad)]) == 2
    assert _error(capsys).count("\n") == 1


def test_a_bug_is_one_line_and_exit_70(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("unexpected")

    configure, _ = cli.SUBCOMMANDS["results"]
    monkeypatch.setitem(cli.SUBCOMMANDS, "results", (configure, broken))
    assert cli.main(["results", "x"]) == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: unexpected" in err and "--debug" in err and "Traceback" not in err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_says_how_to_resume(tmp_path, reber_data, sig, code):
    config = write_config(tmp_path / "c.yaml", tiny_study(seeds=2, train={"epochs": 3, "batch_size": 50}))
    out = tmp_path / "o"
    proc = start_cli(*run_args(config, out, reber_data), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not finished(out):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert "Traceback" not in err
    if sig == signal.SIGINT:
        assert "interrupted — rerun the same command to resume" in err
    assert not (out / ".sparsewire.lock.json").exists()  # the lock was released (resuming: test_fault_injection)


def test_exit_codes_are_documented():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Reliability"):]
    for code in EXIT_CODES:
        assert f"| {code} |" in section
