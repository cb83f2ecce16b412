"""Collapse linear stretches of a ReLU MLP into single ``nn.Linear`` layers (a genuinely shallower network).

If hidden layer ``j``'s ReLU is the identity, ``W_{j+1} relu(W_j a + b_j) + b_{j+1}`` equals the affine map
``(W_{j+1} W_j) a + (W_{j+1} b_j + b_{j+1})`` (Hebiri & Lederer 2020). Chains of such layers fold into one
layer. The product is computed in float64 and cast back, so the collapsed network matches the original
to float rounding. A toolkit :class:`~sparsewire.models.MLP` collapses to a shorter ``MLP``; an
``nn.Sequential`` to an ``nn.Sequential`` of the same form.

If the model carries masks (:class:`~sparsewire.masks.Masks`), the collapsed model gets masks too: a merged
layer's mask is the support of the product of the masks (``M_{j+1} M_j > 0``), so a pruning mask can be
kept during refitting. Note that merging can *add* parameters when a narrow layer sits between wider
ones (``n_{j+2} · n_j > n_{j+1} (n_j + n_{j+2})``); compare with :func:`sparsewire.layer_sparsity.cost.parameter_count`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn.utils import skip_init

from sparsewire.layer_sparsity.detect import identity_layers
from sparsewire.layer_sparsity.stack import LinearStack, linear_stack
from sparsewire.masks import Masks
from sparsewire.models.mlp import MLP


class UnsafeCollapseWarning(UserWarning):
    """A layer was collapsed although its ReLU is not provably the identity: outputs may change."""


def groups(num_layers: int, removed: Iterable[int]) -> list[list[int]]:
    """Consecutive linear layers that fold together when the ReLUs after the layers in ``removed`` go.

    ``groups(4, [1, 2]) == [[0], [1, 2, 3]]``: the ReLUs after layers 1 and 2 vanish, layers 1–3 merge.
    """
    removed = set(removed)
    bad = [j for j in removed if not 0 <= j < num_layers - 1]
    if bad:
        raise ValueError(f"hidden layer indices must lie in [0, {num_layers - 2}], got {sorted(bad)}")
    out: list[list[int]] = [[0]]
    for j in range(1, num_layers):
        if j - 1 in removed:
            out[-1].append(j)
        else:
            out.append([j])
    return out


@torch.no_grad()
def _merge(layers: Sequence[nn.Linear]) -> tuple[torch.Tensor, torch.Tensor | None]:
    weight = layers[0].weight.double()
    has_bias = any(layer.bias is not None for layer in layers)
    bias = layers[0].bias.double() if layers[0].bias is not None else torch.zeros(weight.shape[0], dtype=torch.float64)
    for layer in layers[1:]:
        w = layer.weight.double()
        weight = w @ weight
        bias = w @ bias + (layer.bias.double() if layer.bias is not None else 0.0)
    return weight, (bias if has_bias else None)


def _merged_mask(model: nn.Module, stack: LinearStack, group: list[int]) -> torch.Tensor | None:
    masks = Masks.of(model) if Masks.is_masked(model) else None
    if masks is None:
        return None
    names = {id(m): n for n, m in model.named_modules()}

    def layer_mask(j: int) -> torch.Tensor:
        name = f"{names[id(stack.layers[j])]}.weight"
        return masks[name].double() if name in masks else torch.ones_like(stack.layers[j].weight, dtype=torch.float64)

    out = layer_mask(group[0])
    for j in group[1:]:
        out = layer_mask(j) @ out
    return out > 0


def collapse(
    model: nn.Module,
    layers: Iterable[int] | None = None,
    *,
    input_nonnegative: bool = False,
    unsafe: bool = False,
) -> nn.Module:
    """A shallower copy of ``model`` with the ReLUs after hidden layers ``layers`` removed and merged away.

    Args:
        model: a ReLU MLP (see :func:`sparsewire.layer_sparsity.stack.linear_stack`); it is not modified.
        layers: hidden-layer indices to collapse; default: all whose ReLU is provably the identity
            (:func:`~sparsewire.layer_sparsity.detect.identity_layers`).
        input_nonnegative: the caller guarantees non-negative network inputs, so the first layer may
            collapse too.
        unsafe: allow collapsing layers that are not provably identity (outputs may then differ; warns).
            Without it such a request is an error.

    Returns:
        An ``MLP`` (for an ``MLP``) or ``nn.Sequential`` (for an ``nn.Sequential``) whose outputs equal the
        original's to float tolerance, in eval mode iff the original was.
    """
    stack = linear_stack(model)
    proven = set(identity_layers(stack, input_nonnegative=input_nonnegative))
    chosen = proven if layers is None else set(layers)
    unproven = sorted(chosen - proven)
    if unproven:
        why = ", ".join(
            f"{j} ({'network input can be negative' if j == 0 and not input_nonnegative else 'has negative weights or bias'})"
            for j in unproven
        )
        if not unsafe:
            raise ValueError(f"hidden layers {why} are not provably linear; pass unsafe=True to collapse them anyway")
        warnings.warn(f"collapsing hidden layers {why}: outputs may change", UnsafeCollapseWarning, stacklevel=2)
    plan = groups(len(stack.layers), chosen)
    merged = []
    ref = stack.layers[0].weight
    for group in plan:
        weight, bias = _merge([stack.layers[j] for j in group])
        linear = skip_init(nn.Linear, weight.shape[1], weight.shape[0], bias=bias is not None, device=ref.device,
                           dtype=ref.dtype)
        with torch.no_grad():
            linear.weight.copy_(weight)
            if bias is not None:
                linear.bias.copy_(bias)
        merged.append(linear)
    if isinstance(model, MLP):
        with torch.device("meta"):  # no random init (keeps the global RNG untouched); layers replaced below
            out: nn.Module = MLP([merged[0].in_features, *(m.out_features for m in merged)], activation="relu")
        out.layers = nn.ModuleList(merged)
        prefixes = [f"layers.{i}" for i in range(len(merged))]
    else:
        modules: list[nn.Module] = [nn.Flatten()] if stack.flatten else []
        prefixes = []
        for i, linear in enumerate(merged):
            prefixes.append(str(len(modules)))
            modules.append(linear)
            if i < len(merged) - 1:
                modules.append(nn.ReLU())
        out = nn.Sequential(*modules)
    masks = [_merged_mask(model, stack, group) for group in plan]
    if any(m is not None for m in masks):
        collapsed_masks = Masks(out, prunable=[f"{p}.weight" for p in prefixes])
        collapsed_masks.update({f"{p}.weight": m for p, m in zip(prefixes, masks, strict=True) if m is not None})
    out.train(model.training)
    return out
