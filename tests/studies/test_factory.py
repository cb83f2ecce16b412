"""Studies on your own model and data: factories named by import path; unknown paths are clear errors."""

import pandas as pd
import pytest

from sparsewire.studies import ConfigError, run_study, validate
from sparsewire.studies.runner import expand

MODULE = '''
import torch
from torch import nn
from torch.utils.data import TensorDataset


def net(hidden=8, classes=3):
    return nn.Sequential(nn.Flatten(), nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def data(n=150):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n + 60, 4, 4, generator=g)
    y = (x[:, 0, 0] > 0).long() + (x[:, 1, 1] > 0).long()
    return {"train": TensorDataset(x[:n], y[:n]), "test": TensorDataset(x[n:], y[n:])}


not_callable = 3
'''


@pytest.fixture
def own(tmp_path, monkeypatch):
    (tmp_path / "own_factories.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "own_factories"


def _config(own, **extra):
    return {"study": "prune", "name": "own", "seeds": [0], "methods": ["class-blinded"], "compressions": [0.5],
            "models": [{"factory": f"{own}:net", "options": {"hidden": 12}}],
            "dataset": {"factory": f"{own}:data", "options": {"n": 150}, "val_size": 30},
            "train": {"epochs": 2, "batch_size": 32}, "retrain": {"epochs": 1, "batch_size": 32}, **extra}


def test_a_prune_study_on_your_own_model_and_data(own, tmp_path):
    study_type, config = validate(_config(own))
    assert config.models[0].name == f"{own}:net" and config.dataset.name == f"{own}:data"
    summary = run_study(study_type, config, tmp_path / "out", progress=False, echo=lambda _s: None)
    assert (summary.done, summary.failed) == (2, 0)
    table = pd.read_csv(tmp_path / "out" / "results.csv").set_index("method")
    assert table.loc["class-blinded", "density"] == pytest.approx(0.5, abs=0.01)
    assert table.loc["class-blinded", "params_total"] == 16 * 12 + 12 * 3
    assert table.loc["none", "test_accuracy"] > 0.4
    trial = expand(study_type, config)[0].config
    assert trial["model"]["factory"] == f"{own}:net" and trial["dataset"]["factory"] == f"{own}:data"


@pytest.mark.parametrize(("where", "path", "message"), [
    ("models", "no_such_package_xyz.models:net", "does not import"),
    ("models", "OWN:missing", "has no attribute"),
    ("models", "OWN:not_callable", "not callable"),
    ("models", "OWN.net", "package.module:attribute"),
    ("dataset", "no_such_package_xyz:data", "does not import"),
])
def test_unknown_import_paths_are_clear_errors(own, where, path, message):
    config = _config(own)
    path = path.replace("OWN", own)
    if where == "models":
        config["models"] = [{"factory": path}]
    else:
        config["dataset"] = {"factory": path}
    with pytest.raises(ConfigError, match=message):
        validate(config)


def test_options_without_a_dataset_factory_are_refused():
    with pytest.raises(ConfigError, match="dataset factory"):
        validate({"study": "prune", "dataset": {"options": {"n": 3}}})
