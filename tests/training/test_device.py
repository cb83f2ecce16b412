"""Device handling on the CPU (the CUDA paths are in tests/gpu/): names, moves, bf16, ids, caches, rewind points."""

import pytest
import torch
import torch.nn.functional as F

from sparsewire.devices import autocast, model_device, resolve_device, to_cpu, to_device
from sparsewire.errors import ConfigError
from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.pruning import prune, reinitialize, rewind, snapshot
from sparsewire.studies import get_study_type, validate
from sparsewire.studies.common import cached
from sparsewire.studies.runner import expand
from sparsewire.training import TrainConfig, evaluate, train


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 12, generator=g)
    return [x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()]


def test_device_names():
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="unknown device|unsupported"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_to_device_walks_tuples_lists_dicts_and_namedtuples():
    from collections import namedtuple

    Pair = namedtuple("Pair", "x y")
    batch = {"a": torch.ones(2), "b": [torch.zeros(1), (torch.ones(1), "text")], "p": Pair(torch.ones(1), 3)}
    moved = to_device(batch, "cpu")
    assert isinstance(moved["p"], Pair) and moved["p"].y == 3 and moved["b"][1][1] == "text"
    state = MLP([3, 2]).state_dict()
    assert to_cpu(state)._metadata == state._metadata


def test_train_on_a_named_device_equals_train_where_the_model_is():
    data, config = _data(), TrainConfig(epochs=2, batch_size=32)
    results = []
    for device in (None, "cpu", "auto"):
        torch.manual_seed(0)
        model = MLP([12, 16, 3])
        Masks(model)
        prune(model, 0.5)
        train(model, data, config, seed=1, progress=False, device=device)
        results.append((model.cpu().state_dict(), evaluate(model, data, device=device)))
    for state, metrics in results[1:]:
        assert metrics == results[0][1]
        for key, value in state.items():
            assert torch.equal(value, results[0][0][key]), key


def test_bf16_autocast_trains_and_keeps_fp32_weights():
    torch.manual_seed(0)
    model = MLP([12, 16, 3])
    masks = Masks(model)
    prune(model, 0.5)
    result = train(model, _data(), TrainConfig(epochs=2, batch_size=32, precision="bf16"), progress=False)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in result.history)
    assert masks.density() == pytest.approx(0.5, abs=0.01)
    for name, param, mask in masks.parameters():
        assert not param[~mask].any(), name
    with autocast(torch.device("cpu"), "bf16"):
        assert model(torch.randn(2, 12)).dtype == torch.bfloat16
    with pytest.raises(ConfigError):
        autocast(torch.device("cpu"), "fp8")


def test_precision_joins_the_dump_only_when_not_fp32():
    assert "precision" not in TrainConfig().model_dump()
    assert "precision" not in TrainConfig(precision="fp32").model_dump(mode="json")
    assert TrainConfig(precision="bf16").model_dump()["precision"] == "bf16"
    assert TrainConfig(**TrainConfig(precision="bf16").model_dump()).precision == "bf16"


STUDIES = {
    "prune": {},
    "dynamic-sparsity": {},
    "layer-sparsity": {},
}


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_device_is_a_config_field_but_not_part_of_trial_ids(study):
    study_type, base = validate({"study": study})
    ids = {t.trial_id for t in expand(study_type, base)}
    _, on_gpu = validate({"study": study, "device": "cuda:1"})
    assert on_gpu.device == "cuda:1"
    assert {t.trial_id for t in expand(study_type, on_gpu)} == ids
    _, bf16 = validate({"study": study, "train": {"precision": "bf16"}})
    assert not {t.trial_id for t in expand(study_type, bf16)} & ids
    with pytest.raises(ConfigError):
        validate({"study": study, "device": "gpu"})


def test_every_study_type_takes_a_device():
    from sparsewire.studies.base import STUDY_TYPES

    get_study_type("prune")  # registers the built-in types
    assert all("device" in t.Config.model_fields for t in STUDY_TYPES.values()), [
        n for n, t in STUDY_TYPES.items() if "device" not in t.Config.model_fields]


def test_rewind_points_and_caches_live_on_the_cpu(tmp_path):
    torch.manual_seed(0)
    model = MLP([4, 3, 2])
    masks = Masks(model)
    point = snapshot(model)
    assert all(v.device.type == "cpu" for v in point.values())
    assert point["layers.0.weight"].data_ptr() != model.layers[0].weight.data_ptr()
    with torch.no_grad():
        model.layers[0].weight.add_(1)
    prune(model, 0.5, "class-uniform")
    rewind(model, point, masks)
    kept = masks["layers.0.weight"]
    assert torch.equal(model.layers[0].weight[kept], point["layers.0.weight"][kept])
    value = cached(tmp_path, {"k": 1}, lambda: {"state": model.state_dict(), "n": 3})
    assert all(v.device.type == "cpu" for v in value["state"].values())
    again = MLP([4, 3, 2])
    Masks(again)
    reinitialize(again, seed=5)
    other = MLP([4, 3, 2])
    Masks(other)
    reinitialize(other, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), other.state_dict().values(), strict=True))
    assert model_device(model) == torch.device("cpu")


def test_data_driven_scores_take_the_loss_and_batches_as_given():
    torch.manual_seed(0)
    model = MLP([12, 16, 3])
    data = _data()
    batches = [(data[0][i:i + 32], data[1][i:i + 32]) for i in range(0, 96, 32)]
    calls = []

    def loss_fn(out, target):
        calls.append(out.shape)
        return F.cross_entropy(out, target)

    prune(model, 0.5, "saliency/class-blinded", batches=iter(batches), loss_fn=loss_fn, max_batches=2)
    assert len(calls) == 2 and Masks.of(model).density() == pytest.approx(0.5, abs=0.01)


def test_cohort_studies_refuse_bf16_rather_than_ignore_it():
    with pytest.raises(ConfigError, match="cohorts train in fp32"):
        validate({"study": "prior", "train": {"precision": "bf16"}})
    assert validate({"study": "prior", "train": {"precision": "bf16"}, "cohort_size": 1})[1].train.precision == "bf16"
