"""Composable sparsity penalties for ReLU MLPs, each with a value (for subgradient) and a proximal step.

Hebiri & Lederer (2020, arXiv 2006.15604) regularise with ``λ Σ_j r_j h(W_j)`` for three choices of ``h``:

- **layer sparsity** (:class:`LayerPenalty`): ``h = ‖neg([W_j, b_j])‖₂``, the Frobenius norm of the negative
  part of the layer's weights *and* bias. We use the ℓ2 (Frobenius) norm, not ℓ1, because it acts on the
  negative part as *one group*: its proximal step zeroes all negative entries of a layer at once or
  none, which is exactly the event "layer ``j`` is non-negative" that lets its ReLU be dropped. An ℓ1
  norm would instead trade individual entries and rarely clear a whole layer. The bias is in the group
  because the identity argument needs ``b_j ≥ 0`` too.
- **connection sparsity** (:class:`ConnectionPenalty`): ``h = ‖W_j‖₁`` (biases not penalised).
- **node sparsity** (:class:`NodePenalty`): ``h = Σ_i ‖[W_j,i, b_j,i]‖₂`` over the neurons ``i`` of layer ``j``
  (a neuron's incoming weights and bias; a zero row makes the neuron output ``relu(0) = 0``).

``r_j`` are per-layer weights (one per linear layer, default below). Penalties add with ``+`` into a
:class:`Penalties`; its proximal step applies the members' steps in order (exact for ℓ1 followed by a
group norm, as in the sparse-group lasso; otherwise the usual splitting approximation).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sparsewire.layer_sparsity.proximal import (
    negative_group_threshold_,
    row_group_threshold_,
    soft_threshold_,
)
from sparsewire.layer_sparsity.stack import LinearStack, linear_stack


def _zero() -> torch.Tensor:
    return torch.zeros(())


def _norm(squared: torch.Tensor) -> torch.Tensor:
    """``sqrt`` with gradient 0 (a valid subgradient) at 0 instead of NaN."""
    return squared.sqrt() if float(squared.detach()) > 0 else squared


class Penalty:
    """``lam · Σ_j r_j h(layer j)`` over the linear layers of a ReLU MLP (subclasses define ``h``).

    Args:
        lam: overall strength ``λ ≥ 0``.
        weights: ``r_j ≥ 0`` per linear layer (length = number of linear layers), or ``None`` for the
            subclass default.
    """

    name = "penalty"

    def __init__(self, lam: float, weights: Sequence[float] | None = None) -> None:
        lam = float(lam)
        if not lam >= 0:  # also rejects NaN
            raise ValueError(f"{self.name} penalty strength must be >= 0, got {lam}")
        if weights is not None:
            weights = [float(w) for w in weights]
            if any(not w >= 0 for w in weights):
                raise ValueError(f"{self.name} per-layer weights r_j must be >= 0, got {weights}")
        self.lam = lam
        self._weights = None if weights is None else tuple(weights)

    def default_weights(self, stack: LinearStack) -> list[float]:
        """``r_j`` when none are given: 1 for every linear layer."""
        return [1.0] * len(stack.layers)

    def weights(self, stack: LinearStack) -> list[float]:
        """The per-layer weights ``r_j`` for ``stack`` (checked against its depth)."""
        if self._weights is None:
            return self.default_weights(stack)
        if len(self._weights) != len(stack.layers):
            raise ValueError(
                f"{self.name} penalty has {len(self._weights)} per-layer weights but the network has "
                f"{len(stack.layers)} linear layers"
            )
        return list(self._weights)

    def layer_value(self, layer: nn.Linear) -> torch.Tensor:
        raise NotImplementedError

    def layer_prox(self, layer: nn.Linear, step: float) -> None:
        raise NotImplementedError

    def value(self, model: nn.Module | LinearStack) -> torch.Tensor:
        """The penalty (differentiable almost everywhere; add it to the loss for subgradient training)."""
        stack = model if isinstance(model, LinearStack) else linear_stack(model)
        total = _zero()
        for r, layer in zip(self.weights(stack), stack.layers, strict=True):
            if r > 0 and self.lam > 0:
                total = total + self.lam * r * self.layer_value(layer)
        return total

    @torch.no_grad()
    def prox(self, model: nn.Module | LinearStack, step: float) -> None:
        """Proximal step of ``step ·`` the penalty, in place (threshold ``step·λ·r_j`` for layer ``j``)."""
        if step < 0:
            raise ValueError(f"step size must be >= 0, got {step}")
        stack = model if isinstance(model, LinearStack) else linear_stack(model)
        for r, layer in zip(self.weights(stack), stack.layers, strict=True):
            if r > 0 and self.lam > 0:
                self.layer_prox(layer, step * self.lam * r)

    def __add__(self, other: Penalty | Penalties) -> Penalties:
        return Penalties([self]) + other

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam}, weights={self._weights})"


class LayerPenalty(Penalty):
    """Layer sparsity: ``λ Σ_j r_j ‖neg([W_j, b_j])‖₂`` (Hebiri & Lederer 2020).

    Default ``r_j``: 1 for hidden layers ``j ≥ 1`` (their input is a ReLU output, so non-negative weights
    and bias make their ReLU the identity), 0 for the output layer (no ReLU follows it) and 0 for the
    first layer unless ``input_nonnegative=True`` (with inputs that can be negative — e.g. normalised
    MNIST — a non-negative first layer proves nothing, so penalising it would only cost accuracy).
    """

    name = "layer"

    def __init__(self, lam: float, weights: Sequence[float] | None = None, *, input_nonnegative: bool = False) -> None:
        super().__init__(lam, weights)
        self.input_nonnegative = input_nonnegative

    def default_weights(self, stack: LinearStack) -> list[float]:
        n = len(stack.layers)
        return [1.0 if (j > 0 or self.input_nonnegative) and j < n - 1 else 0.0 for j in range(n)]

    def layer_value(self, layer: nn.Linear) -> torch.Tensor:
        sq = layer.weight.clamp(max=0).pow(2).sum()
        if layer.bias is not None:
            sq = sq + layer.bias.clamp(max=0).pow(2).sum()
        return _norm(sq)

    def layer_prox(self, layer: nn.Linear, step: float) -> None:
        negative_group_threshold_([p for p in (layer.weight, layer.bias) if p is not None], step)


class ConnectionPenalty(Penalty):
    """Connection sparsity: ``λ Σ_j r_j ‖W_j‖₁`` (weights only; default ``r_j = 1``)."""

    name = "connection"

    def layer_value(self, layer: nn.Linear) -> torch.Tensor:
        return layer.weight.abs().sum()

    def layer_prox(self, layer: nn.Linear, step: float) -> None:
        soft_threshold_(layer.weight, step)


class NodePenalty(Penalty):
    """Node sparsity: ``λ Σ_j r_j Σ_i ‖[W_j,i, b_j,i]‖₂`` over neurons ``i`` (default ``r_j`` = 1, output layer 0)."""

    name = "node"

    def default_weights(self, stack: LinearStack) -> list[float]:
        n = len(stack.layers)
        return [1.0 if j < n - 1 else 0.0 for j in range(n)]

    def layer_value(self, layer: nn.Linear) -> torch.Tensor:
        sq = layer.weight.pow(2).sum(1)
        if layer.bias is not None:
            sq = sq + layer.bias.pow(2)
        return torch.stack([_norm(s) for s in sq]).sum()

    def layer_prox(self, layer: nn.Linear, step: float) -> None:
        row_group_threshold_(layer.weight, layer.bias, step)


class Penalties:
    """A sum of penalties: values add, proximal steps are applied one after another (in list order)."""

    def __init__(self, members: Sequence[Penalty]) -> None:
        self.members = list(members)

    def value(self, model: nn.Module | LinearStack) -> torch.Tensor:
        stack = model if isinstance(model, LinearStack) else linear_stack(model)
        return sum((p.value(stack) for p in self.members), _zero())

    def prox(self, model: nn.Module | LinearStack, step: float) -> None:
        stack = model if isinstance(model, LinearStack) else linear_stack(model)
        for p in self.members:
            p.prox(stack, step)

    def __add__(self, other: Penalty | Penalties) -> Penalties:
        extra = other.members if isinstance(other, Penalties) else [other]
        return Penalties([*self.members, *extra])

    def __iter__(self):
        return iter(self.members)

    def __repr__(self) -> str:
        return " + ".join(map(repr, self.members)) or "Penalties([])"
