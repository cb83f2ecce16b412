"""Nothing sparsewire opens is unpickled: a crafted file that would write a marker file when unpickled is
refused by `graph describe|compare|draw` and `load_model`, and recomputed when planted in a study cache."""

from __future__ import annotations

import os

import pytest
import torch
from reliability_tools import tiny_study

from sparsewire.errors import ModelFileError
from sparsewire.masks import Masks
from sparsewire.models import build_model, load_model, save_model
from sparsewire.pruning import prune
from sparsewire.results import ResultsStore
from sparsewire.studies import run_study, validate
from sparsewire.studies.common import cached


class Evil:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def craft(path, marker) -> None:
    torch.save({"format": "sparsewire-model", "state": Evil(marker), "model": Evil(marker)}, path)


@pytest.fixture
def evil(tmp_path):
    """``(path of a malicious .pt file, marker path it would create if unpickled)``."""
    path, marker = tmp_path / "evil.pt", tmp_path / "PWNED"
    craft(path, marker)
    assert path.stat().st_size > 0 and not marker.exists()
    yield path, marker
    assert not marker.exists(), "a file was unpickled: code ran"


def test_the_crafted_file_is_really_malicious(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "PWNED"
    craft(path, marker)
    torch.load(path, weights_only=False)  # what sparsewire used to do
    assert marker.exists()


def test_graph_commands_refuse_a_pickle(evil, tmp_path, capsys):
    from sparsewire.cli.main import main

    path, marker = evil
    for args in (["describe", path], ["compare", path, path], ["draw", path, "--out", tmp_path / "x.png"]):
        assert main(["graph", *map(str, args)]) == 2
        err = capsys.readouterr().err
        assert "pickled Python objects" in err and err.count("\n") == 1
        assert not marker.exists()


def test_load_model_refuses_a_pickle(evil):
    with pytest.raises(ModelFileError, match="never loads"):
        load_model(evil[0])


def test_planted_cache_file_is_recomputed_not_run(evil, tmp_path):
    key = {"dense": 1}
    cache = tmp_path / "cache"
    cache.mkdir()
    from sparsewire.studies.identity import config_hash

    planted = cache / f"{config_hash(key)}.pt"
    planted.write_bytes(evil[0].read_bytes())
    with pytest.warns(UserWarning, match="does not load safely"):
        assert cached(cache, key, lambda: {"value": torch.ones(2)})["value"].sum() == 2
    assert torch.load(planted, weights_only=True)["value"].sum() == 2  # replaced by the safe value


def test_planted_files_in_a_study_cache_do_not_run(evil, tmp_path, reber_data):
    config = tiny_study(percents=2)
    config["data"]["data_dir"] = str(reber_data)
    out = tmp_path / "study"
    assert run_study(*validate(config), out, progress=False, echo=lambda _: None).ok
    planted = list((out / "cache").glob("*.pt"))
    assert planted
    for path in planted:
        path.write_bytes(evil[0].read_bytes())
    config["percents"] = [10, 20, 30]  # one new trial per cell: its dense network comes from the cache
    with pytest.warns(UserWarning, match="does not load safely"):
        summary = run_study(*validate(config), out, progress=False, echo=lambda _: None)
    assert (summary.done, summary.skipped, summary.failed) == (2, 4, 0)
    assert len(ResultsStore(out).table()) == 6


def test_old_cache_files_still_load(tmp_path):
    # cache files written before weights_only (plain dicts of tensors and numbers) keep working on resume
    from sparsewire.studies.identity import config_hash

    key = {"old": 1}
    torch.save({"state": {"w": torch.ones(3)}, "test_accuracy": 0.5, "epochs": 2, "rewind_point": None},
               tmp_path / f"{config_hash(key)}.pt")
    value = cached(tmp_path, key, lambda: pytest.fail("recomputed a safe cache file"))
    assert value["test_accuracy"] == 0.5 and value["state"]["w"].sum() == 3


def test_models_round_trip_as_weights_and_spec(tmp_path, capsys):
    model = build_model("lenet-300-100", (1, 28, 28), 10)
    Masks(model)
    prune(model, 0.8, "class-blinded")
    path = save_model(model, tmp_path / "m.pt")
    loaded = load_model(path)
    assert Masks.of(loaded).density() == pytest.approx(Masks.of(model).density())
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    raw = torch.load(path, weights_only=True)  # nothing but tensors, numbers and strings
    assert raw["format"] == "sparsewire-model" and isinstance(raw["spec"], str)
    from sparsewire.cli.main import main

    assert main(["graph", "describe", str(path)]) == 0
    assert "log10_paths" in capsys.readouterr().out


def test_a_state_dict_alone_is_refused(tmp_path):
    path = tmp_path / "state.pt"
    torch.save(build_model("mlp-100", (784,), 10).state_dict(), path)
    with pytest.raises(ModelFileError, match="state dict without an architecture"):
        load_model(path)
    assert os.path.exists(path)
