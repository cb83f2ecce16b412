"""Absurd or empty inputs fail before any work; names stay inside runs/; the data folder named is the one
used; odd graphs get a clear answer; large graphs have a limit and progress; Ray helpers never outlive a
killed driver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import networkx as nx
import pytest
from reliability_tools import tiny_study

from sparsewire.cli import main as cli
from sparsewire.data import DataError
from sparsewire.data.sources import locate
from sparsewire.graphs.errors import GraphError, GraphWarning
from sparsewire.graphs.io import load_graphml
from sparsewire.studies import ConfigError, validate
from sparsewire.studies.runner import expand


@pytest.mark.parametrize("change, message", [
    ({"train": {"epochs": 1_000_000_000}}, "train.epochs"),
    ({"train": {"lr": 1e9}}, "train.lr"),
    ({"data": {"train_limit": 10**12}}, "data.train_limit"),
    ({"model": {"hidden_size": 10**9}}, "model.hidden_size"),
    ({"seeds": []}, "seeds"),
    ({"percents": []}, "percents"),
    ({"cells": []}, "cells"),
    ({"name": "../escape"}, "one folder name"),
    ({"name": "a/b"}, "one folder name"),
    ({"name": ".."}, "one folder name"),
])
def test_absurd_or_empty_configs_are_rejected(change, message):
    with pytest.raises(ConfigError, match=message):
        validate({**tiny_study(), **change})


@pytest.mark.parametrize("change, message", [
    ({"methods": []}, "methods"), ({"seeds": []}, "seeds"), ({"models": []}, "models"),
    ({"compressions": []}, "compressions"), ({"models": [{"name": "mlp", "options": {"hidden": [10**9]}}]}, "width"),
    ({"train": {"epochs": 10**9}}, "epochs"),
])
def test_prune_configs_too(change, message):
    with pytest.raises(ConfigError, match=message):
        validate({"study": "prune", **change})


def test_a_config_that_expands_to_nothing_is_an_error(monkeypatch):
    study_type, config = validate(tiny_study())
    monkeypatch.setattr(type(study_type), "trials", lambda self, config: [])
    with pytest.raises(ConfigError, match="expands to no trials"):
        expand(study_type, config)


def test_data_dir_is_the_only_folder_searched(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    found, searched, _ = locate("mnist", tmp_path / "empty")
    assert found is None and searched == [tmp_path / "empty" / "mnist", tmp_path / "empty" / "MNIST/raw",
                                          tmp_path / "empty"]
    with pytest.raises(DataError, match="empty"):
        locate("mnist", "")
    for value in ("", str(tmp_path / "missing")):
        assert cli.main(["run", "x.yaml", "--data-dir", value]) == 2
        assert "sparsewire: error:" in capsys.readouterr().err


def test_multigraph_graphml_is_collapsed_with_a_warning(tmp_path, capsys):
    graph = nx.MultiDiGraph()
    graph.add_edges_from([(0, 1), (0, 1), (1, 2), (0, 2)])
    path = tmp_path / "multi.graphml"
    nx.write_graphml(graph, path)
    with pytest.warns(GraphWarning, match="1 parallel edges collapsed"):
        loaded = load_graphml(path)
    assert not loaded.is_multigraph() and loaded.number_of_edges() == 3
    assert cli.main(["graph", "describe", str(path), "--json"]) == 0
    assert '"edges": 3' in capsys.readouterr().out


def test_node_limit_and_progress(tmp_path, capsys, monkeypatch):
    path = tmp_path / "ba.graphml"
    nx.write_graphml(nx.barabasi_albert_graph(60, 2, seed=0), path)
    with pytest.raises(GraphError, match="60 nodes, more than the limit of 50"):
        load_graphml(path, max_nodes=50)
    assert cli.main(["graph", "describe", str(path), "--max-nodes", "50"]) == 2
    assert "--max-nodes" in capsys.readouterr().err
    monkeypatch.setenv("SPARSEWIRE_MAX_NODES", "40")
    assert cli.main(["graph", "describe", str(path)]) == 2
    capsys.readouterr()
    from sparsewire.cli import graph as graph_cli

    monkeypatch.setattr(graph_cli, "PROGRESS_NODES", 10)
    assert cli.main(["graph", "describe", str(path), "--max-nodes", "100"]) == 0
    err = capsys.readouterr().err
    assert "computing the structural features of a 60-node, 116-edge graph" in err and "done in" in err


DRIVER = """
import subprocess, sys, time
from sparsewire.studies import reaper
handle = reaper.start()
children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
if sys.argv[1] == "clean":
    for child in children:
        child.kill()
        child.wait()
    reaper.stop(handle)
print(" ".join(str(c.pid) for c in children), flush=True)
time.sleep(1.5)  # let the reaper see the children
print("ready", flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper reads /proc")
def test_reaper_ends_what_a_sigkilled_driver_leaves():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, "kill"], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in driver.stdout.readline().split()]
    assert driver.stdout.readline().strip() == "ready" and all(map(_alive, pids))
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 15
    while any(map(_alive, pids)):
        assert time.monotonic() < deadline, "children of the killed driver still run"
        time.sleep(0.1)


@pytest.mark.slow  # a local Ray instance: 10-40 s on a small machine
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_no_ray_process_outlives_a_sigkilled_driver(tmp_path, reber_data):
    from reliability_tools import command, env, run_args, write_config

    config = write_config(tmp_path / "c.yaml", tiny_study(seeds=4, train={"epochs": 200, "batch_size": 50}))
    driver = subprocess.Popen(command(*run_args(config, tmp_path / "o", reber_data, "--workers", "2")), env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    from sparsewire.studies.reaper import _descendants

    def cmdline(pid: int) -> str:
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                return f.read()
        except OSError:
            return ""

    deadline = time.monotonic() + 120
    while not any("ray::execute" in cmdline(p) for p in _descendants(driver.pid)):
        assert time.monotonic() < deadline and driver.poll() is None
        time.sleep(0.5)
    time.sleep(2)  # the agents start a little after the workers
    before = [p for p in _descendants(driver.pid) if "reaper" not in cmdline(p)]
    assert any("raylet" in cmdline(p) for p in before)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in before):
        assert time.monotonic() < deadline, f"left behind: {[p for p in before if _alive(p)]}"
        time.sleep(0.5)


def test_generated_priors_have_the_same_limit(tmp_path, capsys, monkeypatch):
    from sparsewire.graphs.priors import generate

    with pytest.raises(GraphError, match="20000 nodes is more than the limit of 10000"):
        generate("barabasi-albert", 20_000, m=2)
    assert generate("barabasi-albert", 30, m=2, max_nodes=30).number_of_nodes() == 30
    out = str(tmp_path / "g.graphml")
    assert cli.main(["graph", "prior", "erdos-renyi", "--nodes", "30", "--param", "p=0.1", "--max-nodes", "20",
                     "--out", out]) == 2
    assert "--max-nodes" in capsys.readouterr().err
    monkeypatch.setenv("SPARSEWIRE_MAX_NODES", "30")
    assert cli.main(["graph", "prior", "erdos-renyi", "--nodes", "30", "--param", "p=0.1", "--out", out]) == 0


def test_run_options_apply_to_their_run_only(tmp_path, reber_data, monkeypatch):
    from reliability_tools import run_args, write_config

    monkeypatch.delenv("SPARSEWIRE_MAX_NODES", raising=False)
    monkeypatch.delenv("SPARSEWIRE_DATA_DIR", raising=False)
    config = write_config(tmp_path / "c.yaml", tiny_study(percents=1))
    assert cli.main([str(a) for a in run_args(config, tmp_path / "o", reber_data, "--max-nodes", "50")]) == 0
    assert "SPARSEWIRE_MAX_NODES" not in os.environ and "SPARSEWIRE_DATA_DIR" not in os.environ
