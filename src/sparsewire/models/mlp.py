"""Multi-layer perceptrons, including the two MNIST networks of the pruning literature."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MLP(nn.Module):
    """A fully connected network ``sizes[0] -> ... -> sizes[-1]`` with an activation after every hidden layer.

    Inputs of any shape ``(N, ...)`` are flattened. The linear layers are ``self.layers`` (an
    ``nn.ModuleList``), named ``layers.0``, ``layers.1``, … in the state dict.

    Args:
        sizes: layer widths including input and output, e.g. ``[784, 100, 10]``.
        activation: ``"relu"`` (default), ``"tanh"`` or ``"sigmoid"``.
        bias: whether the linear layers have biases.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", bias: bool = True) -> None:
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"MLP needs at least two positive layer sizes, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
        self.sizes = sizes
        self.activation_name = activation
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = self.activation(x)
        return x

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation_name}"


def mlp_100(in_features: int = 784, num_classes: int = 10) -> MLP:
    """The 784-100-10 ReLU MLP of Stier, Darji & Granitzer (2021), Sec. 4.1."""
    return MLP([in_features, 100, num_classes])


def lenet_300_100(in_features: int = 784, num_classes: int = 10) -> MLP:
    """LeNet-300-100 (LeCun et al. 1998; the pruning benchmark of Han et al. 2015)."""
    return MLP([in_features, 300, 100, num_classes])
