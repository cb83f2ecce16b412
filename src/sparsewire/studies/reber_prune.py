"""``study: reber-prune`` — magnitude pruning of recurrent networks that learn the Reber grammar.

Reproduces Stier, Darji & Granitzer (2021), Sec. 4.2: for each recurrent type (RNN-tanh, RNN-ReLU, GRU,
LSTM) a dense network is trained on the shipped Reber split, then its input-to-hidden (*i2h*),
hidden-to-hidden (*h2h*) or both weight matrices are magnitude-pruned one-shot to 10 %…100 %, and test
accuracy is measured before and after re-training with the mask fixed. ``allocation`` is ``global`` (one
magnitude threshold over all selected matrices, class-blinded) or ``per-layer`` (every selected matrix
loses the same fraction, class-uniform); with a single selected matrix the two coincide and only
``per-layer`` is run. The dense network of each (cell, seed) is trained once and cached in ``DIR/cache``.

``model`` options (defaults first): ``embedding_dim`` (an int, ``first-layer`` = ``hidden_size``, or null),
``readout`` (``last-valid`` or ``last-step``, the authors') and ``padding_embedding`` (``zero`` or
``learned``). With ``last-valid`` a fully pruned GRU still reads each string's length through its biases;
see :mod:`sparsewire.models.recurrent`. ``readout``/``padding_embedding`` join a trial's id only when not
at their defaults (:meth:`~sparsewire.reber.config.RecurrentModelConfig.identity`), so ``reber-prune.yaml``
keeps its recorded ids; ``configs/reber-prune-paper.yaml`` is the authors' recipe with their conventions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch
from pydantic import ConfigDict, Field, field_serializer, field_validator

from sparsewire.masks import Masks
from sparsewire.masks.fractions import check_fraction
from sparsewire.models.recurrent import (
    CELLS,
    Cell,
    RecurrentClassifier,
    recurrent_masks,
    recurrent_weight_names,
)
from sparsewire.pruning.allocation import class_blinded, class_uniform
from sparsewire.reber import ReberSplits
from sparsewire.reber.config import ReberDataConfig, RecurrentModelConfig
from sparsewire.reber.encoding import VOCAB_SIZE
from sparsewire.results.history import epochs as history_entries
from sparsewire.results.reports import reber_prune as reports
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import DeviceOption, cached
from sparsewire.studies.trials import TrialConfig
from sparsewire.training import TrainConfig, evaluate, train

Target = Literal["i2h", "h2h", "both"]
"""Which recurrent weight matrices are pruned."""
Allocation = Literal["global", "per-layer"]
"""One threshold over all target matrices (class-blinded), or the same fraction of each (class-uniform)."""


def _all_cells() -> list[Cell]:
    return list(CELLS)  # type: ignore[arg-type]  # CELLS (models.recurrent) is typed tuple[str, ...]


def _all_targets() -> list[Target]:
    return ["i2h", "h2h", "both"]


def _all_allocations() -> list[Allocation]:
    return ["global", "per-layer"]


def _default_percents() -> list[float]:
    return [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def _default_train() -> TrainConfig:
    return TrainConfig(epochs=8, batch_size=64, lr=0.005, grad_clip=1.0)


def _default_retrain() -> TrainConfig:
    return TrainConfig(epochs=2, batch_size=64, lr=0.002, grad_clip=1.0)


class ReberPruneConfig(DeviceOption):
    """Config of ``study: reber-prune`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["reber-prune"] = "reber-prune"
    name: str = "reber-prune"
    data: ReberDataConfig = Field(default_factory=ReberDataConfig)
    cells: list[Cell] = Field(default_factory=_all_cells, min_length=1)
    model: RecurrentModelConfig = Field(default_factory=RecurrentModelConfig)
    train: TrainConfig = Field(default_factory=_default_train)
    retrain: TrainConfig = Field(default_factory=_default_retrain)
    targets: list[Target] = Field(default_factory=_all_targets, min_length=1)
    allocations: list[Allocation] = Field(default_factory=_all_allocations, min_length=1)
    percents: list[float] = Field(default_factory=_default_percents, min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    threads: int = Field(1, ge=1, description="torch threads per trial (small RNNs are fastest on one)")

    @field_validator("percents")
    @classmethod
    def _percents(cls, values: list[float]) -> list[float]:
        for v in values:
            if not 0 < v <= 100:
                raise ValueError(f"pruning percents must be in (0, 100], got {v}")
        return values

    @field_validator("cells", "targets", "allocations", "seeds")
    @classmethod
    def _non_empty(cls, values: list[Any]) -> list[Any]:
        if not values:
            raise ValueError("must not be empty")
        return values


class _Subset(Mapping[str, torch.Tensor]):
    """A view of some of a :class:`Masks`' entries (what the allocation functions read)."""

    def __init__(self, masks: Masks, names: list[str]) -> None:
        self._masks, self._names = masks, names

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._names:
            raise KeyError(name)
        return self._masks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def parameter(self, name: str) -> torch.nn.Parameter:
        return self._masks.parameter(name)


def magnitude_prune(model: torch.nn.Module, masks: Masks, target: Target, fraction: float, allocation: str) -> list[str]:
    """Remove ``fraction`` (0–1, 1 allowed) of the ``target`` (i2h/h2h/both) recurrent weights by magnitude.

    ``global`` ranks |w| over all selected matrices (class-blinded), ``per-layer`` within each matrix
    (class-uniform). Returns the names of the pruned matrices.
    """
    check_fraction(fraction, "[0, 1]", "fraction", "of the target weights to prune")
    names = recurrent_weight_names(model, target)
    view = _Subset(masks, names)
    scores = {n: masks.parameter(n).detach().abs() for n in names}
    allocate = {"global": class_blinded, "per-layer": class_uniform}.get(allocation)
    if allocate is None:
        raise ValueError(f"allocation must be 'global' or 'per-layer', got {allocation!r}")
    masks.update(allocate(scores, view, fraction), warn_empty=False)
    return names


class ReberPruneTrial(TrialConfig):
    """One trial of ``study: reber-prune``: the dense ``cell`` network of ``seed``, its ``target`` recurrent
    weights magnitude-pruned by ``percent`` with ``allocation``, re-trained.

    ``model`` enters the trial's dict as :meth:`~sparsewire.reber.config.RecurrentModelConfig.identity`
    (``readout`` and ``padding_embedding`` only when not at the behaviour of the runs before they existed).
    """

    data: ReberDataConfig
    data_identity: dict[str, Any]
    """What determines the data (:meth:`ReberDataConfig.identity`); keys the cached dense network."""
    model: RecurrentModelConfig
    train: TrainConfig
    retrain: TrainConfig
    threads: int
    cell: Cell
    seed: int
    target: Target
    allocation: Allocation
    percent: float

    @field_serializer("model")
    def _model_identity(self, model: RecurrentModelConfig) -> dict[str, Any]:
        return model.identity()

    @property
    def eval_batch_size(self) -> int:
        """With ``readout: last-step`` the training batch size (file order), as the authors' loaders read their
        test set, since each string then runs through its batch's padding; otherwise 2048."""
        return self.train.batch_size if self.model.readout == "last-step" else 2048

    def dense_key(self) -> dict[str, Any]:
        """The cache key of the dense network of this trial's (cell, seed)."""
        return {"reber-dense": 1, "data": self.data_identity, "cell": self.cell, "model": self.model.identity(),
                "train": self.train.model_dump(), "seed": self.seed}


def build_classifier(cell: str, model: RecurrentModelConfig, seed: int) -> RecurrentClassifier:
    torch.manual_seed(seed)
    net = RecurrentClassifier(cell, VOCAB_SIZE, model.hidden_size, 2, num_layers=model.num_layers,
                              embedding_dim=model.embedding_dim, readout=model.readout,
                              padding_embedding=model.padding_embedding)
    recurrent_masks(net)
    return net


def _evaluate(net: torch.nn.Module, data: Sequence[torch.Tensor], trial: ReberPruneTrial) -> float:
    """Accuracy in the trial's test batches (:attr:`ReberPruneTrial.eval_batch_size`)."""
    return evaluate(net, data, batch_size=trial.eval_batch_size)["accuracy"]


def _dense(trial: ReberPruneTrial, context: TrialContext, splits: ReberSplits) -> dict[str, Any]:
    """Train (or load from the cache) the dense network of one (cell, seed)."""

    def make() -> dict[str, Any]:
        net = build_classifier(trial.cell, trial.model, trial.seed)
        result = train(net, splits.train, trial.train, val_data=splits.val, seed=trial.seed,
                       progress=context.progress, desc=f"dense {trial.cell} seed {trial.seed}",
                       device=context.torch_device())
        return {"state": net.state_dict(), "test_accuracy": _evaluate(net, splits.test, trial),
                "val_accuracy": _evaluate(net, splits.val, trial) if len(splits.val[0]) else float("nan"),
                "seconds": result.seconds, "epochs": result.epochs,
                "history": history_entries(result.history, phase="train", density=1.0)}

    return cached(context.cache_dir, trial.dense_key(), make)


@register
class ReberPruneStudy(StudyType[ReberPruneConfig, ReberPruneTrial]):
    name = "reber-prune"
    Config = ReberPruneConfig
    TrialConfig = ReberPruneTrial

    def check(self, config: ReberPruneConfig) -> None:
        config.data.load()  # missing or corrupt CSVs fail here, before any training

    def trials(self, config: ReberPruneConfig) -> list[ReberPruneTrial]:
        shared = {"data": config.data, "data_identity": config.data.identity(), "model": config.model,
                  "train": config.train, "retrain": config.retrain, "threads": config.threads}
        out = []
        for cell in config.cells:
            for seed in config.seeds:
                for target in config.targets:
                    matrices = config.model.num_layers * (2 if target == "both" else 1)
                    allocations = config.allocations if matrices > 1 else ["per-layer"]
                    for allocation in dict.fromkeys(allocations):
                        for percent in config.percents:
                            out.append(ReberPruneTrial(**shared, cell=cell, seed=seed, target=target,
                                                       allocation=allocation, percent=float(percent)))
        return out

    def run_trial(self, trial: ReberPruneTrial, context: TrialContext) -> dict[str, Any]:
        torch.set_num_threads(trial.threads)
        splits = trial.data.load()
        dense = _dense(trial, context, splits)
        start = time.perf_counter()
        net = build_classifier(trial.cell, trial.model, trial.seed)
        net.load_state_dict(dense["state"])
        net.to(context.torch_device())
        masks = Masks.of(net)
        names = magnitude_prune(net, masks, trial.target, trial.percent / 100, trial.allocation)
        before = _evaluate(net, splits.test, trial)
        result = train(net, splits.train, trial.retrain, val_data=splits.val,
                       seed=trial.seed + 1000, masks=masks, progress=context.progress,
                       desc=f"retrain {trial.cell} {trial.target} {trial.percent:g}%")
        kept = sum(int(masks[n].sum()) for n in names)
        total = sum(masks[n].numel() for n in names)
        return {
            "cell": trial.cell, "seed": trial.seed, "target": trial.target,
            "allocation": trial.allocation, "prune_percent": trial.percent,
            "sparsity_target": 1 - kept / total,
            "density_recurrent": masks.density(),
            "params_remaining": masks.remaining(), "params_total": masks.total(),
            "empty_matrices": masks.empty_layers(),
            "dense_test_accuracy": dense["test_accuracy"],
            "test_accuracy_before_retrain": before,
            "test_accuracy": _evaluate(net, splits.test, trial),
            "val_accuracy": _evaluate(net, splits.val, trial) if len(splits.val[0]) else float("nan"),
            "dense_train_seconds": dense["seconds"], "retrain_seconds": result.seconds,
            "trial_seconds": time.perf_counter() - start,
            "history": [*dense.get("history", []),  # (cache files written before issue 16 hold none)
                        *history_entries(result.history, phase="retrain", density=masks.density())],
        }

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return reports.summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        return reports.report(table, out_dir)
