"""Thinning a chain of layers: MLPs, ``nn.Sequential`` networks and LeNet-5 (Linear and Conv layers).

The network is read as a chain of ops: weighted layers (``nn.Linear``, ``nn.Conv1d/2d`` with ``groups=1``),
elementwise activations, channel-wise pooling, eval-mode batch norm and ``nn.Flatten``. Two passes:

1. **Forward (no path from the input).** A unit (a linear output or a conv channel) whose incoming weights
   are all zero outputs a constant: its bias, then whatever the following activation / pooling / norm make of
   it (pooling a constant map gives the same constant). The next weighted layer folds such inputs into its
   bias (``b += c · Σ_kernel W[:, k]``) and zeroes their columns. A conv with zero padding cannot fold a
   non-zero constant (the padded border would see 0 instead of ``c``), so such a channel stays.
2. **Backward (no path to the output).** A unit none of whose outgoing weights is non-zero (after folding)
   cannot affect the output: its row (and its channel in any norm between) goes. A conv channel feeding a
   ``Flatten`` goes only when all its flattened features are unused.

The result is a deep copy whose layers are smaller dense modules (float64 arithmetic for the folds, cast
back), in eval mode: equal outputs are promised for inference (batch norm uses its running statistics).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from sparsewire.models.conv import LeNet5
from sparsewire.models.mlp import MLP
from sparsewire.thinning.common import (
    UnsupportedModelError,
    fold_columns,
    keep_index,
    out_constants,
    plain_copy,
    running_stats,
    used_inputs,
)

ELEMENTWISE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Hardtanh,
               nn.Identity, nn.Dropout)
CHANNELWISE = (nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d,
               nn.AdaptiveMaxPool2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d)
Weighted = nn.Linear | nn.Conv1d | nn.Conv2d
Norm = nn.BatchNorm1d | nn.BatchNorm2d


@dataclass
class Op:
    """One step of the chain: ``name`` is the module's qualified name in the model (``None``: implicit)."""

    name: str | None
    module: nn.Module
    kind: str  # "weighted" | "elementwise" | "channelwise" | "norm" | "flatten"

    @property
    def weighted(self) -> tuple[str, Weighted]:
        """The name and module of a ``weighted`` op."""
        assert self.name is not None and isinstance(self.module, WEIGHTED)  # _kind and chain_ops make them so
        return self.name, self.module

    @property
    def norm(self) -> tuple[str, Norm]:
        """The name and module of a ``norm`` op."""
        assert self.name is not None and isinstance(self.module, NORMS)  # _kind makes them so
        return self.name, self.module


def _kind(module: nn.Module) -> str:
    if isinstance(module, nn.Linear):
        return "weighted"
    if isinstance(module, nn.Conv1d | nn.Conv2d):
        if module.groups != 1:
            raise UnsupportedModelError(f"grouped convolutions are not supported by thinning ({module})")
        return "weighted"
    if isinstance(module, ELEMENTWISE):
        return "elementwise"
    if isinstance(module, nn.AvgPool1d | nn.AvgPool2d):
        padding = module.padding if isinstance(module.padding, tuple) else (module.padding,)
        if any(padding) and module.count_include_pad:
            raise UnsupportedModelError(f"average pooling over zero padding changes constants: {module}")
        return "channelwise"
    if isinstance(module, CHANNELWISE):
        return "channelwise"
    if isinstance(module, NORMS):
        if not module.track_running_stats or module.running_mean is None:
            raise UnsupportedModelError(f"batch norm without running statistics cannot be thinned: {module}")
        return "norm"
    if isinstance(module, nn.Flatten):
        if module.start_dim != 1 or module.end_dim != -1:
            raise UnsupportedModelError(f"only Flatten(1, -1) is supported, got {module}")
        return "flatten"
    raise UnsupportedModelError(
        f"thinning cannot reason about {type(module).__name__}; supported in a chain: Linear, Conv1d/2d, "
        "elementwise activations, pooling, eval batch norm, Flatten"
    )


def _sequential_ops(seq: nn.Sequential, prefix: str) -> list[Op]:
    ops: list[Op] = []
    for name, child in seq.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(child, nn.Sequential):
            ops += _sequential_ops(child, full)
        else:
            ops.append(Op(full, child, _kind(child)))
    return ops


def chain_ops(model: nn.Module) -> list[Op]:
    """The ops of a supported chain model in forward order; :class:`UnsupportedModelError` otherwise."""
    if isinstance(model, MLP):
        ops = [Op(None, nn.Flatten(), "flatten")]
        for i, layer in enumerate(model.layers):
            ops.append(Op(f"layers.{i}", layer, "weighted"))
            if i < len(model.layers) - 1:
                ops.append(Op("activation", model.activation, "elementwise"))
        return ops
    if isinstance(model, LeNet5):
        return _sequential_ops(model.features, "features") + _sequential_ops(model.classifier, "classifier")
    if isinstance(model, nn.Sequential):
        return _sequential_ops(model, "")
    raise UnsupportedModelError(f"{type(model).__name__} is not a chain model (MLP, nn.Sequential, LeNet5)")


def _exact_fold(module: Weighted) -> bool:
    """Whether a constant input channel adds a constant to every output (no zero padding cuts the kernel)."""
    if isinstance(module, nn.Linear):
        return True
    padding = module.padding
    if isinstance(padding, str):
        return padding == "valid" or all(k == 1 for k in module.kernel_size)
    return not any(padding)


def _norm_constants(norm: Norm, const: torch.Tensor) -> torch.Tensor:
    mean, var = running_stats(norm)
    scale = (var.double() + norm.eps).rsqrt()
    out = (const - mean.double()) * scale
    if norm.weight is not None:
        weight, bias = norm.weight.double(), norm.bias.double()
        out = torch.where(weight == 0, bias, out * weight + bias)  # scale 0: the bias, whatever comes in
    return out


def _expand(index: torch.Tensor, spatial: int) -> torch.Tensor:
    """Channel indices → indices of their flattened features (``spatial`` features per channel)."""
    return (index.unsqueeze(1) * spatial + torch.arange(spatial, device=index.device)).flatten()


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def _resized(module: Weighted, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
    new = copy.deepcopy(module)
    ref = module.weight
    new.weight = nn.Parameter(weight.to(ref.dtype), requires_grad=ref.requires_grad)
    if bias is not None and module.bias is not None:  # bias is None exactly when module.bias is
        new.bias = nn.Parameter(bias.to(ref.dtype), requires_grad=module.bias.requires_grad)
    if isinstance(module, nn.Linear):
        new.out_features, new.in_features = weight.shape[:2]
    else:
        new.out_channels, new.in_channels = weight.shape[:2]
    return new


def _sliced_norm(norm: Norm, index: torch.Tensor) -> nn.Module:
    new = copy.deepcopy(norm)
    for name in ("weight", "bias"):
        p = getattr(norm, name)
        if p is not None:
            setattr(new, name, nn.Parameter(p.detach()[index].clone(), requires_grad=p.requires_grad))
    mean, var = running_stats(norm)
    new.running_mean = mean[index].clone()
    new.running_var = var[index].clone()
    new.num_features = int(index.numel())
    return new


@torch.no_grad()
def thin_chain(model: nn.Module) -> nn.Module:
    """A smaller dense copy of a chain model (see the module doc) computing the same function in eval mode."""
    model = plain_copy(model)
    ops = chain_ops(model)
    weighted = [i for i, op in enumerate(ops) if op.kind == "weighted"]
    if not weighted:
        return model
    modules = {i: ops[i].weighted[1] for i in weighted}
    weights = {i: module.weight.detach().double().clone() for i, module in modules.items()}
    biases = {i: None if module.bias is None else module.bias.detach().double().clone() for i, module in modules.items()}

    # forward: constants from units without incoming weights, folded into the next layer's bias
    const: torch.Tensor | None = None
    spatial: dict[int, int] = {}
    for i, op in enumerate(ops):
        if op.kind == "weighted":
            if const is not None and const.numel() != weights[i].shape[1]:
                raise UnsupportedModelError(f"{op.name} expects {weights[i].shape[1]} inputs, the chain gives "
                                            f"{const.numel()} (is a reshape missing from the chain?)")
            fold_columns(weights[i], biases[i], const, exact_nonzero=_exact_fold(modules[i]))
            const = out_constants(weights[i], biases[i])
        elif const is None:
            continue
        elif op.kind == "elementwise":
            const = op.module(const)
        elif op.kind == "norm":
            const = _norm_constants(op.norm[1], const)
        elif op.kind == "flatten":
            following = next((j for j in weighted if j > i), None)
            if following is None or not isinstance(modules[following], nn.Linear):
                raise UnsupportedModelError("a Flatten after a weighted layer must feed an nn.Linear")
            features = weights[following].shape[1]
            if features % const.numel():
                raise UnsupportedModelError(f"{ops[following].name} has {features} inputs, not a multiple of "
                                            f"the {const.numel()} channels flattened into it")
            spatial[i] = features // const.numel()
            const = const.repeat_interleave(spatial[i])

    # backward: units that reach nothing go
    keep_out: dict[int, torch.Tensor] = {}
    need: torch.Tensor | None = None
    for i in reversed(range(len(ops))):
        if ops[i].kind == "weighted":
            rows = weights[i].shape[0]
            keep_out[i] = torch.arange(rows) if need is None else keep_index(need)
            need = used_inputs(weights[i][keep_out[i]])
        elif i in spatial and need is not None:
            need = need.reshape(-1, spatial[i]).any(1)

    # rebuild: slice rows by the layer's kept outputs, columns by what the previous layer kept
    index: torch.Tensor | None = None  # kept indices of the current tensor's units (None: all, the input)
    for i, op in enumerate(ops):
        if op.kind == "weighted":
            w = weights[i][keep_out[i]]
            if index is not None:
                w = w[:, index]
            bias = biases[i]
            b = None if bias is None else bias[keep_out[i]]
            name, module = op.weighted
            _set(model, name, _resized(module, w, b))
            index = keep_out[i]
        elif index is None:
            continue
        elif op.kind == "norm":
            name, norm = op.norm
            _set(model, name, _sliced_norm(norm, index))
        elif op.kind == "flatten":
            index = _expand(index, spatial[i])
    if isinstance(model, MLP):
        linears = [cast(nn.Linear, layer) for layer in model.layers]  # an MLP's ModuleList holds only nn.Linear
        model.sizes = [linears[0].in_features, *(layer.out_features for layer in linears)]
    return model
