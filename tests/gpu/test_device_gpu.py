"""Training, pruning and studies on CUDA (skipped without a GPU): the same results as on the CPU."""

import pandas as pd
import pytest
import torch

from sparsewire.dynamic import DynamicSparsity, sparse_init
from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.pruning import prune, reinitialize, rewind, snapshot
from sparsewire.studies import run_study, validate
from sparsewire.training import TrainConfig, evaluate, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 20, generator=g)
    return [x, (x[:, :3].sum(1) > 0).long()]


def _trained(device, precision="fp32"):
    torch.manual_seed(0)
    model = MLP([20, 32, 2])
    masks = Masks(model)
    prune(model, 0.6)
    train(model, _data(), TrainConfig(epochs=3, batch_size=32, precision=precision), seed=1, progress=False,
          device=device)
    return model, masks


def test_training_on_cuda_matches_the_cpu_and_keeps_the_masks():
    cpu, _ = _trained("cpu")
    gpu, masks = _trained("cuda")
    assert all(m.device.type == "cuda" for m in masks.values())
    for name, param, mask in masks.parameters():
        assert not param[~mask].any(), name
    for (key, a), b in zip(cpu.state_dict().items(), gpu.cpu().state_dict().values(), strict=True):
        torch.testing.assert_close(a.float(), b.float(), atol=1e-4, rtol=1e-4, msg=key)


def test_bf16_on_cuda_trains_like_fp32():
    model, masks = _trained("cuda", "bf16")
    reference, _ = _trained("cuda")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert abs(evaluate(model, _data())["accuracy"] - evaluate(reference, _data())["accuracy"]) < 0.1
    assert masks.density() == pytest.approx(0.4, abs=0.01)


@pytest.mark.parametrize("method", ["obd", "obs", "snip", "random", "class-uniform"])
def test_pruning_a_cuda_model_with_cpu_batches_gives_the_cpu_masks(method):
    data = _data()
    batches = [(data[0][i:i + 64], data[1][i:i + 64]) for i in range(0, 256, 64)]
    out = []
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        model = MLP([20, 32, 2]).to(device)
        out.append(prune(model, 0.5, method, batches=batches, generator=torch.Generator().manual_seed(3)).state())
    agree = sum(int((a == b.cpu()).sum()) for a, b in zip(out[0].values(), out[1].values(), strict=True))
    assert agree / sum(m.numel() for m in out[0].values()) > 0.99  # ties may break differently


def test_rewind_points_and_reinitialisation_are_device_independent():
    torch.manual_seed(0)
    model = MLP([20, 32, 2]).cuda()
    masks = Masks(model)
    point = snapshot(model)
    assert all(v.device.type == "cpu" for v in point.values())
    prune(model, 0.5)
    rewind(model, point, masks)
    reinitialize(model, masks, seed=4)
    other = MLP([20, 32, 2])
    Masks(other).update({n: m.cpu() for n, m in masks.items()})
    reinitialize(other, seed=4)
    for a, b in zip(model.cpu().state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_rigl_on_cuda():
    torch.manual_seed(0)
    model = MLP([20, 32, 2]).cuda()
    masks = Masks(model)
    sparse_init(masks, 0.3, "uniform", torch.Generator().manual_seed(0))
    dyn = DynamicSparsity(masks, "rigl", total_steps=24, update_every=4)
    train(model, _data(), TrainConfig(epochs=3, batch_size=32), masks=masks, progress=False, **dyn.hooks())
    dyn.close()
    assert any(u.replaced for u in dyn.updates)
    assert masks.density() == pytest.approx(0.3, abs=0.02)


def test_a_prune_study_on_cuda_gives_the_cpu_rows(shared_data, tmp_path):
    config = {"study": "prune", "name": "gpu", "models": [{"name": "mlp", "options": {"hidden": [32]}}],
              "dataset": {"name": "mnist", "data_dir": str(shared_data), "val_size": 500, "train_limit": 2000,
                          "download": False},
              "train": {"epochs": 1, "batch_size": 64}, "retrain": {"epochs": 1, "batch_size": 64},
              "methods": ["class-blinded", "obd"], "compressions": [0.8], "rewind": "epoch", "seeds": [0]}
    tables = []
    for device in ("cpu", "cuda"):
        study_type, parsed = validate({**config, "device": device})
        run_study(study_type, parsed, tmp_path / device, progress=False, echo=lambda _s: None)
        tables.append(pd.read_csv(tmp_path / device / "results.csv").set_index("trial_id").sort_index())
        cache = next((tmp_path / device / "cache").glob("*.pt"))
        assert all(v.device.type == "cpu" for v in torch.load(cache, weights_only=True)["state"].values())
    assert list(tables[0].index) == list(tables[1].index)
    assert (tables[0]["test_accuracy"] - tables[1]["test_accuracy"]).abs().max() < 0.02
