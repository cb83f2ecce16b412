"""``study: layer-sparsity`` — a path over λ of the layer penalty, collapse, refit, and what it buys.

Hebiri & Lederer (2020, arXiv 2006.15604): train a deep narrow ReLU MLP with ``λ Σ_j r_j ‖neg([W_j, b_j])‖₂``
(proximal steps by default), collapse the hidden layers whose ReLU is provably the identity into single
linear maps, and refit the shallower network without the layer penalty. ``λ = 0`` is the unregularised
network of the same depth trained with the same recipe (penalised phase + refit epochs), so every
regularised row has a baseline that saw exactly as much training.

Each trial records active (non-collapsed) hidden layers, test accuracy before and after refitting,
parameters, FLOPs and the latency of the collapsed vs the original network measured side by side.
With the default normalised inputs the first layer is never collapsed: they are negative in places, so a
non-negative first layer would prove nothing (the row records the smallest input seen); ``inputs: unit``
maps pixels back to [0, 1] so that it can. ``layer_weights`` sets the ``r_j`` (default: 1 on every layer
whose ReLU can become the identity, 0 elsewhere).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import torch
from pydantic import ConfigDict, Field, field_validator, model_validator

from sparsewire.layer_sparsity import (
    ConnectionPenalty,
    LayerPenalty,
    Penalties,
    Penalty,
    collapse,
    flops,
    identity_layers,
    layer_report,
    measure_latency,
    parameter_count,
    refit,
    train_penalized,
)
from sparsewire.models import MLP
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import layer_sparsity as reports
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import DatasetConfig, DeviceOption, load_splits
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, evaluate

if TYPE_CHECKING:
    from sparsewire.studies.common import StudySplits


def _default_datasets() -> list[DatasetConfig]:
    return [DatasetConfig(name="mnist"), DatasetConfig(name="fashion-mnist")]


class LayerSparsityConfig(DeviceOption):
    """Config of ``study: layer-sparsity`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["layer-sparsity"] = "layer-sparsity"
    name: str = "layer-sparsity"
    datasets: list[DatasetConfig] = Field(default_factory=_default_datasets, min_length=1)
    hidden: list[list[int]] = Field(default_factory=lambda: [[32] * 8], min_length=1)
    """Hidden widths of each architecture (one list = one architecture; a flat list is one architecture)."""
    lambdas: list[float] = Field(default_factory=lambda: [0.0, 2.0, 4.0, 6.0, 10.0], min_length=1)
    controls: list[list[int]] = Field(default_factory=list)
    """Architectures trained only unregularised (λ = 0) with the same recipe, e.g. ``[[32]]``: is a
    collapsed network better than a shallow one trained from scratch?"""
    connection_lambda: float = Field(0.0, ge=0)
    layer_weights: list[float] | None = None
    """Per-layer weights ``r_j ≥ 0`` of the layer penalty, one per linear layer (hidden layers + output),
    so every architecture in ``hidden`` must have that depth. ``None``: 1 for the hidden layers whose input
    is non-negative, 0 elsewhere (see :class:`~sparsewire.layer_sparsity.LayerPenalty`)."""
    optimisation: Literal["proximal", "subgradient"] = "proximal"
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=8, batch_size=128, restore_best=False))
    refit: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=3, batch_size=128, restore_best=False))
    latency_batch_sizes: list[int] = Field(default_factory=lambda: [1, 256], min_length=1)
    latency_rounds: int = Field(30, ge=1)
    latency_threads: int | None = Field(1, ge=1)
    report_samples: int = Field(2000, ge=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    inputs: Literal["normalised", "unit"] = "normalised"
    """``normalised``: the data layer's zero-mean inputs (negative in places, so the first layer can never
    collapse); ``unit``: pixels mapped back to [0, 1], provably non-negative, so the first layer is penalised
    and may collapse too (the whole network can become one linear map)."""

    @field_validator("lambdas")
    @classmethod
    def _lambdas(cls, values: list[float]) -> list[float]:
        bad = [v for v in values if not (v >= 0 and math.isfinite(v))]
        if bad:
            raise ValueError(f"the λ path must hold finite values >= 0 (0 = unregularised), got {bad}")
        return sorted(set(values))

    @field_validator("layer_weights")
    @classmethod
    def _layer_weights(cls, values: list[float] | None) -> list[float] | None:
        if values is not None and any(not (v >= 0 and math.isfinite(v)) for v in values):
            raise ValueError(f"per-layer weights r_j must be finite and >= 0, got {values}")
        return values

    @model_validator(mode="after")
    def _layer_weights_fit_depth(self) -> LayerSparsityConfig:
        if self.layer_weights is not None:
            for arch in self.hidden:
                if len(self.layer_weights) != len(arch) + 1:
                    raise ValueError(
                        f"layer_weights has {len(self.layer_weights)} entries but the architecture {arch} has "
                        f"{len(arch) + 1} linear layers (hidden layers + output): give one r_j per linear layer"
                    )
        return self

    @field_validator("controls")
    @classmethod
    def _controls(cls, values: list[list[int]]) -> list[list[int]]:
        for arch in values:
            if not arch or any(v < 1 for v in arch):
                raise ValueError(f"each control architecture needs at least one hidden width >= 1, got {arch}")
        return values

    @field_validator("hidden", mode="before")
    @classmethod
    def _hidden(cls, values: Any) -> Any:
        if isinstance(values, list) and values and all(isinstance(v, int) for v in values):
            values = [values]
        if isinstance(values, list):
            for arch in values:
                if not isinstance(arch, list) or not arch or any(not isinstance(v, int) or v < 1 for v in arch):
                    raise ValueError(f"each architecture needs at least one hidden width >= 1, got {arch}")
        return values

    @field_validator("latency_batch_sizes")
    @classmethod
    def _batches(cls, values: list[int]) -> list[int]:
        if any(v < 1 for v in values):
            raise ValueError(f"latency batch sizes must be >= 1, got {values}")
        return values


class LayerSparsityTrial(TrialConfig):
    """One trial of ``study: layer-sparsity``: an MLP of ``hidden`` widths on ``dataset`` trained with the
    layer penalty ``lam`` (0: unregularised), collapsed, refitted and timed."""

    connection_lambda: float
    optimisation: Literal["proximal", "subgradient"]
    train: TrainConfig
    refit: TrainConfig
    latency_batch_sizes: list[int]
    latency_rounds: int
    latency_threads: int | None
    report_samples: int
    inputs: Recorded[Literal["normalised", "unit"]] = "normalised"
    layer_weights: Recorded[list[float] | None] = None
    dataset: DatasetConfig
    hidden: list[int]
    lam: float
    seed: int


def _model(trial: LayerSparsityTrial, splits: StudySplits) -> MLP:
    torch.manual_seed(trial.seed)
    return MLP([math.prod(splits.input_shape), *trial.hidden, splits.num_classes], activation="relu")


@register
class LayerSparsityStudy(StudyType[LayerSparsityConfig, LayerSparsityTrial]):
    name = "layer-sparsity"
    Config = LayerSparsityConfig
    TrialConfig = LayerSparsityTrial

    def check(self, config: LayerSparsityConfig) -> None:
        for dataset in config.datasets:
            load_splits(dataset)  # a missing or corrupt dataset fails here, before any training

    def trials(self, config: LayerSparsityConfig) -> list[LayerSparsityTrial]:
        shared = {"connection_lambda": config.connection_lambda, "optimisation": config.optimisation,
                  "train": config.train, "refit": config.refit, "latency_batch_sizes": config.latency_batch_sizes,
                  "latency_rounds": config.latency_rounds, "latency_threads": config.latency_threads,
                  "report_samples": config.report_samples, "inputs": config.inputs,
                  "layer_weights": config.layer_weights}
        out = [
            LayerSparsityTrial(**shared, dataset=d, hidden=hidden, lam=lam, seed=seed)
            for d in config.datasets
            for hidden in config.hidden
            for lam in config.lambdas
            for seed in config.seeds
        ]
        controls = [
            LayerSparsityTrial(**shared, dataset=d, hidden=hidden, lam=0.0, seed=seed)
            for d in config.datasets
            for hidden in config.controls
            for seed in config.seeds
        ]
        return out + controls

    def run_trial(self, trial: LayerSparsityTrial, context: TrialContext) -> dict[str, Any]:
        start = time.perf_counter()
        splits = load_splits(trial.dataset)
        nonneg = trial.inputs == "unit"
        train_data, val_data, test_data = (_to_unit(d, splits) if nonneg else d for d in (splits.train, splits.val,
                                                                                          splits.test))
        seed, lam = trial.seed, trial.lam
        model = _model(trial, splits)
        params_original, flops_original = parameter_count(model), flops(model)
        connection = ConnectionPenalty(trial.connection_lambda) if trial.connection_lambda > 0 else None
        penalty: Penalty | Penalties | None = (
            LayerPenalty(lam, trial.layer_weights, input_nonnegative=nonneg) if lam > 0 else None)
        if connection is not None:
            penalty = connection + penalty if penalty is not None else connection
        train_cfg, refit_cfg = trial.train, trial.refit
        tag = f"{trial.dataset.name} λ={lam:g} seed {seed}"
        device = context.torch_device()
        trained = train_penalized(model, train_data, train_cfg, penalty, optimisation=trial.optimisation,
                                  seed=seed, progress=context.progress, desc=f"train {tag}", device=device)
        acc_penalised = evaluate(model, test_data)["accuracy"]
        model.cpu()  # the exact checks, the collapse and the latency are CPU computations
        report = layer_report(model, val_data[0][: trial.report_samples], input_nonnegative=nonneg)
        collapsed_ids = identity_layers(model, input_nonnegative=nonneg)
        shallow = collapse(model, input_nonnegative=nonneg)
        assert isinstance(shallow.layers, torch.nn.ModuleList), "collapse returns an MLP"
        with torch.no_grad():
            x = test_data[0][:2000]
            max_diff = float((shallow(x) - model(x)).abs().max())
        acc_collapsed = evaluate(shallow, test_data)["accuracy"]
        refitted = refit(shallow, train_data, refit_cfg, penalty=connection, optimisation=trial.optimisation,
                         seed=seed + 1000, progress=context.progress, device=device)
        acc_refit = evaluate(shallow, test_data)["accuracy"]
        shallow.cpu()
        threads = torch.get_num_threads()
        if trial.latency_threads is not None:
            torch.set_num_threads(trial.latency_threads)
        try:
            latency = measure_latency({"original": model, "collapsed": shallow}, splits.input_shape,
                                      trial.latency_batch_sizes, rounds=trial.latency_rounds, seed=seed)
        finally:
            torch.set_num_threads(threads)
        row: dict[str, Any] = {
            "dataset": trial.dataset.name,
            "lam": lam,
            "seed": seed,
            "optimisation": trial.optimisation,
            "hidden_layers": len(trial.hidden),
            "collapsed_layers": collapsed_ids,
            "n_collapsed": len(collapsed_ids),
            "active_hidden_layers": len(trial.hidden) - len(collapsed_ids),
            "linear_layers_after": len(shallow.layers),
            "test_accuracy_penalised": acc_penalised,
            "test_accuracy_collapsed": acc_collapsed,
            "test_accuracy_refit": acc_refit,
            "collapse_max_abs_diff": max_diff,
            "params_original": params_original,
            "params_collapsed": parameter_count(shallow),
            "flops_original": flops_original,
            "flops_collapsed": flops(shallow),
            "inputs": trial.inputs,
            "input_min": float(train_data[0].min()),
            "first_layer_collapsible": nonneg,
            "layer_weights": trial.layer_weights,
            "negative_weight_fraction": [r.negative_weight_fraction for r in report],
            "negative_preactivation_fraction": [r.negative_preactivation_fraction for r in report],
            "latency_threads": trial.latency_threads or threads,
            "train_seconds": trained.seconds,
            "refit_seconds": refitted.seconds,
            "history": [*history_entries(trained.history, phase="train"),
                        *history_entries(refitted.history, phase="refit")],
        }
        by = {(r.model, r.batch_size): r.median_s for r in latency}
        for b in trial.latency_batch_sizes:
            row[f"latency_original_b{b}_s"] = by[("original", b)]
            row[f"latency_collapsed_b{b}_s"] = by[("collapsed", b)]
            row[f"latency_ratio_b{b}"] = by[("collapsed", b)] / by[("original", b)]
        row["trial_seconds"] = time.perf_counter() - start
        return row

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)


def _to_unit(data: tuple[torch.Tensor, ...], splits: StudySplits) -> tuple[torch.Tensor, ...]:
    """Undo the data layer's per-channel normalisation: inputs back to pixel/255 in [0, 1] (clamped, so
    rounding cannot leave a ``-1e-8`` that would void the non-negativity the collapse relies on)."""
    from sparsewire.data import Splits

    if not isinstance(splits, Splits):  # a dataset factory's tensors carry no normalisation to undo
        raise ValueError("unit inputs need a named dataset (its channel statistics), not a dataset factory")
    x, *rest = data
    mean = torch.tensor(splits.mean, dtype=x.dtype) / 255
    std = torch.tensor(splits.std, dtype=x.dtype) / 255
    if x.dim() == 4:
        mean, std = mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1)
    elif len(splits.mean) != 1:
        raise ValueError("unit inputs need image-shaped (N, C, H, W) data for multi-channel datasets")
    return ((x * std + mean).clamp(0.0, 1.0), *rest)
