"""Where models run: device names, moving batches, and optional bf16 autocast.

A device is named ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
Results must not depend on it: random draws (shuffling, initialisation, random masks) come from CPU
generators, and whatever is kept (rewind points, caches, mask snapshots) is stored on the CPU and moved
to the model's device when used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from sparsewire.errors import ConfigError

#: What a ``device`` option accepts (configs validate against it).
DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?|mps)$"
PRECISIONS = ("fp32", "bf16")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``device`` as a :class:`torch.device` (``None``/``"auto"``: CUDA when present, else CPU).

    A device that is not present (``cuda`` without CUDA, ``cuda:3`` on a one-GPU machine, ``mps``
    off Apple silicon) is a :class:`~sparsewire.errors.ConfigError`, not a crash in the middle of a run.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from err
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for, but CUDA is not available here (use auto or cpu)")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif resolved.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError(f"device {device!r} asked for, but MPS is not available here (use auto or cpu)")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unsupported device {device!r}; use auto, cpu, cuda, cuda:N or mps")
    return resolved


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (or buffer); CPU for a model without either."""
    for tensor in model.parameters():
        return tensor.device
    for buffer in model.buffers():
        return buffer.device
    return torch.device("cpu")


def to_device(batch: Any, device: torch.device | str, non_blocking: bool = False) -> Any:
    """``batch`` with every tensor moved to ``device``: tensors, tuples/lists and mappings (a dict, a
    Hugging Face ``BatchEncoding``) are walked recursively; anything else is returned as it is."""
    if isinstance(batch, torch.Tensor):
        return batch if batch.device == torch.device(device) else batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def to_cpu(value: Any) -> Any:
    """``value`` with every tensor copied to the CPU (containers recursed; a state dict's ``_metadata`` kept)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        out = type(value)((k, to_cpu(v)) for k, v in value.items())
        if hasattr(value, "_metadata"):
            out._metadata = value._metadata  # type: ignore[attr-defined]
        return out
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return type(value)(to_cpu(v) for v in value)
    return value


def autocast(device: torch.device, precision: str = "fp32") -> contextlib.AbstractContextManager:
    """Mixed precision for the forward pass: ``bf16`` autocasts to bfloat16 on ``device`` (meant for GPUs;
    weights, gradients and optimizer state stay fp32), ``fp32`` does nothing."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "bf16":
        raise ConfigError(f"unknown precision {precision!r}; use one of {PRECISIONS}")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
