"""Config pieces shared by study types: dataset, model, further pruning, and the cached dense network of a seed."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

import numpy as np
import torch
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from torch import nn

from sparsewire.atomic import replacing
from sparsewire.devices import to_cpu
from sparsewire.studies.identity import config_hash

if TYPE_CHECKING:
    from sparsewire.data import Splits
    from sparsewire.reber import ReberSplits
    from sparsewire.studies.base import TrialContext
    from sparsewire.studies.factory import FactorySplits
    from sparsewire.training import TrainConfig, TrainResult

    StudySplits: TypeAlias = Splits | FactorySplits
    """What :func:`load_splits` returns: a named dataset's splits, or a dataset factory's."""

Member = TypeVar("Member")
Model = TypeVar("Model", bound=nn.Module)
Extra = TypeVar("Extra")


def _omit_unset(data: dict[str, Any], **unset: Any) -> dict[str, Any]:
    """``data`` without the keys at their 'not used' value (fields added later keep earlier trial ids)."""
    return {k: v for k, v in data.items() if not (k in unset and v == unset[k])}


_Configured = TypeVar("_Configured", "DatasetConfig", "ModelConfig")


def _check_factory(config: _Configured) -> _Configured:
    """Import the factory ``config`` names (an unknown path fails at validation, before any work) and let
    ``name`` default to its path."""
    if config.factory is not None:
        from sparsewire.studies.factory import import_factory

        import_factory(config.factory)
        if "name" not in config.model_fields_set:
            config.name = config.factory
    return config


class DatasetConfig(BaseModel):
    """Which dataset, where to find it and how to split it (the split seed is fixed across trial seeds).

    ``factory: "package.module:function"`` (with ``options``) names your own data instead: a function
    returning torch Datasets (:mod:`sparsewire.studies.factory`); ``name`` then defaults to the path.
    ``factory`` and ``options`` join a dump (and so trial ids) only when set.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "mnist"
    data_dir: str | None = None
    val_size: int = Field(10000, ge=0, le=100_000_000)
    split_seed: int = 0
    train_limit: int | None = Field(None, ge=1, le=1_000_000_000)
    download: bool = True
    factory: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _factory(self) -> DatasetConfig:
        if self.factory is None and self.options:
            raise ValueError("dataset options are for a dataset factory: set factory: 'package.module:function'")
        return _check_factory(self)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_unset(handler(self), factory=None, options={})

    def identity(self) -> dict[str, Any]:
        """What determines the data (not where it lies)."""
        return self.model_dump(exclude={"data_dir", "download"})


class DeviceOption(BaseModel):
    """Where a study's trials train: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Not part of any trial id (results must not depend on the device): the runner hands it to each trial
    as :attr:`~sparsewire.studies.base.TrialContext.device`. Models are built and initialised on the CPU
    and then moved, caches and rewind points are stored on the CPU, so a study resumed on another device
    continues the same computation.
    """

    device: str = Field("cpu", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$",
                        description="where trials train: auto (CUDA when present), cpu, cuda, cuda:N or mps; "
                        "not part of any trial id")


def check_cohort_precision(precision: str, cohorts: bool) -> None:
    """Cohorts train in fp32 (``TrainConfig.precision`` is applied by :func:`~sparsewire.training.train`
    only): refuse ``bf16`` where trials would train in cohorts, rather than ignore it."""
    if cohorts and precision != "fp32":
        raise ValueError(f"train.precision: {precision} applies to networks trained alone; cohorts train in fp32: "
                         "set cohort_size: 1 (or precision: fp32)")


#: Largest integer a model option (a layer width, ...) may hold.
MAX_OPTION = 1_000_000


class ModelConfig(BaseModel):
    """A model from :data:`sparsewire.models.MODELS` and its options, or your own:
    ``factory: "torchvision.models:resnet18"`` is called with ``options`` (``name`` defaults to the path;
    ``factory`` joins a dump, and so trial ids, only when set)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "mlp-100"
    options: dict[str, Any] = Field(default_factory=dict)
    factory: str | None = None

    @model_validator(mode="after")
    def _factory(self) -> ModelConfig:
        return _check_factory(self)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_unset(handler(self), factory=None)

    @field_validator("options")
    @classmethod
    def _sizes(cls, options: dict[str, Any]) -> dict[str, Any]:
        def ints(value: Any) -> list[int]:
            if isinstance(value, bool):
                return []
            if isinstance(value, int):
                return [value]
            if isinstance(value, list | tuple):
                return [i for v in value for i in ints(v)]
            return []

        big = [i for v in options.values() for i in ints(v) if abs(i) > MAX_OPTION]
        if big:
            raise ValueError(f"model options hold {big[0]}, more than {MAX_OPTION} (a width this large is a typo)")
        return options


def keeps_running_norms(model: ModelConfig) -> bool:
    """Whether the model has batch-norm layers that evaluate with running statistics. A named model is built on
    the meta device to find out (no memory, no data); a factory model counts as having them."""
    if model.factory is not None:
        return True
    from sparsewire.models import build_model
    from sparsewire.training.norms import running_norms

    with torch.device("meta"):
        return bool(running_norms(build_model(model.name, (3, 32, 32), 10, **model.options)))


class StaleStatisticsWarning(UserWarning):
    """Further-pruned copies of a network with batch norm will be tested on statistics of the unpruned network."""


class FurtherPruningOptions(BaseModel):
    """Structural robustness (Van Gelder et al. 2020) of each trial's final network: accuracy after
    removing each of ``further_pruning`` (fractions of the remaining weights) by ``further_pruning_method``,
    without re-training (:func:`sparsewire.pruning.further_pruning`). Empty (default): not measured."""

    further_pruning: list[float] = Field(default_factory=list)
    further_pruning_method: str = "class-blinded"
    further_pruning_recalibrate: bool = Field(False, description=(
        "also report further_pruning_accuracy_recalibrated: each further-pruned copy's batch-norm running "
        "statistics re-estimated on the training split before it is tested (separates what the removed weights "
        "cost the structure from stale statistics; no effect without batch norm)"))

    @field_validator("further_pruning")
    @classmethod
    def _fractions(cls, values: list[float]) -> list[float]:
        from sparsewire.pruning.robustness import check_fractions

        return check_fractions(values)

    @field_validator("further_pruning_method")
    @classmethod
    def _method(cls, value: str) -> str:
        from sparsewire.pruning.robustness import check_data_free

        return check_data_free(value)

    def warn_stale_norms(self, models: Sequence[ModelConfig]) -> None:
        """Warn when further pruning will test networks with batch norm on the running statistics of the unpruned
        network (``further_pruning_recalibrate`` off): on the narrow ResNet-20 those statistics, not the
        structure, cost most of the accuracy (``benchmarks/results/dynamic-sparsity-conv-recalibrated-pruning``)."""
        if not self.further_pruning or self.further_pruning_recalibrate:
            return
        named = [m.name or "a factory model" for m in models if keeps_running_norms(m)]
        if named:
            warnings.warn(
                f"further pruning tests each pruned copy of {', '.join(named)} (batch norm) with the running "
                "statistics of the unpruned network, which can cost more than the removed weights (narrow "
                "ResNet-20, half the remaining weights removed: 13-27 % as trained, 62-73 % recalibrated); "
                "set further_pruning_recalibrate: true to also report accuracies with re-estimated statistics",
                StaleStatisticsWarning, stacklevel=2)

    def trial_options(self) -> dict[str, Any]:
        """What goes into each trial's config: nothing when unset, so earlier trial ids stay valid."""
        if not self.further_pruning:
            return {}
        recalibrate = {"further_pruning_recalibrate": True} if self.further_pruning_recalibrate else {}
        return {"further_pruning": self.further_pruning, "further_pruning_method": self.further_pruning_method,
                **recalibrate}


class FurtherPruningTrial(Protocol):
    """A trial with the fields :meth:`FurtherPruningOptions.trial_options` fills, and a seed."""

    @property
    def further_pruning(self) -> list[float]: ...

    @property
    def further_pruning_method(self) -> str | None: ...

    @property
    def further_pruning_recalibrate(self) -> bool: ...

    @property
    def seed(self) -> int: ...


def further_pruning_columns(model: nn.Module, data: tuple[torch.Tensor, ...], trial: FurtherPruningTrial,
                            train_data: tuple[torch.Tensor, ...] | None = None) -> dict[str, Any]:
    """The row's further-pruning columns for a trial with ``further_pruning``, ``further_pruning_method``,
    ``further_pruning_recalibrate`` and ``seed`` fields (from :meth:`FurtherPruningOptions.trial_options`);
    ``train_data`` is what batch-norm statistics are recalibrated on when the trial asks for it."""
    if not trial.further_pruning:
        return {}
    from sparsewire.pruning.robustness import further_pruning, further_pruning_with_recalibration

    assert trial.further_pruning_method is not None, "trial_options sets the method with the fractions"
    method, fractions = trial.further_pruning_method, trial.further_pruning
    columns: dict[str, Any] = {"further_pruning_fractions": fractions}
    if not trial.further_pruning_recalibrate:
        columns["further_pruning_accuracy"] = further_pruning(model, data, fractions, method=method, seed=trial.seed)
        return columns
    if train_data is None:
        raise ValueError("further_pruning_recalibrate needs the training data to recalibrate on")
    as_trained, recalibrated = further_pruning_with_recalibration(model, data, fractions, train_data, method=method,
                                                                  seed=trial.seed)
    columns["further_pruning_accuracy"] = as_trained
    columns["further_pruning_accuracy_recalibrated"] = recalibrated
    return columns


@functools.lru_cache(maxsize=4)
def _splits(name: str, data_dir: str | None, val_size: int, split_seed: int, train_limit: int | None,
            download: bool) -> Splits:
    from sparsewire.data import load_dataset

    return load_dataset(
        name, data_dir=data_dir, val_size=val_size, seed=split_seed, train_limit=train_limit, download=download
    )


def load_splits(config: DatasetConfig) -> StudySplits:
    """Load (and cache in this process) the dataset splits a config names."""
    from sparsewire.data.sources import named_data_dir

    if config.factory is not None:
        from sparsewire.studies.factory import load_factory_splits

        return load_factory_splits(config.factory, config.options, config.val_size, config.split_seed,
                                   config.train_limit)
    folder = named_data_dir(config.data_dir)  # the cache is keyed by the folder actually searched
    return _splits(config.name, None if folder is None else str(folder), config.val_size, config.split_seed,
                   config.train_limit, config.download)


def build(model: ModelConfig, splits: StudySplits) -> nn.Module:
    if model.factory is not None:
        from sparsewire.studies.factory import build_model as build_from_factory

        return build_from_factory(model.factory, model.options)
    from sparsewire.models import build_model

    return build_model(model.name, splits.input_shape, splits.num_classes, **model.options)


def cached(cache_dir: Path, key: dict[str, Any], make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Load ``cache_dir/<hash(key)>.pt`` or create it with ``make()`` (written atomically).

    Cache files are read with ``torch.load(weights_only=True)``: tensors, numbers, strings and containers
    only, so a file planted in a results folder cannot run code. A file that does not load that way
    (pickled objects, truncated, corrupt) is recomputed and replaced, never unpickled.
    """
    path = cache_dir / f"{config_hash(key)}.pt"
    if path.exists():
        try:
            loaded: dict[str, Any] = torch.load(path, weights_only=True, map_location="cpu")
            return loaded
        except Exception as err:  # noqa: BLE001 - whatever is wrong with the file, recomputing is safe
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            warnings.warn(f"recomputing {path}: it does not load safely ({reason[:200]})", stacklevel=2)
    value: dict[str, Any] = plain(to_cpu(make()))  # a model trained on a GPU is cached on the CPU
    with replacing(path, "wb") as out:
        torch.save(value, out)
    return value


def plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and numpy arrays as tensors (containers recursed),
    so that ``torch.load(weights_only=True)`` reads it back."""
    if isinstance(value, dict):
        copy = type(value)((k, plain(v)) for k, v in value.items())
        if hasattr(value, "_metadata"):  # a state dict's module versions
            copy._metadata = value._metadata  # type: ignore[attr-defined]
        return copy
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    return value


def recurrent_cohort_runs(
    trials: Sequence[Member], build: Callable[[Member], tuple[Model, Extra]], splits: ReberSplits,
    config: TrainConfig, *, seed: int, context: TrialContext, eval_batch_size: int, desc: str,
) -> Iterator[tuple[int, BaseException | tuple[Model, Extra, TrainResult, float, dict[str, float]]]]:
    """The shared part of the Reber studies' ``run_cohort``: build every trial's network with ``build(trial)``
    (which returns ``(model, extra)``; a trial whose build fails yields ``(index, error)`` and the others go on),
    train them as one :class:`~sparsewire.cohorts.RecurrentCohort` on the trials' device, and yield, as each
    finishes, ``(index, TrainingDiverged)`` or ``(index, (model, extra, result, test_accuracy, timing))``, where
    ``timing`` holds ``cohort_size``, ``trial_seconds`` (its share of training plus its test) and
    ``cohort_wall_seconds``. The model is back on the CPU when yielded."""
    import time

    from sparsewire.cohorts import RecurrentCohort, evaluate_cohort, iter_train_cohort
    from sparsewire.errors import TrainingDiverged

    start = time.perf_counter()
    built: dict[int, tuple[Model, Extra]] = {}
    members: list[int] = []
    for index, trial in enumerate(trials):
        try:
            built[index] = build(trial)
            members.append(index)
        except Exception as err:  # noqa: BLE001 - e.g. a graph without an input→output path fails alone
            yield index, err
    if not members:
        return
    device = context.torch_device()
    models = [built[i][0].to(device) for i in members]
    for pos, _, result in iter_train_cohort(models, splits.train, config, build=RecurrentCohort,
                                            val_data=splits.val, seed=seed, progress=context.progress, desc=desc):
        index, model = members[pos], models[pos]  # the member iter_train_cohort yields
        if result.stopped == "diverged":
            yield index, TrainingDiverged(result.diverged_epoch or result.epochs, result.diverged_reason)
            continue
        tick = time.perf_counter()
        test = evaluate_cohort(RecurrentCohort([model]), splits.test, eval_batch_size)[0]["accuracy"]
        model.cpu()
        timing = {"cohort_size": len(models), "trial_seconds": result.seconds + time.perf_counter() - tick,
                  "cohort_wall_seconds": time.perf_counter() - start}
        yield index, (model, built[index][1], result, test, timing)
