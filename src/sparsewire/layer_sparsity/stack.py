"""The ReLU networks layer sparsity applies to, as a flat list of linear layers.

Layer sparsity (Hebiri & Lederer 2020, arXiv 2006.15604) concerns networks of the form
``x -> W_L relu(... relu(W_1 x + b_1) ...) + b_L``: linear layers with a ReLU between every two of them
and none after the last. Two model kinds are supported:

- :class:`sparsewire.models.MLP` with ``activation="relu"`` (inputs are flattened);
- a plain ``nn.Sequential`` of ``[nn.Flatten()] Linear, ReLU, Linear, ..., ReLU, Linear``.

Anything else (tanh/sigmoid/leaky ReLU, dropout, normalisation, convolutions, a trailing ReLU) is
refused with :class:`UnsupportedNetworkError`: the merge argument needs an activation that is the
identity on non-negative inputs and a purely linear map between two activations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from torch import nn

from sparsewire.errors import SparsewireError
from sparsewire.models.mlp import MLP


class UnsupportedNetworkError(SparsewireError, TypeError):
    """The network is not a plain ReLU MLP, so layer sparsity (and collapsing) does not apply to it."""


@dataclass(frozen=True)
class LinearStack:
    """The linear layers of a ReLU MLP in order; a ReLU follows every layer except the last.

    ``layers`` are the model's own modules (not copies), so penalties and proximal steps act on the
    model's parameters. ``flatten`` says whether inputs are flattened first.
    """

    layers: tuple[nn.Linear, ...]
    flatten: bool

    @property
    def hidden(self) -> int:
        """Number of hidden layers (= number of ReLUs)."""
        return len(self.layers) - 1

    @property
    def sizes(self) -> list[int]:
        """Widths ``[in, hidden..., out]``."""
        return [self.layers[0].in_features, *(layer.out_features for layer in self.layers)]


def _check_chain(layers: list[nn.Linear]) -> None:
    for i, (a, b) in enumerate(zip(layers[:-1], layers[1:], strict=True)):
        if a.out_features != b.in_features:
            raise UnsupportedNetworkError(
                f"linear layer {i} has {a.out_features} outputs but layer {i + 1} expects {b.in_features} inputs"
            )


def linear_stack(model: nn.Module) -> LinearStack:
    """The :class:`LinearStack` of a supported ReLU network; :class:`UnsupportedNetworkError` otherwise."""
    if isinstance(model, MLP):
        if model.activation_name != "relu":
            raise UnsupportedNetworkError(
                f"layer sparsity needs ReLU activations (identity on non-negative inputs); this MLP uses "
                f"{model.activation_name!r}. Supported: sparsewire MLP(activation='relu') and nn.Sequential of "
                "[Flatten] Linear, ReLU, ..., Linear"
            )
        linears = [cast(nn.Linear, layer) for layer in model.layers]  # an MLP's ModuleList holds only nn.Linear
        _check_chain(linears)
        return LinearStack(tuple(linears), flatten=True)
    if isinstance(model, nn.Sequential):
        modules = list(model)
        flatten = bool(modules) and isinstance(modules[0], nn.Flatten)
        if flatten:
            modules = modules[1:]
        layers: list[nn.Linear] = []
        for i, module in enumerate(modules):
            want_linear = i % 2 == 0
            if want_linear and type(module) is nn.Linear:
                layers.append(module)
            elif not want_linear and type(module) is nn.ReLU:
                continue
            else:
                want = "nn.Linear" if want_linear else "nn.ReLU"
                raise UnsupportedNetworkError(
                    f"module {i + int(flatten)} of the Sequential is {type(module).__name__}, expected {want}; "
                    "supported: [Flatten] Linear, ReLU, Linear, ..., ReLU, Linear (ReLU only, no trailing ReLU)"
                )
        if not layers or len(modules) % 2 == 0:
            raise UnsupportedNetworkError("the Sequential must end with an nn.Linear (no activation after the output)")
        _check_chain(layers)
        return LinearStack(tuple(layers), flatten=flatten)
    raise UnsupportedNetworkError(
        f"{type(model).__name__} is not supported; layer sparsity works on sparsewire MLP(activation='relu') "
        "and on nn.Sequential of [Flatten] Linear, ReLU, ..., Linear"
    )
