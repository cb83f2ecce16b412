"""``study: dynamic-sparsity`` — how early dynamic sparse training settles its structure, and freezing it.

Van Gelder, Wortsman & Ehsani (2020), "Deconstructing the Structure of Sparse Neural Networks": the mask
a dynamic sparse algorithm (here SET, Mocanu et al. 2018; RigL, Evci et al. 2020; SNFS, Dettmers &
Zettlemoyer 2019; DNW, Wortsman et al. 2019) ends with is largely found within the first epoch, so the mask
can be frozen after about one epoch at little cost, and training is purely sparse after it.
A trial trains one network from a random sparse mask (density, ``uniform`` or ``erk`` allocation) with
one algorithm and freezes its mask after ``freeze_epoch`` epochs (``None``: never; ``0``: never
updated, a static random sparse network, run once per density and seed as algorithm ``static``).
Trials of one seed share the initial weights and mask, so a frozen run follows its never-frozen run
exactly up to the freeze. Each row records the global Jaccard overlap of every epoch's mask (epoch 0 =
the initial mask) with the final one and the overlap expected by chance
(:func:`sparsewire.graphs.compare.compare_masks`), and what the algorithm's dense gradients cost: the steps
at which it read one, those freezing saved against the never-frozen run, and the training FLOPs
(:mod:`sparsewire.dynamic.cost`). ``update_every`` and ``drop_fraction`` are shared by all algorithms;
SNFS updates at the end of each epoch (its paper's cadence) and DNW after every step, whatever
``update_every`` says. DNW starts from the top-k ``|w|`` of the seed's dense initialisation (its latent
weights) rather than from the random mask the other algorithms share.

Two pruning algorithms find their mask instead (:data:`MASK_FINDERS`; same initial weights, recipe and batch
order; layer densities by ``distribution``): ``snip`` chooses it at initialisation by connection sensitivity
``|g·w|`` on ``snip_batches`` training batches (:mod:`sparsewire.pruning.snip`) and trains it once — its mask
never changes, so it runs once per density and seed, never frozen; ``imp`` is iterative magnitude pruning with
rewinding to initialisation over ``imp_rounds`` rounds (:func:`sparsewire.pruning.lottery.find_ticket`).
IMP's "mask after epoch k" is the early-bird mask: the one-shot magnitude mask, at the final density, of the
dense first-round network after k epochs; its overlaps with the final ticket are the emergence curve, and
"frozen after epoch k" trains that early-bird ticket once after k dense epochs
(:func:`~sparsewire.pruning.lottery.early_bird_ticket`), its FLOPs saved counted against full IMP. Their
trials carry no ``update_every``, ``drop_fraction`` or ``drop_schedule`` (none of them changes what they compute).

Networks with batch norm (ResNet-20) have their running statistics re-estimated for the final mask before they
are tested (``recalibrate_norms``, on by default; :func:`sparsewire.training.recalibrate_norms`): statistics
averaged over the last steps mix the structures those steps had, which under DNW's every-step mask changes cost a
narrow ResNet-20 14 points of test accuracy. The per-epoch validation accuracies in the history are measured
during training, without recalibration. Further pruning removes weights without re-training and without
recalibrating.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pandas as pd
import torch
from pydantic import ConfigDict, Field, field_validator, model_validator
from torch import nn

from sparsewire.dynamic import (
    ALGORITHMS,
    STATIC,
    DynamicSparsity,
    Phase,
    TrainingCost,
    check_density,
    check_drop_fraction,
    phases_cost,
    steps_per_epoch,
    train_sparse,
    training_cost,
    weight_uses,
)
from sparsewire.graphs.compare import compare_masks
from sparsewire.masks import Masks
from sparsewire.pruning.lottery import Ticket, early_bird_ticket, find_ticket, round_counts
from sparsewire.pruning.snip import snip
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import dynamic_sparsity as reports
from sparsewire.results.reports.dynamic_sparsity import NEVER
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import (
    DatasetConfig,
    DeviceOption,
    FurtherPruningOptions,
    ModelConfig,
    build,
    further_pruning_columns,
    keeps_running_norms,
    load_splits,
)
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, TrainResult, batches, evaluate, recalibrate_norms, train

if TYPE_CHECKING:
    from sparsewire.studies.common import StudySplits

MASK_FINDERS = ("imp", "snip")
"""Pruning algorithms that find the mask outside the training loop (see the module doc)."""


class DynamicSparsityConfig(FurtherPruningOptions, DeviceOption):
    """Config of ``study: dynamic-sparsity`` (unknown keys are errors).

    Restoring the best validation epoch (``train.restore_best``) is switched off: it would also restore
    that epoch's mask.
    """

    model_config = ConfigDict(extra="forbid")

    study: Literal["dynamic-sparsity"] = "dynamic-sparsity"
    name: str = "dynamic-sparsity"
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    models: list[ModelConfig] = Field(default_factory=lambda: [ModelConfig()], min_length=1)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=10, restore_best=False))
    algorithms: list[str] = Field(default_factory=lambda: ["set", "rigl"], min_length=1)
    densities: list[float] = Field(default_factory=lambda: [0.1], min_length=1)
    distribution: Literal["uniform", "erk"] = "uniform"
    freeze_epochs: list[int | None] = Field(default_factory=lambda: [None, 1, 2, 5], min_length=1)
    update_every: int = Field(100, ge=1, le=100_000_000, description="optimizer steps between mask updates")
    drop_fraction: float = Field(0.3, description="initial fraction of kept weights replaced per update")
    drop_schedule: Literal["cosine", "constant"] = "cosine"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    reinit_seeds: list[int] = Field(default_factory=list, description=(
        "re-initialisations (Van Gelder et al. 2020): after training, the final mask is trained again with the "
        "same recipe from fresh random weights, once per seed listed; empty (default): not run"))
    imp_rounds: int = Field(4, ge=1, le=100, description=(
        "rounds of algorithm imp, each keeping density^(1/imp_rounds) of the remaining weights, each a full "
        "training from the rewound initial weights (imp_rounds + 1 trainings with the dense one)"))
    snip_batches: int = Field(8, ge=1, le=100_000, description=(
        "training batches (of train.batch_size) whose summed gradient scores the weights for algorithm snip"))
    recalibrate_norms: bool = Field(True, description=(
        "after training, re-estimate batch-norm running statistics with one pass over the training split for "
        "the final mask (sparsewire.training.recalibrate_norms) before testing; only networks with batch norm "
        "are affected, and only their trial ids carry it"))

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in ALGORITHMS and name not in MASK_FINDERS:
                raise ValueError(f"unknown algorithm {name!r}; choose from {sorted([*ALGORITHMS, *MASK_FINDERS])}")
        return names

    @field_validator("densities")
    @classmethod
    def _densities(cls, values: list[float]) -> list[float]:
        return [check_density(v) for v in values]

    @field_validator("drop_fraction")
    @classmethod
    def _drop_fraction(cls, value: float) -> float:
        return check_drop_fraction(value)

    @field_validator("freeze_epochs", mode="before")
    @classmethod
    def _never(cls, values: Any) -> Any:
        if isinstance(values, list):
            return [None if isinstance(v, str) and v.lower() in ("none", NEVER) else v for v in values]
        return values

    @model_validator(mode="after")
    def _consistent(self) -> DynamicSparsityConfig:
        if "restore_best" in self.train.model_fields_set and self.train.restore_best:
            raise ValueError("train.restore_best must be false: restoring the best epoch would restore its mask too")
        self.train = self.train.model_copy(update={"restore_best": False})
        for f in self.freeze_epochs:
            if f is not None and not 0 <= f < self.train.epochs:
                raise ValueError(f"freeze epoch {f} must be in [0, train.epochs={self.train.epochs}) "
                                 "(use none for never freezing)")
        return self


class DynamicSparsityTrial(TrialConfig):
    """One trial of ``study: dynamic-sparsity``: a model trained from a random mask of ``density`` by
    ``algorithm`` (or ``static``), its mask frozen after ``freeze_epoch`` epochs (``None``: never); or the
    mask found by ``imp`` (``imp_rounds`` rounds; frozen: its early-bird ticket) or ``snip`` (``snip_batches``),
    which have no drop-and-grow settings (``None``)."""

    dataset: DatasetConfig
    dataset_identity: dict[str, Any]
    train: TrainConfig
    distribution: Literal["uniform", "erk"]
    update_every: int | None
    drop_fraction: float | None
    drop_schedule: Literal["cosine", "constant"] | None
    further_pruning: Recorded[list[float]] = []
    further_pruning_method: Recorded[str | None] = None
    further_pruning_recalibrate: Recorded[bool] = False
    reinit_seeds: Recorded[list[int]] = []
    model: ModelConfig
    density: float
    seed: int
    algorithm: str
    freeze_epoch: int | None
    imp_rounds: Recorded[int | None] = None
    snip_batches: Recorded[int | None] = None
    recalibrate_norms: Recorded[bool] = False


@register
class DynamicSparsityStudy(StudyType[DynamicSparsityConfig, DynamicSparsityTrial]):
    name = "dynamic-sparsity"
    Config = DynamicSparsityConfig
    TrialConfig = DynamicSparsityTrial

    def check(self, config: DynamicSparsityConfig) -> None:
        splits = load_splits(config.dataset)
        for model_cfg in config.models:
            Masks(build(model_cfg, splits))
        config.warn_stale_norms(config.models)

    def trials(self, config: DynamicSparsityConfig) -> list[DynamicSparsityTrial]:
        shared = {"dataset": config.dataset, "dataset_identity": config.dataset.identity(), "train": config.train,
                  "distribution": config.distribution, "update_every": config.update_every,
                  "drop_fraction": config.drop_fraction, "drop_schedule": config.drop_schedule,
                  **config.trial_options(), "reinit_seeds": config.reinit_seeds}
        out = []
        for model in config.models:
            norms = {"recalibrate_norms": config.recalibrate_norms and keeps_running_norms(model)}
            for density in config.densities:
                for seed in config.seeds:
                    base = {**shared, "model": model, "density": density, "seed": seed, **norms}
                    if 0 in config.freeze_epochs:
                        out.append(DynamicSparsityTrial(**base, algorithm=STATIC, freeze_epoch=0))
                    for algorithm in config.algorithms:
                        if algorithm in MASK_FINDERS:
                            out += _finder_trials(config, base, algorithm)
                            continue
                        for freeze in config.freeze_epochs:
                            if freeze != 0:
                                out.append(DynamicSparsityTrial(**base, algorithm=algorithm, freeze_epoch=freeze))
        return out

    def model_for(self, trial: DynamicSparsityTrial, result: Mapping[str, Any] | None = None) -> nn.Module:
        return build(trial.model, load_splits(trial.dataset))

    def run_trial(self, trial: DynamicSparsityTrial, context: TrialContext) -> dict[str, Any]:
        start = time.perf_counter()
        splits = load_splits(trial.dataset)
        trainer = {"imp": _imp, "snip": _snip}.get(trial.algorithm, _dynamic)
        run = trainer(trial, splits, progress=context.progress, device=context.torch_device())
        if trial.recalibrate_norms:
            recalibrate_norms(run.model, splits.train, trial.train.batch_size)
        final = run.masks.state()
        context.keep_model(run.model)
        overlaps = [compare_masks(m, final)["global"] for m in run.epoch_masks]
        jaccard = [o["jaccard"] for o in overlaps]
        return {
            "dataset": trial.dataset.name,
            "model": trial.model.name,
            "algorithm": trial.algorithm,
            "distribution": trial.distribution,
            "density": trial.density,
            "freeze_epoch": trial.freeze_epoch,
            "seed": trial.seed,
            "test_accuracy": evaluate(run.model, splits.test)["accuracy"],
            "val_accuracy": evaluate(run.model, splits.val)["accuracy"],
            "epochs": run.epochs,
            "density_actual": run.masks.density(),
            "layer_density": run.masks.densities(),
            "mask_updates": run.mask_updates,
            "replaced_per_epoch": run.replaced,
            "jaccard_to_final": jaccard,
            "chance_jaccard_to_final": [o["expected_jaccard"] for o in overlaps],
            "corrected_jaccard_to_final": [o["chance_corrected"] for o in overlaps],
            "jaccard_epoch1_to_final": jaccard[1] if len(jaccard) > 1 else math.nan,
            **cost_columns(run.cost),
            **run.extra,
            **reinit_columns(trial, splits, final, device=context.torch_device()),
            **further_pruning_columns(run.model, splits.test, trial, splits.train),
            "train_seconds": run.seconds,
            "trial_seconds": time.perf_counter() - start,
            "history": mask_history(run.history, run.replaced, jaccard, run.history_density, **run.history_tags)
            + run.later_history,
        }

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)


def _finder_trials(config: DynamicSparsityConfig, base: dict[str, Any], algorithm: str) -> list[DynamicSparsityTrial]:
    """The trials of a mask finder: ``snip`` once, never frozen; ``imp`` never frozen and as the early-bird
    ticket of every freeze epoch > 0. Without drop-and-grow settings, with the finder's own."""
    own = {**base, "update_every": None, "drop_fraction": None, "drop_schedule": None, "algorithm": algorithm}
    if algorithm == "snip":
        return [DynamicSparsityTrial(**own, freeze_epoch=None, snip_batches=config.snip_batches)]
    return [DynamicSparsityTrial(**own, freeze_epoch=freeze, imp_rounds=config.imp_rounds)
            for freeze in config.freeze_epochs if freeze != 0]


class SparseTraining(NamedTuple):
    """What one trial trained, whatever the algorithm.

    ``epoch_masks[e]`` is the mask after epoch ``e`` (0: before training) of the training that ``history``
    records (for IMP the dense one, whose masks are the early-bird masks), ``replaced[e - 1]`` the connections
    that joined it in epoch ``e``; ``epochs`` and ``seconds`` are the final training's epochs and the time of
    all trainings; ``later_history`` holds the tagged epochs of the trainings after the first (IMP's rounds);
    ``extra`` the algorithm's own row columns.
    """

    model: nn.Module
    masks: Masks
    epoch_masks: list[dict[str, torch.Tensor]]
    replaced: list[int]
    mask_updates: int
    cost: TrainingCost
    epochs: int
    seconds: float
    history: list[dict[str, Any]]
    history_density: float
    history_tags: dict[str, Any]
    later_history: list[dict[str, Any]]
    extra: dict[str, Any]


def _seeded_model(trial: DynamicSparsityTrial, splits: StudySplits) -> nn.Module:
    """The trial's network with the seed's initial weights, built on the CPU (the same on every device)."""
    torch.manual_seed(trial.seed)
    return build(trial.model, splits)


def _dynamic(trial: DynamicSparsityTrial, splits: StudySplits, *, progress: bool = False,
             device: torch.device | None = None) -> SparseTraining:
    """A random sparse start trained by :func:`sparsewire.dynamic.train_sparse` (SET, RigL, SNFS, DNW, static)
    on ``device`` (``None``: the CPU)."""
    if trial.update_every is None or trial.drop_fraction is None or trial.drop_schedule is None:
        raise ValueError(f"a {trial.algorithm} trial needs update_every, drop_fraction and drop_schedule")
    model, masks, dyn, result = train_sparse(
        _seeded_model(trial, splits), splits.train, trial.train, val_data=splits.val, algorithm=trial.algorithm,
        density=trial.density, seed=trial.seed, distribution=trial.distribution,
        freeze_epoch=trial.freeze_epoch, update_every=trial.update_every,
        drop_fraction=trial.drop_fraction, drop_schedule=trial.drop_schedule, progress=progress, device=device,
        recalibrate_norms=False)  # run_trial recalibrates, for every algorithm alike
    return SparseTraining(model, masks, [dyn.initial, *dyn.snapshots], dyn.replaced_per_epoch(),
                          sum(u.replaced > 0 for u in dyn.updates), freeze_savings(masks, dyn, splits.train, result.epochs),
                          result.epochs, result.seconds, result.history, trial.density, {}, [], {})


def _snip(trial: DynamicSparsityTrial, splits: StudySplits, *, progress: bool = False,
          device: torch.device | None = None) -> SparseTraining:
    """SNIP: the mask chosen on the seed's initial weights by ``|g·w|`` on the first ``snip_batches`` batches of
    the seed's batch order (on the CPU), then trained once, fixed, on ``device``."""
    if trial.snip_batches is None:
        raise ValueError("a snip trial needs snip_batches")
    model = _seeded_model(trial, splits)
    scored = batches(splits.train, trial.train.batch_size, torch.Generator().manual_seed(trial.seed))
    scored = scored[: trial.snip_batches]
    masks = snip(model, trial.density, scored, distribution=trial.distribution)
    result = train(model, splits.train, trial.train, val_data=splits.val, seed=trial.seed, masks=masks,
                   progress=progress, desc=f"snip d={trial.density}", device=device)
    kept, sizes = _kept(masks), {n: m.numel() for n, m in masks.items()}
    score = Phase(sizes, sum(len(b[-1]) for b in scored), len(scored), dense_gradient=True)
    cost = phases_cost([score, _training(kept, result.epochs, splits.train, trial.train, dense=False)], kept, sizes,
                       _uses(masks, splits.train))
    mask = masks.state()
    return SparseTraining(model, masks, [mask] * (result.epochs + 1), [0] * result.epochs, 0, cost, result.epochs,
                          result.seconds, result.history, trial.density, {}, [], {})


def _imp(trial: DynamicSparsityTrial, splits: StudySplits, *, progress: bool = False,
         device: torch.device | None = None) -> SparseTraining:
    """IMP with rewinding (:func:`~sparsewire.pruning.lottery.find_ticket`), or, frozen after epoch k, the
    early-bird ticket of epoch k (:func:`~sparsewire.pruning.lottery.early_bird_ticket`) with its FLOPs saved
    against full IMP."""
    if trial.imp_rounds is None:
        raise ValueError("an imp trial needs imp_rounds")
    model = _seeded_model(trial, splits)
    rounds = trial.imp_rounds
    options: dict[str, Any] = {"density": trial.density, "distribution": trial.distribution, "seed": trial.seed,
                               "val_data": splits.val, "progress": progress, "device": device}
    ticket: Ticket
    unfrozen: list[Phase] | None = None
    if trial.freeze_epoch is None:
        ticket = find_ticket(model, splits.train, trial.train, rounds=rounds, **options)
    else:
        unfrozen = [_training(k, trial.train.epochs, splits.train, trial.train, dense=i == 0)
                    for i, k in enumerate(round_counts(model, trial.density, rounds, trial.distribution))]
        ticket = early_bird_ticket(model, splits.train, trial.train, epoch=trial.freeze_epoch, **options)
    final = ticket.results[-1]
    birds = ticket.early_birds + [ticket.early_birds[-1]] * max(final.epochs + 1 - len(ticket.early_birds), 0)
    kept, sizes = _kept(ticket.masks), {n: m.numel() for n, m in ticket.masks.items()}
    phases = [_training(k, r.epochs, splits.train, trial.train, dense=i == 0)
              for i, (k, r) in enumerate(zip(ticket.kept, ticket.results, strict=True))]
    cost = phases_cost(phases, kept, sizes, _uses(ticket.masks, splits.train), unfrozen=unfrozen)
    dense = ticket.results[0]
    later = [entry for i, r in enumerate(ticket.results[1:], 1)
             for entry in history_entries(r.history, phase="round", round=i, density=ticket.densities[i])]
    extra = {"round_density": ticket.densities, "round_val_accuracy": [_last_val(r) for r in ticket.results]}
    return SparseTraining(model, ticket.masks, birds, [_joined(a, b) for a, b in itertools.pairwise(birds)],
                          len(ticket.results) - 1, cost, final.epochs, sum(r.seconds for r in ticket.results),
                          dense.history, 1.0, {"phase": "dense", "round": 0}, later, extra)


def _kept(masks: Masks) -> dict[str, int]:
    return {name: k for name, (k, _) in masks.counts().items()}


def _joined(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> int:
    """Connections in ``after`` that are not in ``before``."""
    return sum(int((after[n] & ~before[n]).sum()) for n in after)


def _last_val(result: TrainResult) -> float:
    return float(result.history[-1].get("val_accuracy", math.nan)) if result.history else math.nan


def _training(kept: dict[str, int], epochs: int, train_data: Sequence[torch.Tensor], config: TrainConfig, *,
              dense: bool) -> Phase:
    """A training of ``epochs`` epochs of ``config`` at ``kept`` weights per layer, as a cost phase."""
    n = len(train_data[0])
    return Phase(kept, epochs * n, epochs * steps_per_epoch(n, config.batch_size), dense_gradient=dense)


def _uses(masks: Masks, train_data: Sequence[torch.Tensor]) -> dict[str, int]:
    """:func:`sparsewire.dynamic.weight_uses` measured on two training examples."""
    return weight_uses(masks, *[t[:2] for t in train_data[:-1]])


def mask_history(history: list[dict[str, Any]], replaced: list[int], jaccard: list[float],
                 density: float, **tags: Any) -> list[dict[str, Any]]:
    """The training history with each epoch's mask changes: connections replaced in the epoch and the
    Jaccard overlap of the mask after it with the final mask (``jaccard[0]`` is the initial mask's); ``tags``
    label every entry (IMP's dense training: ``phase``, ``round``)."""
    return [history_entries([entry], **tags, density=density,
                            replaced=replaced[i] if i < len(replaced) else 0,
                            jaccard_to_final=jaccard[i + 1] if i + 1 < len(jaccard) else None)[0]
            for i, entry in enumerate(history)]


def reinit_columns(trial: DynamicSparsityTrial, splits: StudySplits, mask: dict[str, torch.Tensor], *,
                   device: torch.device | None = None) -> dict[str, Any]:
    """Structure kept, weights re-drawn: ``mask`` trained from a fresh initialisation per reinit seed, with the
    trial's recipe and batch order, mask fixed (static), on ``device`` (weights drawn on the CPU, then moved).
    Nothing when the trial names no reinit seeds."""
    if not trial.reinit_seeds:
        return {}
    accuracies = []
    for r in trial.reinit_seeds:
        torch.manual_seed(1_000_003 * (r + 1) + trial.seed)  # never the trial's own initialisation
        model = build(trial.model, splits)
        masks = Masks(model)
        masks.update(mask)
        if device is not None:
            model.to(device)
        train(model, splits.train, trial.train, val_data=splits.val, seed=trial.seed, masks=masks, progress=False)
        if trial.recalibrate_norms:
            recalibrate_norms(model, splits.train, trial.train.batch_size)
        accuracies.append(evaluate(model, splits.test)["accuracy"])
    return {"reinit_test_accuracy": accuracies, "reinit_test_accuracy_mean": sum(accuracies) / len(accuracies)}


def freeze_savings(masks: Masks, dyn: DynamicSparsity, train_data: Sequence[torch.Tensor], epochs: int) -> TrainingCost:
    """Dense-gradient steps read and saved by freezing, and training FLOPs of a dynamic run
    (:func:`sparsewire.dynamic.training_cost`)."""
    return training_cost(masks, _uses(masks, train_data), examples=epochs * len(train_data[0]), steps=dyn.step,
                         dense_steps=dyn.dense_gradient_steps, dense_steps_unfrozen=dyn.dense_gradient_steps_unfrozen())


def cost_columns(cost: TrainingCost) -> dict[str, Any]:
    """Row columns of a run's cost (GFLOPs; ``flops_saved_fraction`` is of the never-frozen run's FLOPs)."""
    return {"dense_grad_steps": cost.dense_gradient_steps, "dense_grad_steps_saved": cost.dense_gradient_steps_saved,
            "train_gflops": cost.train_flops / 1e9, "dense_grad_gflops": cost.dense_gradient_flops / 1e9,
            "gflops_saved": cost.flops_saved / 1e9, "flops_saved_fraction": cost.flops_saved_fraction}
