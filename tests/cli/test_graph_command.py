"""``sparsewire graph prior/describe/compare/draw``."""

from __future__ import annotations

import json

import pytest
import torch

from sparsewire.cli.main import main
from sparsewire.graphs.features import FEATURE_NAMES
from sparsewire.graphs.io import load_graphml
from sparsewire.masks import Masks
from sparsewire.models import MLP, save_model
from sparsewire.pruning import prune


def _model(path, seed):
    torch.manual_seed(seed)
    m = MLP([30, 20, 5])
    Masks(m)
    prune(m, 0.6, "random", generator=torch.Generator().manual_seed(seed))
    save_model(m, path)  # weights + JSON spec: sparsewire never unpickles a model
    return path


def test_prior_describe_draw(tmp_path, capsys):
    out = tmp_path / "ws.graphml"
    assert main(["graph", "prior", "watts-strogatz", "--nodes", "40", "--param", "k=4", "--param", "p=0.2",
                 "--seed", "3", "--out", str(out)]) == 0
    g = load_graphml(out)
    assert g.number_of_nodes() == 40 and g.number_of_edges() == 80
    capsys.readouterr()
    assert main(["graph", "describe", str(out), "--json"]) == 0
    features = json.loads(capsys.readouterr().out)
    assert list(features) == FEATURE_NAMES and features["nodes"] == 40 and features["edges"] == 80
    assert main(["graph", "draw", str(out), "--out", str(tmp_path / "ws.png")]) == 0
    assert (tmp_path / "ws.png").stat().st_size > 1000


def test_describe_and_compare_models(tmp_path, capsys):
    a, b = _model(tmp_path / "a.pt", 0), _model(tmp_path / "b.pt", 1)
    assert main(["graph", "describe", str(a)]) == 0
    text = capsys.readouterr().out
    assert "log10_paths" in text and "density 0->1" in text
    assert main(["graph", "compare", str(a), str(a), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["global"]["jaccard"] == 1.0
    assert main(["graph", "compare", str(a), str(b)]) == 0
    assert "global" in capsys.readouterr().out
    assert main(["graph", "draw", str(a), "--out", str(tmp_path / "a.png")]) == 0


@pytest.mark.parametrize("argv", [
    ["graph", "prior", "small-world", "--nodes", "10", "--out", "x.graphml"],
    ["graph", "prior", "erdos-renyi", "--nodes", "10", "--param", "p", "--out", "x.graphml"],
    ["graph", "describe", "missing.graphml"],
])
def test_bad_input_exits_with_a_message(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert "sparsewire: error:" in capsys.readouterr().err


def test_not_a_graph_and_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.graphml"
    bad.write_text("<nope")
    assert main(["graph", "describe", str(bad)]) == 2
    state = tmp_path / "state.pt"
    torch.save(MLP([3, 2]).state_dict(), state)
    assert main(["graph", "describe", str(state)]) == 2
    assert "not a model" in capsys.readouterr().err
