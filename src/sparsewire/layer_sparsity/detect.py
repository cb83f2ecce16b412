"""Which hidden layers' ReLUs act as the identity — provably, and empirically on data.

Hidden layer ``j`` computes ``relu(W_j a + b_j)``. If ``W_j ≥ 0``, ``b_j ≥ 0`` and the input ``a ≥ 0``, the
pre-activation is ``≥ 0`` and the ReLU is the identity, so layer ``j`` merges with layer ``j+1`` into one
affine map (Hebiri & Lederer 2020). For ``j ≥ 1`` the input is the output of a ReLU (or of a layer whose
ReLU is the identity, whose output is then ``≥ 0`` as well), so ``a ≥ 0`` always holds. For the first layer
it holds only if the network's inputs are non-negative, which the caller must assert
(``input_nonnegative=True``); normalised MNIST/Fashion-MNIST inputs are negative in places.

The empirical check counts negative pre-activations over a dataset: a layer with none on the data
behaves as linear there, but that is evidence, not proof, and is only reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from sparsewire.layer_sparsity.stack import LinearStack, linear_stack


@dataclass(frozen=True)
class HiddenLayerReport:
    """What is known about hidden layer ``index`` (0 = first linear layer) and its ReLU."""

    index: int
    width: int
    nonnegative: bool
    """``W_j ≥ 0`` and ``b_j ≥ 0`` (exactly, no tolerance)."""
    input_nonnegative: bool
    """The layer's input is non-negative: always for ``j ≥ 1``, for ``j = 0`` only if asserted."""
    negative_weight_fraction: float
    negative_preactivation_fraction: float | None
    """Fraction of pre-activation entries ``< 0`` over the data (``None`` without data)."""

    @property
    def identity(self) -> bool:
        """The ReLU provably acts as the identity (so the layer can be merged with the next)."""
        return self.nonnegative and self.input_nonnegative

    @property
    def reason(self) -> str:
        """Why the layer is or is not collapsible, in words."""
        if self.identity:
            return "collapsible: non-negative weights and bias, non-negative input"
        if not self.nonnegative:
            return "active: has negative weights or bias"
        return "not collapsible: non-negative weights and bias, but the network input can be negative"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "identity": self.identity, "reason": self.reason}


def _stack(model: nn.Module | LinearStack) -> LinearStack:
    return model if isinstance(model, LinearStack) else linear_stack(model)


def is_nonnegative(layer: nn.Linear) -> bool:
    """``W ≥ 0`` and ``b ≥ 0`` exactly."""
    ok = bool((layer.weight >= 0).all())
    return ok and (layer.bias is None or bool((layer.bias >= 0).all()))


def identity_layers(model: nn.Module | LinearStack, *, input_nonnegative: bool = False) -> list[int]:
    """Indices of hidden layers whose ReLU is provably the identity (exact check, no data needed)."""
    stack = _stack(model)
    return [j for j in range(stack.hidden) if (j > 0 or input_nonnegative) and is_nonnegative(stack.layers[j])]


@torch.no_grad()
def negative_preactivation_fractions(
    model: nn.Module | LinearStack, inputs: torch.Tensor, batch_size: int = 4096
) -> list[float]:
    """For each hidden layer, the fraction of its pre-activation entries that are ``< 0`` over ``inputs``."""
    stack = _stack(model)
    if len(inputs) == 0:
        raise ValueError("need at least one input to measure pre-activations")
    negative = torch.zeros(stack.hidden, dtype=torch.float64)
    for chunk in inputs.split(batch_size):
        x = chunk.flatten(1) if stack.flatten else chunk
        if x.shape[-1] != stack.layers[0].in_features:
            raise ValueError(f"inputs have {x.shape[-1]} features, the first layer expects {stack.layers[0].in_features}")
        for j, layer in enumerate(stack.layers[:-1]):
            pre = layer(x)
            negative[j] += (pre < 0).sum().item()
            x = torch.relu(pre)
    return [float(negative[j]) / (len(inputs) * stack.layers[j].out_features) for j in range(stack.hidden)]


def inputs_nonnegative(inputs: torch.Tensor) -> bool:
    """Whether every entry of a dataset's inputs is ``≥ 0`` (evidence for ``input_nonnegative``, not proof)."""
    return bool((inputs >= 0).all())


def layer_report(
    model: nn.Module | LinearStack, inputs: torch.Tensor | None = None, *, input_nonnegative: bool = False
) -> list[HiddenLayerReport]:
    """One :class:`HiddenLayerReport` per hidden layer: exact identity check plus, with ``inputs``, the
    empirical fraction of negative pre-activations."""
    stack = _stack(model)
    fractions = negative_preactivation_fractions(stack, inputs) if inputs is not None else [None] * stack.hidden
    out = []
    for j, layer in enumerate(stack.layers[:-1]):
        with torch.no_grad():
            neg = int((layer.weight < 0).sum()) + (0 if layer.bias is None else int((layer.bias < 0).sum()))
            total = layer.weight.numel() + (0 if layer.bias is None else layer.bias.numel())
        out.append(
            HiddenLayerReport(
                index=j,
                width=layer.out_features,
                nonnegative=is_nonnegative(layer),
                input_nonnegative=j > 0 or input_nonnegative,
                negative_weight_fraction=neg / total,
                negative_preactivation_fraction=fractions[j],
            )
        )
    return out
