"""Thinning a ResNet (torchvision's layout: ``conv1, bn1, relu, maxpool, layer1..4, avgpool, fc``; blocks with
``conv1, bn1, conv2, bn2[, conv3, bn3]`` and an optional ``downsample = Sequential(conv, bn)``).

Convolutions here are padded, so a non-zero constant channel cannot be folded exactly; thinning removes only
channels that are *exactly zero* or *unread*:

- a (conv, bn) pair writes a zero channel when the filter is all zero and the norm maps the conv bias to 0
  (or the norm's scale and shift are both 0); the ReLU after it keeps it 0;
- a channel is unread when every weight of every reader on it is zero.

**Inside a block** a channel between two convolutions goes when its writer writes zeros or its reader does
not read it. **The residual stream** of a stage (stem or ``downsample`` output, plus every block's last
(conv, bn), all joined by the identity adds) is one channel space: a channel goes only when it is removable
on *both* sides of every add, i.e. when *every* writer writes zero there (``relu(0 + 0) = 0``), or when
*no* reader (the blocks' first convs, the next stage's first block and ``downsample``, or ``fc`` after the
pooling) reads it. Nothing is folded, so outputs change only by summation order.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from sparsewire.thinning.common import UnsupportedModelError, keep_index, plain_copy, running_stats

Pair = tuple[nn.Conv2d, nn.BatchNorm2d]
"""A convolution and the batch norm after it."""

STAGES = ("layer1", "layer2", "layer3", "layer4")


def is_resnet(model: nn.Module) -> bool:
    """Whether ``model`` has torchvision's ResNet layout (see the module doc)."""
    names = ("conv1", "bn1", "maxpool", *STAGES, "avgpool", "fc")
    return all(hasattr(model, n) for n in names) and all(
        hasattr(block, "conv1") and hasattr(block, "bn2") for stage in STAGES for block in getattr(model, stage))


def _pair(module: nn.Module, conv: str, norm: str) -> Pair:
    """``module``'s children named ``conv`` and ``norm`` (a Conv2d and a BatchNorm2d in torchvision's layout)."""
    return cast(nn.Conv2d, getattr(module, conv)), cast(nn.BatchNorm2d, getattr(module, norm))


def _branch(block: nn.Module) -> list[Pair]:
    pairs = [_pair(block, "conv1", "bn1"), _pair(block, "conv2", "bn2")]
    if hasattr(block, "conv3"):
        pairs.append(_pair(block, "conv3", "bn3"))
    return pairs



def _zero_written(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> torch.Tensor:
    """Bool per output channel: the pair always writes exactly 0 there (eval-mode batch norm)."""
    with torch.no_grad():
        dead = ~conv.weight.reshape(conv.out_channels, -1).ne(0).any(1)
        z = conv.bias.detach().double() if conv.bias is not None else torch.zeros(conv.out_channels, dtype=torch.float64)
        mean, var = running_stats(bn)
        scale = (var.double() + bn.eps).rsqrt()
        gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(scale)
        beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(scale)
        written = (z - mean.double()) * scale * gamma + beta
        return (dead & (written == 0)) | ((gamma == 0) & (beta == 0))


def _read(module: nn.Conv2d | nn.Linear) -> torch.Tensor:
    """Bool per input channel: some weight of the conv / linear reads it."""
    w = module.weight.detach()
    return w.ne(0).transpose(0, 1).reshape(w.shape[1], -1).any(1)


def _rows(conv: nn.Conv2d, index: torch.Tensor) -> None:
    conv.weight = nn.Parameter(conv.weight.detach()[index].clone())
    if conv.bias is not None:
        conv.bias = nn.Parameter(conv.bias.detach()[index].clone())
    conv.out_channels = int(index.numel())


def _cols(module: nn.Conv2d | nn.Linear, index: torch.Tensor) -> None:
    module.weight = nn.Parameter(module.weight.detach()[:, index].clone())
    if isinstance(module, nn.Linear):
        module.in_features = int(index.numel())
    else:
        module.in_channels = int(index.numel())


def _norm(bn: nn.BatchNorm2d, index: torch.Tensor) -> None:
    for name in ("weight", "bias"):
        if getattr(bn, name) is not None:
            setattr(bn, name, nn.Parameter(getattr(bn, name).detach()[index].clone()))
    mean, var = running_stats(bn)
    bn.running_mean = mean[index].clone()
    bn.running_var = var[index].clone()
    bn.num_features = int(index.numel())


@torch.no_grad()
def thin_resnet(model: nn.Module) -> nn.Module:
    """A copy of a torchvision-style ResNet without its zero or unread channels (same outputs in eval mode)."""
    if not is_resnet(model):
        raise UnsupportedModelError(f"{type(model).__name__} does not have torchvision's ResNet layout")
    model = plain_copy(model)
    blocks = [(s, block) for s in STAGES for block in getattr(model, s)]
    for _, block in blocks:
        if any(conv.groups != 1 for conv, _ in _branch(block)):
            raise UnsupportedModelError("grouped convolutions (ResNeXt) are not supported by thinning")

    # the residual streams: writers (conv, bn) and readers (conv or fc), stem first
    streams: list[dict[str, list]] = []
    current: dict[str, list] = {"writers": [(model.conv1, model.bn1)], "readers": []}
    for _, block in blocks:
        current["readers"].append(block.conv1)
        if block.downsample is not None:  # the block reads the old stream and writes a new one
            if len(block.downsample) != 2:
                raise UnsupportedModelError("downsample must be Sequential(conv, batch norm)")
            current["readers"].append(block.downsample[0])
            streams.append(current)
            current = {"writers": [(block.downsample[0], block.downsample[1])], "readers": []}
        current["writers"].append(_branch(block)[-1])
    current["readers"].append(model.fc)
    streams.append(current)

    for stream in streams:
        zero = torch.stack([_zero_written(conv, bn) for conv, bn in stream["writers"]]).all(0)
        read = torch.stack([_read(r) for r in stream["readers"]]).any(0)
        keep = keep_index(~zero & read)
        for conv, bn in stream["writers"]:
            _rows(conv, keep)
            _norm(bn, keep)
        for reader in stream["readers"]:
            _cols(reader, keep)

    for _, block in blocks:  # channels inside a block's branch
        pairs = _branch(block)
        for (conv, bn), (reader, _) in zip(pairs[:-1], pairs[1:], strict=True):
            keep = keep_index(~_zero_written(conv, bn) & _read(reader))
            _rows(conv, keep)
            _norm(bn, keep)
            _cols(reader, keep)
    return model

