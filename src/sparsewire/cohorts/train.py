"""Train a cohort: every member as :func:`sparsewire.training.train` would train it alone, all at once.

Per member, exactly as alone: its own weights, masks (re-applied after every step), optimizer state,
learning rate and schedule (plateau, cosine), gradient clipping by its own norm, early stopping with its
own best weights restored, divergence detection. Shared by construction: **all members see the same
batches in the same order** (shuffled by a generator seeded with ``seed``); a member's result therefore
equals training it alone with ``train(member, data, config, seed=seed)``, and studies record
``batch_order = "shared"`` and the seed in every row. A member that stops (early stopping, learning-rate
floor, divergence) leaves the cohort at once, so it costs no more compute, and is yielded at once, so its
row can be stored before the others end (resume stays per network).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.cohorts.base import Cohort, member_losses
from sparsewire.cohorts.optim import CohortOptimizer, clip_member_grads
from sparsewire.progress import progress as tqdm
from sparsewire.training.config import TrainConfig
from sparsewire.training.loop import LossFn, Tensors, TrainResult, batches


@dataclass
class MemberResult(TrainResult):
    """A member's :class:`~sparsewire.training.loop.TrainResult`; ``seconds`` is its share of the cohort's
    wall time (each batch's time divided among the members that trained on it), ``diverged_epoch`` is set
    when ``stopped == "diverged"``."""

    diverged_epoch: int | None = None
    diverged_reason: str = ""


class _Schedule:
    """One member's learning rate, early stopping and best weights, following ``train()`` step by step."""

    def __init__(self, config: TrainConfig) -> None:
        self.config, self.lr = config, config.lr
        self.best_acc, self.since_best, self.last_acc = -math.inf, 0, -math.inf
        self.best_state: dict[str, torch.Tensor] | None = None

    def after_epoch(self, epoch: int, acc: float | None, state: Callable[[], dict[str, torch.Tensor]]) -> str | None:
        """Update after ``epoch`` with validation accuracy ``acc`` (None: no validation); a stop reason or None."""
        config = self.config
        if config.schedule == "cosine":
            self.lr = config.lr * (1 + math.cos(math.pi * epoch / max(config.epochs, 1))) / 2
        if acc is None:
            return None
        if acc > self.best_acc:
            self.best_acc, self.since_best = acc, 0
            if config.restore_best:
                self.best_state = state()
        else:
            self.since_best += 1
        if config.patience is not None and self.since_best >= config.patience:
            return "early-stopping"
        if config.schedule == "plateau":
            if acc - self.last_acc < config.plateau_threshold:
                self.lr *= config.lr_factor
                if self.lr < config.min_lr:
                    return "lr-floor"
            self.last_acc = max(self.last_acc, acc)
        return None


@torch.no_grad()
def evaluate_cohort(cohort: Cohort, data: Tensors, batch_size: int = 512,
                    loss_fn: LossFn = F.cross_entropy) -> list[dict[str, float]]:
    """Accuracy and mean loss of every member on ``data`` (as :func:`~sparsewire.training.evaluate` per member)."""
    if len(data[0]) == 0:
        return [{"accuracy": math.nan, "loss": math.nan} for _ in range(len(cohort))]
    was_training = cohort.training
    cohort.eval()
    correct = torch.zeros(len(cohort), dtype=torch.float64)
    loss = torch.zeros(len(cohort), dtype=torch.float64)
    n = 0
    device = next(cohort.parameters()).device
    for *inputs, target in batches(data, batch_size):
        inputs, target = [t.to(device) for t in inputs], target.to(device)
        out = cohort(*inputs)
        loss += member_losses(out, target, loss_fn).double().cpu() * len(target)
        correct += (out.argmax(-1) == target.unsqueeze(0)).sum(1).double().cpu()
        n += len(target)
    cohort.train(was_training)
    return [{"accuracy": float(c / n), "loss": float(s / n)} for c, s in zip(correct, loss, strict=True)]


def iter_train_cohort(
    members: Sequence[nn.Module],
    train_data: Tensors,
    config: TrainConfig,
    *,
    build: Callable[[Sequence[nn.Module]], Cohort],
    val_data: Tensors | None = None,
    seed: int = 0,
    loss_fn: LossFn = F.cross_entropy,
    progress: bool = True,
    desc: str = "cohort",
    eval_batch_size: int = 512,
) -> Iterator[tuple[int, nn.Module, MemberResult]]:
    """Train ``members`` together (see the module docstring), yielding ``(index, model, result)`` the moment
    member ``index`` is done; it then holds its final (or, with validation and ``restore_best``, best) weights.

    ``build(models)`` makes the cohort module (e.g. :class:`~sparsewire.cohorts.RecurrentCohort`); it runs
    on the members' device (move them first, e.g. ``model.to("cuda")``), and batches follow it there.
    """
    members = list(members)
    results = [MemberResult() for _ in members]
    schedules = [_Schedule(config) for _ in members]
    live = list(range(len(members)))  # indices of the members still in the cohort, in cohort order
    cohort = build(members)
    cohort.apply_masks()
    optimizer = CohortOptimizer(cohort, config)
    generator = torch.Generator().manual_seed(seed)
    val_set = val_data if val_data is not None and len(val_data[0]) > 0 else None
    have_val = val_set is not None
    ready: list[tuple[int, nn.Module, MemberResult]] = []

    def finish(done: list[tuple[int, str]]) -> None:
        """Take the members ``done`` out of the cohort (compacting it), restore their best weights, report them."""
        nonlocal cohort, optimizer, live
        cohort.write_back()
        gone = {index for index, _ in done}
        keep = [pos for pos, index in enumerate(live) if index not in gone]
        if keep and len(keep) < len(live):
            new = cohort.subset(keep)
            optimizer = optimizer.subset(new, keep)
            cohort = new
        live = [live[pos] for pos in keep]
        for index, reason in done:
            result, schedule = results[index], schedules[index]
            result.stopped = reason
            if reason != "diverged" and schedule.best_state is not None:
                with torch.no_grad():
                    for name, param in members[index].named_parameters():
                        param.copy_(schedule.best_state[name])
            result.best_val_accuracy = schedule.best_acc if have_val else math.nan
            ready.append((index, members[index], result))

    bar = tqdm(range(1, config.epochs + 1), desc=desc, disable=not progress, leave=False, unit="epoch")
    cohort.train()
    for epoch in bar:
        totals = torch.zeros(len(live), dtype=torch.float64)
        n = 0
        diverged: dict[int, str] = {}
        for step, (*inputs, target) in enumerate(batches(train_data, config.batch_size, generator), 1):
            tick = time.perf_counter()
            device = next(cohort.parameters()).device
            inputs, target = [t.to(device) for t in inputs], target.to(device)
            optimizer.zero_grad()
            losses = member_losses(cohort(*inputs), target, loss_fn)
            losses.sum().backward()
            if config.grad_clip is not None:
                clip_member_grads(cohort, config.grad_clip)
            optimizer.step()
            cohort.apply_masks()
            values = losses.detach().double().cpu()
            for pos in torch.nonzero(~torch.isfinite(values)).flatten().tolist():
                diverged.setdefault(live[pos], f"loss is {values[pos].item()} at step {step}")
            totals += values * len(target)
            n += len(target)
            share = (time.perf_counter() - tick) / len(live)
            for index in live:
                results[index].seconds += share
            if diverged:
                for index, why in diverged.items():
                    results[index].epochs, results[index].diverged_epoch, results[index].diverged_reason = epoch, epoch, why
                before = list(live)
                finish([(index, "diverged") for index in diverged])
                yield from ready
                ready.clear()
                totals = totals[[pos for pos, index in enumerate(before) if index not in diverged]]
                diverged = {}
                if not live:
                    break
        if not live:
            break
        tick = time.perf_counter()
        val = evaluate_cohort(cohort, val_set, eval_batch_size, loss_fn) if val_set is not None else None
        for pos, _ in enumerate(live):
            results[live[pos]].seconds += (time.perf_counter() - tick) / len(live)
        stops: list[tuple[int, str]] = []
        state = None
        for pos, index in enumerate(live):
            row = {"epoch": epoch, "train_loss": float(totals[pos]) / max(n, 1), "lr": schedules[index].lr}
            if val is not None:
                row.update({f"val_{k}": v for k, v in val[pos].items()})
            results[index].history.append(row)
            results[index].epochs = epoch

            def member_state(pos: int = pos) -> dict[str, torch.Tensor]:
                nonlocal state
                if state is None:
                    cohort.write_back()
                    state = True
                return {k: v.detach().clone() for k, v in members[live[pos]].named_parameters()}

            reason = schedules[index].after_epoch(epoch, row.get("val_accuracy"), member_state)
            if reason is not None:
                stops.append((index, reason))
        optimizer.lr = torch.tensor([schedules[index].lr for index in live], dtype=torch.float64, device=optimizer.lr.device)
        bar.set_postfix({"networks": len(live)})
        if stops:
            finish(stops)
            yield from ready
            ready.clear()
            if not live:
                break
    bar.close()
    if live:
        finish([(index, "epochs") for index in live])
        yield from ready


def train_cohort(members: Sequence[nn.Module], train_data: Tensors, config: TrainConfig, *,
                 build: Callable[[Sequence[nn.Module]], Cohort], **options) -> list[MemberResult]:
    """:func:`iter_train_cohort` run to the end; one result per member, in order."""
    results: list[MemberResult | None] = [None] * len(members)
    for index, _, result in iter_train_cohort(members, train_data, config, build=build, **options):
        results[index] = result
    return results  # type: ignore[return-value]
