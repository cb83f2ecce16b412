"""Prune a torchvision ResNet-18 (built without weights: nothing downloaded) on Fashion-MNIST slices.

The dense network trains for one short epoch (by default) on a slice of the shipped Fashion-MNIST, then a copy is pruned
by each method, one-shot, and fine-tuned for the same epoch:

* ``class-blinded``: one global magnitude threshold over all masked weights;
* ``magnitude/erk``: magnitude within each layer, per-layer budgets by the Erdős–Rényi-Kernel rule
  (small layers such as the first convolution keep more);
* ``snip``: connection sensitivity |∂L/∂w · w| from two batches of a ``DataLoader`` of ``(image, label)``
  tuples (:mod:`sparsewire.batch`), global threshold.

What is masked (the default rule, :func:`sparsewire.masks.masks.default_selector`): every convolution kernel
(all entries: unstructured) and the final ``fc`` layer; BatchNorm weights and biases stay dense. The
first convolution is replaced by a 1-channel 3×3 one and the stem's max-pool dropped (28×28 inputs).

torchvision must import next to the installed torch (it does not on the project's CPU machines: the PyPI
wheels are CUDA builds, see ENVIRONMENT.md); otherwise the example says so and exits 0.

    python examples/resnet18_fashion_mnist.py [--train-limit 1024] [--compression 0.8]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def unavailable(module: str) -> str | None:
    """Why ``module`` cannot be imported here (``None``: it can)."""
    try:
        importlib.import_module(module)
    except Exception as err:  # noqa: BLE001 - any import failure means: not here
        return f"{module} does not import here ({type(err).__name__}: {str(err)[:120]})"
    return None


def skip_reason() -> str | None:
    """Why this example cannot run here (``None``: it can)."""
    return unavailable("torchvision.models")


def resnet18_for_fashion_mnist(seed: int = 0) -> nn.Module:
    from torchvision.models import resnet18

    torch.manual_seed(seed)
    model = resnet18(weights=None, num_classes=10)
    model.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


def prune_and_finetune(build: Callable[[], nn.Module], splits: Any, *, compression: float = 0.8,
                       methods: tuple[str, ...] = ("class-blinded", "magnitude/erk", "snip"),
                       batch_size: int = 64, epochs: int = 1, lr: float = 3e-3,
                       seed: int = 0) -> dict[str, dict[str, Any]]:
    """Train ``build()`` for ``epochs`` on ``splits.train``, then prune a copy by each method and fine-tune it
    as long; accuracy on ``splits.test``. Any ``nn.Module`` whose output is class logits works."""
    from sparsewire import prune
    from sparsewire.training import TrainConfig, evaluate, train

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr)
    dense = build()
    train(dense, splits.train, config, seed=seed, progress=False)
    results: dict[str, dict[str, Any]] = {"dense": {"accuracy": evaluate(dense, splits.test)["accuracy"]}}
    loader = DataLoader(TensorDataset(*splits.train), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    for method in methods:
        model = copy.deepcopy(dense)
        masks = prune(model, compression, method, batches=loader, max_batches=2)
        before = evaluate(model, splits.test)["accuracy"]
        train(model, splits.train, config, seed=seed + 1, masks=masks, progress=False)
        norms = {n for n, m in model.named_modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm | nn.LayerNorm | nn.GroupNorm)}
        results[method] = {
            "density": masks.density(),
            "layer_density": masks.densities(),
            "accuracy_pruned": before,
            "accuracy": evaluate(model, splits.test)["accuracy"],
            "masked_convolutions": sum(isinstance(model.get_submodule(n.rpartition(".")[0]), nn.Conv2d) for n in masks),
            "pruned_weights_zero": all(not p[~m].any() for _, p, m in masks.parameters()),
            "norms_unmasked": bool(norms) and not any(n.rpartition(".")[0] in norms for n in masks),
        }
    return results


def load_slice(train_limit: int, test_size: int, data_dir: str | None = None) -> Any:
    """A seeded slice of the shipped Fashion-MNIST (offline: nothing downloaded)."""
    from sparsewire.data import load_dataset

    splits = load_dataset("fashion-mnist", data_dir=data_dir, val_size=1000, train_limit=train_limit, download=False)
    return SimpleNamespace(train=splits.train, test=tuple(t[:test_size] for t in splits.test))


def run(build: Callable[[], nn.Module], reason: str | None, train_limit: int = 1024, test_size: int = 1000,
        compression: float = 0.8, data_dir: str | None = None) -> dict[str, dict[str, Any]]:
    """Print and return :func:`prune_and_finetune`'s results for ``build``, or say why it is skipped (``reason``)."""
    if reason is not None:
        print(f"skipped: {reason}")
        return {}
    results = prune_and_finetune(build, load_slice(train_limit, test_size, data_dir), compression=compression)
    for name, row in results.items():
        print(name, {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items() if k != "layer_density"})
    return results


def main(train_limit: int = 1024, test_size: int = 1000, compression: float = 0.8,
         data_dir: str | None = None) -> dict[str, dict[str, Any]]:
    return run(resnet18_for_fashion_mnist, skip_reason(), train_limit, test_size, compression, data_dir)


def cli(main: Callable[..., Any], doc: str | None) -> None:
    """The command line of the Fashion-MNIST examples."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-limit", type=int, default=1024)
    parser.add_argument("--compression", type=float, default=0.8)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    main(args.train_limit, compression=args.compression, data_dir=args.data_dir)
    sys.exit(0)


if __name__ == "__main__":
    cli(main, __doc__)
