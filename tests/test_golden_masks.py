"""Golden masks: every pruning score × allocation × schedule and every dynamic sparse algorithm, on a seeded
MLP and a seeded CNN, gives the masks recorded in ``test_golden_masks.json`` bit for bit.

The file was written from the code *before* the pruning/dynamic refactor of issue 18, so that a change of
structure there cannot silently change a mask. Each case records the sha256 of its concatenated bool masks
(in mask order), its per-layer kept counts (readable when a hash differs) and the L1 norm of its masked
weights (OBS refits the survivors; compared with a tolerance). A case that raised records the error type.

Regenerate (only when a change of masks is intended, and say why in the commit):
``PYTHONPATH=src python -m tests.test_golden_masks --write``
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from sparsewire.dynamic import DNW, DynamicSparsity, sparse_init, steps_per_epoch
from sparsewire.masks import Masks
from sparsewire.models import MLP, lenet_300_100
from sparsewire.pruning import prune, pruned_further, schedule
from sparsewire.training import TrainConfig, train

GOLDEN = Path(__file__).with_suffix(".json")
SCORES = ["magnitude", "random", "obd", "obs", "saliency"]
ALLOCATIONS = ["class-blinded", "class-uniform", "class-distributed", "erk"]


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return MLP([12, 16, 8, 4])


def cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(6 * 4 * 4, 4))


MODELS: dict[str, tuple[Callable[[int], nn.Module], tuple[int, ...]]] = {"mlp": (mlp, (12,)), "cnn": (cnn, (1, 8, 8))}


def data(shape: tuple[int, ...], n: int = 64, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *shape, generator=g)
    y = (x.flatten(1)[:, :4].argmax(1)).long()
    return [x, y]


def batches(shape: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    x, y = data(shape, 32, seed=1)
    return [(x[:16], y[:16]), (x[16:], y[16:])]


def record(masks: Masks) -> dict[str, Any]:
    """sha256 of the concatenated masks, per-layer kept counts and the masked weights' L1 norm."""
    flat = torch.cat([masks[n].flatten().cpu() for n in masks]).to(torch.uint8).numpy().tobytes()
    l1 = sum(float(masks.parameter(n).detach().abs().sum()) for n in masks)
    return {"sha256": hashlib.sha256(flat).hexdigest(), "kept": [int(masks[n].sum()) for n in masks],
            "l1": round(l1, 6)}


@torch.no_grad()
def perturb(masks: Masks, seed: int) -> None:
    """Stand-in for re-training between rounds: seeded noise on the weights, masks re-applied."""
    g = torch.Generator().manual_seed(seed)
    for _name, param, _mask in masks.parameters():
        param.add_(0.05 * torch.randn(param.shape, generator=g))
    masks.apply()


def prune_case(model_name: str, method: str, targets: list[float]) -> dict[str, Any]:
    build, shape = MODELS[model_name]
    model = build(0)
    masks = Masks(model)
    try:
        for i, target in enumerate(targets):
            if i:
                perturb(masks, i)
            prune(model, target, method, masks=masks, batches=batches(shape),
                  generator=torch.Generator().manual_seed(3))
    except ValueError as error:
        return {"error": type(error).__name__}
    return record(masks)


def pruning_cases() -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    for model_name in MODELS:
        for score in SCORES:
            for allocation in [*ALLOCATIONS, "2:4"]:
                method = f"{score}/{allocation}"
                compressions = [0.5] if allocation == "2:4" else [0.5, 0.8]
                for c in compressions:
                    yield f"prune/{model_name}/{method}/one-shot-{c}", lambda m=model_name, k=method, c=c: prune_case(
                        m, k, [c])
                if allocation == "2:4":
                    continue
                for kind in ("iterative", "gradual"):
                    steps = schedule(kind, 0.8, rate=0.35, rounds=3)
                    yield f"prune/{model_name}/{method}/{kind}-0.8", lambda m=model_name, k=method, s=steps: (
                        prune_case(m, k, s))
        for allocation in [*ALLOCATIONS, "2:4"]:  # from a model whose layers already differ in density
            yield f"prune/{model_name}/after-class-blinded/{allocation}", lambda m=model_name, a=allocation: (
                mixed_case(m, a))
        for fraction in (0.5, 1.0):
            for method in ("class-blinded", "class-uniform", "random"):
                yield f"further/{model_name}/{method}/{fraction}", lambda m=model_name, k=method, f=fraction: (
                    further_case(m, k, f))


def mixed_case(model_name: str, allocation: str) -> dict[str, Any]:
    build, shape = MODELS[model_name]
    model = build(0)
    masks = prune(model, 0.3, "class-blinded")
    perturb(masks, 7)
    target = 0.5 if allocation == "2:4" else 0.6
    try:
        prune(model, target, f"magnitude/{allocation}", masks=masks)
    except ValueError as error:
        return {"error": type(error).__name__}
    return record(masks)


def further_case(model_name: str, method: str, fraction: float) -> dict[str, Any]:
    build, _shape = MODELS[model_name]
    model = build(0)
    prune(model, 0.4, "class-distributed")
    clone = pruned_further(model, fraction, method=method, seed=5)
    return record(Masks.of(clone))


def recurrent_case(allocation: str, fraction: float) -> dict[str, Any]:
    from sparsewire.reber.config import RecurrentModelConfig
    from sparsewire.studies.reber_prune import build_classifier, magnitude_prune

    net = build_classifier("gru", RecurrentModelConfig(hidden_size=8, num_layers=1, embedding_dim=4), seed=0)
    masks = Masks.of(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        magnitude_prune(net, masks, "h2h", 0.3, "global")
        magnitude_prune(net, masks, "both", fraction, allocation)
    return record(masks)


def dynamic_case(model_name: str, algorithm: str, distribution: str, rounding: str = "round") -> dict[str, Any]:
    build, shape = MODELS[model_name]
    model = build(0)
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    masks = sparse_init(Masks(model), 0.25, distribution, generator=torch.Generator().manual_seed(2))  # type: ignore[arg-type]
    epochs, n, batch = 2, 64, 16
    updater: Any = DNW({n: initial[n] for n in masks}) if algorithm == "dnw" else algorithm
    dyn = DynamicSparsity(masks, updater, total_steps=epochs * steps_per_epoch(n, batch), update_every=2,
                          drop_fraction=0.3, seed=4, rounding=rounding)  # type: ignore[arg-type]
    train(model, data(shape, n), TrainConfig(epochs=epochs, batch_size=batch, optimizer="adam", lr=0.01),
          masks=masks, progress=False, **dyn.hooks())
    out = record(masks)
    out["snapshots"] = [hashlib.sha256(torch.cat([s[k].flatten() for k in s]).to(torch.uint8).numpy().tobytes())
                        .hexdigest()[:16] for s in dyn.snapshots]
    out["replaced"] = [u.replaced for u in dyn.updates]
    return out


def init_case(model: nn.Module, distribution: str, density: float) -> dict[str, Any]:
    masks = sparse_init(Masks(model), density, distribution, generator=torch.Generator().manual_seed(1))  # type: ignore[arg-type]
    return record(masks)


def cases() -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    yield from pruning_cases()
    for allocation in ("global", "per-layer"):
        for fraction in (0.5, 1.0):
            yield f"prune/gru/{allocation}/{fraction}", lambda a=allocation, f=fraction: recurrent_case(a, f)
    for model_name in MODELS:
        for algorithm in ("set", "rigl", "snfs", "dnw"):
            for distribution in ("uniform", "erk"):
                yield f"dynamic/{model_name}/{algorithm}/{distribution}", lambda m=model_name, a=algorithm, d=distribution: (
                    dynamic_case(m, a, d))
        yield f"dynamic/{model_name}/rigl/erk/floor", lambda m=model_name: dynamic_case(m, "rigl", "erk", "floor")
    for name, build in (("mlp", lambda: mlp(0)), ("cnn", lambda: cnn(0)), ("lenet-300-100", lenet_300_100)):
        for distribution in ("uniform", "erk"):
            for density in (0.05, 0.3, 0.6):
                yield f"init/{name}/{distribution}/{density}", lambda b=build, d=distribution, p=density: init_case(
                    b(), d, p)


def compute() -> dict[str, dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: case() for name, case in cases()}


@pytest.fixture(scope="module")
def computed() -> dict[str, dict[str, Any]]:
    return compute()


def test_every_case_is_recorded(computed: dict[str, dict[str, Any]]) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert sorted(computed) == sorted(golden)


def test_masks_match_the_golden_file(computed: dict[str, dict[str, Any]]) -> None:
    golden = json.loads(GOLDEN.read_text())
    differ = {}
    for name, want in golden.items():
        got = computed.get(name)
        if got is None:
            continue
        same = {k: v for k, v in got.items() if k != "l1"} == {k: v for k, v in want.items() if k != "l1"}
        if not same or ("l1" in want and got.get("l1") != pytest.approx(want["l1"], rel=1e-5)):
            differ[name] = (want, got)
    assert not differ, f"{len(differ)} cases changed: " + "\n".join(f"{n}: {w} -> {g}" for n, (w, g) in differ.items())


if __name__ == "__main__":
    if "--write" not in sys.argv:
        raise SystemExit("usage: PYTHONPATH=src python -m tests.test_golden_masks --write")
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
