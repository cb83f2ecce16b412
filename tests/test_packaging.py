"""Packaging (issue 16): a small core install, optional extras with clean fallbacks, CI that tests the wheel."""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = {"torch", "numpy", "scipy", "pandas", "networkx", "pydantic", "pyyaml", "scikit-learn", "matplotlib", "tqdm",
        "tabulate", "filelock"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_core_dependencies_are_the_small_set(project):
    names = {_name(r) for r in project["dependencies"]}
    assert names <= CORE, f"not core: {names - CORE}"
    torch = next(r for r in project["dependencies"] if _name(r) == "torch")
    assert ">=" in torch and "<" in torch and "==" not in torch  # a range; requirements.txt pins the CPU build


def test_extras(project):
    extras = {k: {_name(r) for r in v} for k, v in project["optional-dependencies"].items()}
    assert extras["ray"] == {"ray"}
    assert extras["fast"] == {"python-igraph", "rustworkx"}
    assert {"onnx", "onnxruntime"} <= extras["onnx"]
    assert "gnn" not in extras  # declared once with nothing using it; the graph predictor is WL (no extra)
    for line in ("requirements.txt", "requirements-dev.txt"):  # CI installs every extra it tests
        text = (ROOT / line).read_text()
        assert all(e in text for e in ("ray", "fast", "onnx")), line


def test_ci_runs_the_readme_test_command_and_the_wheel():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    command = "python3 -m pip install -r requirements-dev.txt && python3 -m pytest"
    assert command in ci and command in readme
    assert '"$status" -eq 5' in ci
    assert "python3 -m build --wheel" in ci and "venv/bin/sparsewire --help" in ci
    assert "wheel-smoke.yaml" in ci and (ROOT / ".ci" / "wheel-smoke.yaml").is_file()
    assert "mkdocs build --strict" in ci and (ROOT / "mkdocs.yml").is_file()


def test_without_ray_several_workers_run_locally(monkeypatch):
    from sparsewire.studies import executors

    monkeypatch.setattr(executors, "have_ray", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert executors.make_executor(4) is executors.sequential
    assert any("sparsewire[ray]" in str(w.message) for w in caught)


def test_without_igraph_features_use_networkx_or_say_what_to_install(monkeypatch):
    from sparsewire.graphs import features
    from sparsewire.graphs.errors import GraphError

    graph = nx.gnm_random_graph(12, 30, seed=0, directed=True)
    expected = features.structural_features(graph, backend="networkx")
    monkeypatch.setattr(features, "_have_igraph", lambda: False)
    assert features.structural_features(graph) == expected  # auto falls back to networkx
    with pytest.raises(GraphError, match=r"sparsewire\[fast\]"):
        features.structural_features(graph, backend="fast")
