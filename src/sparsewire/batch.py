"""Any batch, any loss: how sparsewire reads a batch a DataLoader yields and turns it into a loss.

**Batches.** What a ``DataLoader`` (or a list) yields, read by :func:`split_batch`:

* a tuple or list ``(x1, ..., xk, target)``: the model is called as ``model(x1, ..., xk)``, the last item
  is the target (sparsewire's own convention, and what ``TensorDataset(x, y)`` yields); a tuple of one
  ``(x,)`` has no target;
* a mapping (a ``dict``, a Hugging Face ``BatchEncoding``): the model is called as ``model(**inputs)``
  with every key but the target, which is the first of :data:`TARGET_KEYS` present (``labels``, ``label``,
  ``target``, ``targets``, ``y``), if any;
* a tensor: ``model(x)``, no target.

Every tensor is moved to the model's device first (:func:`sparsewire.devices.to_device`).

**Outputs.** :func:`logits` reads a model's output: a tensor as it is, else its ``logits`` attribute or
key (Hugging Face ``ModelOutput``), else the first item of a tuple or list.

**Losses.** A loss is one of two kinds of callable:

* ``loss_fn(output, target) -> loss`` (default: ``F.cross_entropy``): called with the logits of the model's
  output on the batch's inputs and the batch's target; the batch must carry a target;
* ``loss_fn(model, batch) -> loss`` marked with :func:`model_loss` (a decorator): called with the model and
  the whole batch (already on the model's device); for anything else, e.g. a language-model loss, a loss
  the model computes itself (``model_loss(lambda m, b: m(**b).loss)``) or a batch without a target.

The mark, not the signature, decides: both kinds take two arguments, and guessing would be fragile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.devices import model_device, to_device

#: Keys of a mapping batch taken as its target (the first present wins); the others are model inputs.
TARGET_KEYS = ("labels", "label", "target", "targets", "y")

OutputLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ModelLoss:
    """A ``(model, batch) -> loss`` callable (see :func:`model_loss`)."""

    def __init__(self, fn: Callable[[nn.Module, Any], torch.Tensor]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, model: nn.Module, batch: Any) -> torch.Tensor:
        return self.fn(model, batch)

    def __repr__(self) -> str:
        return f"model_loss({self.__name__})"


def model_loss(fn: Callable[[nn.Module, Any], torch.Tensor]) -> ModelLoss:
    """Mark ``fn(model, batch) -> loss`` as a loss that runs the model itself (usable as a decorator)."""
    return fn if isinstance(fn, ModelLoss) else ModelLoss(fn)


def split_batch(batch: Any) -> tuple[tuple[Any, ...], dict[str, Any], Any]:
    """``(args, kwargs, target)`` of a batch: the model is called as ``model(*args, **kwargs)``; ``target``
    is ``None`` when the batch carries none (see the module docstring for the rule)."""
    if isinstance(batch, torch.Tensor):
        return (batch,), {}, None
    if isinstance(batch, Mapping):
        key = next((k for k in TARGET_KEYS if k in batch), None)
        return (), {k: v for k, v in batch.items() if k != key}, None if key is None else batch[key]
    if isinstance(batch, list | tuple):
        if not batch:
            raise ValueError("an empty batch")
        if len(batch) == 1:
            return (batch[0],), {}, None
        return tuple(batch[:-1]), {}, batch[-1]
    raise TypeError(f"a batch must be a tensor, a tuple/list or a mapping of tensors, not {type(batch).__name__}")


def logits(output: Any) -> torch.Tensor:
    """The prediction tensor of a model's output (a tensor, ``output.logits``, ``output["logits"]`` or ``output[0]``)."""
    if isinstance(output, torch.Tensor):
        return output
    found = getattr(output, "logits", None)
    if isinstance(found, torch.Tensor):
        return found
    if isinstance(output, Mapping) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    if isinstance(output, list | tuple) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TypeError(f"cannot find the logits in a model output of type {type(output).__name__}; "
                    "pass loss_fn=model_loss(...) to compute the loss yourself")


def forward(model: nn.Module, batch: Any) -> Any:
    """``model`` called on ``batch``'s inputs (moved to the model's device); its raw output."""
    args, kwargs, _ = split_batch(to_device(batch, model_device(model)))
    return model(*args, **kwargs)


def batch_loss(model: nn.Module, batch: Any, loss_fn: OutputLoss | ModelLoss = F.cross_entropy) -> torch.Tensor:
    """The loss of ``model`` on ``batch`` (moved to the model's device) with either kind of ``loss_fn``."""
    batch = to_device(batch, model_device(model))
    if isinstance(loss_fn, ModelLoss):
        return loss_fn(model, batch)
    args, kwargs, target = split_batch(batch)
    if target is None:
        raise ValueError("this batch has no target (a tuple's last item, or a mapping's "
                         f"{'/'.join(TARGET_KEYS)}); pass loss_fn=model_loss(fn) with fn(model, batch) -> loss")
    return loss_fn(logits(model(*args, **kwargs)), target)


def batch_size(batch: Any) -> int:
    """Examples in ``batch``: the length of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return len(batch)
    items = batch.values() if isinstance(batch, Mapping) else batch
    for item in items:
        if isinstance(item, torch.Tensor):
            return len(item)
        if isinstance(item, list | tuple | Mapping):
            return batch_size(item)
    raise TypeError("cannot tell the size of a batch without tensors")
