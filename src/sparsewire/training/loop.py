"""A small, deterministic training loop that keeps masks enforced after every optimizer step."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.devices import autocast, model_device, resolve_device, to_device
from sparsewire.errors import TrainingDiverged
from sparsewire.masks import Masks
from sparsewire.progress import progress as tqdm
from sparsewire.training.config import TrainConfig

Tensors = Sequence[torch.Tensor]
"""A dataset as aligned tensors; the last one is the target, the others are the model's inputs."""

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def batches(data: Tensors, batch_size: int, generator: torch.Generator | None = None) -> list[list[torch.Tensor]]:
    """Split aligned tensors into mini-batches, shuffled by ``generator`` (in order if ``None``)."""
    n = len(data[0])
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return [[t[idx] for t in data] for idx in order.split(batch_size)]


@torch.no_grad()
def evaluate(model: nn.Module, data: Tensors, batch_size: int = 2048, loss_fn: LossFn = F.cross_entropy, *,
             device: str | torch.device | None = None, precision: str = "fp32") -> dict[str, float]:
    """Accuracy and mean loss of ``model`` on ``data`` (classification: argmax of the last dim).

    ``device`` moves the model there first (``None``: it stays where it is); each batch is moved to the
    model's device. ``precision="bf16"`` autocasts the forward pass (see :class:`TrainConfig`).
    """
    if len(data[0]) == 0:
        return {"accuracy": math.nan, "loss": math.nan}
    if device is not None:
        model.to(resolve_device(device))
    where = model_device(model)
    was_training = model.training
    model.eval()
    correct, loss, n = 0, 0.0, 0
    for *inputs, target in batches(data, batch_size):
        inputs, target = to_device(inputs, where), to_device(target, where)
        with autocast(where, precision):
            out = model(*inputs)
        if precision != "fp32":
            out = out.float()
        loss += float(loss_fn(out, target)) * len(target)
        correct += int((out.argmax(-1) == target).sum())
        n += len(target)
    model.train(was_training)
    return {"accuracy": correct / n, "loss": loss / n}


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def check_finite(model: nn.Module, epoch: int) -> None:
    """Raise :class:`~sparsewire.errors.TrainingDiverged` if any parameter of ``model`` is NaN or infinite."""
    named = list(model.named_parameters())
    flags = [torch.isfinite(p).all() for _, p in named]
    try:
        finite = bool(torch.stack(flags).all()) if flags else True  # one device sync for the whole model
    except RuntimeError:  # parameters on several devices
        finite = all(bool(f) for f in flags)
    if not finite:
        name = next(n for (n, _), f in zip(named, flags, strict=True) if not bool(f))
        raise TrainingDiverged(epoch, f"parameter {name} is not finite")


@dataclass
class TrainState:
    """Where a training stopped by ``max_steps`` inside its first epoch stands: the optimizer steps taken, the
    optimizer's state, the epoch's loss so far and the wall time. ``train(..., resume=state)`` on the same
    model finishes it exactly as the uninterrupted run would have (same batches, same updates)."""

    steps: int
    optimizer: dict[str, Any]
    loss_sum: float
    examples: int
    seconds: float


@dataclass
class TrainResult:
    """What a training run did: per-epoch history, the epoch count and the wall time; ``state`` (a
    :class:`TrainState`) when ``max_steps`` stopped it inside its first epoch, None otherwise."""

    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    best_val_accuracy: float = math.nan
    stopped: str = "epochs"
    steps: int = 0
    state: TrainState | None = None


def train(
    model: nn.Module,
    train_data: Tensors,
    config: TrainConfig,
    *,
    val_data: Tensors | None = None,
    seed: int = 0,
    masks: Masks | None = None,
    loss_fn: LossFn = F.cross_entropy,
    progress: bool = True,
    desc: str = "train",
    on_epoch: Callable[[int, nn.Module], None] | None = None,
    post_step: Callable[[torch.optim.Optimizer], None] | None = None,
    device: str | torch.device | None = None,
    max_steps: int | None = None,
    resume: TrainState | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_data`` with ``config``; masks (if any) stay enforced after every step.

    Shuffling draws from a generator seeded with ``seed``, so the same call gives the same weights.
    ``on_epoch(epoch, model)`` is called after each epoch (epoch 1 first), e.g. to save a rewind point.
    ``post_step(optimizer)`` is called after every optimizer step (after the masks are re-applied), e.g. for
    the proximal step of a penalty (it reads the current learning rate from ``optimizer.param_groups``).
    ``max_steps`` stops training after that many optimizer steps (``stopped == "max-steps"``; the epoch it stops
    in adds no history row): the prefix of the same run, batch for batch. Stopped inside the first epoch, the
    result carries a :class:`TrainState`; ``resume=`` that state (same model, data, config and ``seed``, with
    no other change to the model in between) continues the run to its end, identical to never stopping.

    A non-finite loss (checked every step, at no cost) or weight (checked after every epoch) raises
    :class:`~sparsewire.errors.TrainingDiverged` carrying the epoch: a diverged network is not a result.

    ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) moves the model (and its masks, which are
    buffers) there first; ``None`` leaves it where it is. Every batch is moved to the model's device, while
    shuffling stays on a CPU generator, so the batches are the same on every device. ``config.precision``
    ``bf16`` autocasts the forward pass.
    """
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be at least 1 (got {max_steps})")
    if device is not None:
        model.to(resolve_device(device))
    where = model_device(model)
    if masks is None and Masks.is_masked(model):
        masks = Masks.of(model)
    optimizer = make_optimizer(model, config)
    handle = masks.bind(optimizer) if masks is not None else None
    if masks is not None:
        masks.apply()
    if resume is not None:
        first_epoch = math.ceil(len(train_data[0]) / config.batch_size)
        if not 1 <= resume.steps <= first_epoch:
            raise ValueError(f"can resume only inside the first epoch ({first_epoch} steps), not after "
                             f"{resume.steps} steps")
        if max_steps is not None and max_steps <= resume.steps:
            raise ValueError(f"max_steps ({max_steps}) must exceed the resumed run's {resume.steps} steps")
        optimizer.load_state_dict(resume.optimizer)
    generator = torch.Generator().manual_seed(seed)
    cosine = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
        if config.schedule == "cosine"
        else None
    )
    result = TrainResult()
    val = val_data if val_data is not None and len(val_data[0]) > 0 else None
    have_val = val is not None
    best_acc, best_state, since_best, last_acc = -math.inf, None, 0, -math.inf
    lr = config.lr
    start = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc=desc, disable=not progress, leave=False, unit="epoch")
    model.train()
    try:
        for epoch in bar:
            total, n, skip = 0.0, 0, 0
            if resume is not None and epoch == 1:
                total, n, skip, result.steps = resume.loss_sum, resume.examples, resume.steps, resume.steps
            epoch_batches = batches(train_data, config.batch_size, generator)
            for step, (*inputs, target) in enumerate(epoch_batches[skip:], skip + 1):
                inputs, target = to_device(inputs, where, non_blocking=True), to_device(target, where, non_blocking=True)
                optimizer.zero_grad(set_to_none=True)
                with autocast(where, config.precision):
                    out = model(*inputs)
                loss = loss_fn(out.float() if config.precision != "fp32" else out, target)
                loss.backward()
                if config.grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                if post_step is not None:
                    post_step(optimizer)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainingDiverged(epoch, f"loss is {value}", step=step)
                total += value * len(target)
                n += len(target)
                result.steps += 1
                if max_steps is not None and result.steps >= max_steps:
                    result.stopped = "max-steps"
                    if epoch == 1:
                        result.state = TrainState(result.steps, copy.deepcopy(optimizer.state_dict()), total, n,
                                                  time.perf_counter() - start + (resume.seconds if resume else 0.0))
                    break
            check_finite(model, epoch)
            if result.stopped == "max-steps":
                break
            row = {"epoch": epoch, "train_loss": total / max(n, 1), "lr": lr}
            if val is not None:
                row.update({f"val_{k}": v for k, v in evaluate(model, val, loss_fn=loss_fn,
                                                                             precision=config.precision).items()})
            result.history.append(row)
            result.epochs = epoch
            if on_epoch is not None:
                on_epoch(epoch, model)
            bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k != "epoch"})
            if cosine is not None:
                cosine.step()
                lr = float(cosine.get_last_lr()[0])
            if not have_val:
                continue
            acc = row["val_accuracy"]
            if acc > best_acc:
                best_acc, since_best = acc, 0
                if config.restore_best:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                since_best += 1
            if config.patience is not None and since_best >= config.patience:
                result.stopped = "early-stopping"
                break
            if config.schedule == "plateau":
                if acc - last_acc < config.plateau_threshold:
                    lr *= config.lr_factor
                    if lr < config.min_lr:
                        result.stopped = "lr-floor"
                        break
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                last_acc = max(last_acc, acc)
    finally:
        bar.close()
        if handle is not None:
            handle.remove()
    if best_state is not None:
        model.load_state_dict(best_state)
    result.best_val_accuracy = best_acc if have_val else math.nan
    result.seconds = time.perf_counter() - start + (resume.seconds if resume is not None else 0.0)
    return result
