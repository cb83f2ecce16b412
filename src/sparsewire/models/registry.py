"""Build models by name from configs: ``build_model("lenet-300-100", input_shape=(1, 28, 28), num_classes=10)``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from sparsewire.models.conv import LeNet5, ResNet20
from sparsewire.models.mlp import MLP

SPEC_ATTRIBUTE = "sparsewire_spec"
"""The attribute :func:`build_model` records a model's spec in (read by :mod:`sparsewire.models.files`)."""


def _mlp(input_shape: Sequence[int], num_classes: int, hidden: Sequence[int] = (100,), activation: str = "relu") -> MLP:
    return MLP([math.prod(input_shape), *hidden, num_classes], activation=activation)


def _lenet5(input_shape: Sequence[int], num_classes: int) -> LeNet5:
    return LeNet5(in_channels=input_shape[0], num_classes=num_classes, image_size=input_shape[-1])


def _resnet20(input_shape: Sequence[int], num_classes: int, width: float = 1.0) -> ResNet20:
    return ResNet20(in_channels=input_shape[0], num_classes=num_classes, width=width)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": _mlp,
    "mlp-100": lambda input_shape, num_classes: _mlp(input_shape, num_classes, (100,)),
    "lenet-300-100": lambda input_shape, num_classes: _mlp(input_shape, num_classes, (300, 100)),
    "lenet5": _lenet5,
    "resnet20": _resnet20,
    "resnet20-narrow": lambda input_shape, num_classes: _resnet20(input_shape, num_classes, 0.5),
}


def build_model(name: str, input_shape: Sequence[int], num_classes: int, **options: Any) -> nn.Module:
    """Instantiate model ``name`` (see :data:`MODELS`) for data of ``input_shape`` and ``num_classes``.

    The model records how it was built in ``model.sparsewire_spec`` (JSON), so
    :func:`~sparsewire.models.files.save_model` can save it as weights + spec.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")
    try:
        model = MODELS[name](tuple(input_shape), int(num_classes), **options)
    except TypeError as err:
        raise ValueError(f"bad options for model {name!r}: {options} ({err})") from err
    spec = {"name": name, "input_shape": [int(d) for d in input_shape], "num_classes": int(num_classes),
            "options": dict(options)}
    setattr(model, SPEC_ATTRIBUTE, spec)  # a plain attribute; nn.Module's __setattr__ is typed for tensors and modules
    return model
