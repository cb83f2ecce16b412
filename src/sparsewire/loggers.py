"""Optional experiment loggers for ``sparsewire run --log tensorboard|mlflow`` (neither is required).

Each finished trial is logged from its stored row, after the row is in ``results.sqlite`` (so logging works the
same for trials run alone, in cohorts or on Ray workers): its scalar config values as parameters, its scalar
results as final metrics, and its per-epoch ``history`` (loss, accuracy, learning rate, density, mask changes)
as metrics by epoch.

- ``tensorboard``: :class:`torch.utils.tensorboard.SummaryWriter`, one run folder per trial under
  ``DIR/tensorboard/`` (``tensorboard --logdir DIR/tensorboard``). Needs the ``tensorboard`` package.
- ``mlflow``: one MLflow run per trial in the experiment named after the study, in a local file store
  ``DIR/mlruns`` (``mlflow ui --backend-store-uri DIR/mlruns``). Needs the ``mlflow`` package.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sparsewire.errors import ConfigError
from sparsewire.results.history import entries

KINDS = ("tensorboard", "mlflow")
_NEEDS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}


def _scalars(values: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))}


def _params(config: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in config.items() if isinstance(v, str | int | float | bool) or v is None}


def _steps(row: Mapping[str, Any]) -> Iterable[tuple[int, dict[str, float]]]:
    for step, entry in enumerate(entries(row.get("history")), 1):
        yield step, _scalars({k: v for k, v in entry.items() if k not in ("epoch", "round")})


class TensorBoardLogger:
    def __init__(self, out_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer_type = SummaryWriter
        self.root = out_dir / "tensorboard"

    def log(self, trial_id: str, study: str, config: Mapping[str, Any], row: Mapping[str, Any]) -> None:
        writer = self._writer_type(log_dir=str(self.root / trial_id))
        try:
            for step, values in _steps(row):
                for key, value in values.items():
                    writer.add_scalar(f"history/{key}", value, step)
            final = _scalars({k: v for k, v in row.items() if k != "history"})
            writer.add_hparams(_params(config), {f"final/{k}": v for k, v in final.items()}, run_name=".")
        finally:
            writer.close()

    def close(self) -> None:
        pass


class MLflowLogger:
    def __init__(self, out_dir: Path, study: str) -> None:
        import mlflow

        # MLflow >= 3 keeps the local file store in maintenance mode and refuses it unless this is set; the
        # file store is what `mlflow ui --backend-store-uri DIR/mlruns` reads without a database
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.mlflow = mlflow
        mlflow.set_tracking_uri((out_dir / "mlruns").resolve().as_uri())
        mlflow.set_experiment(study)

    def log(self, trial_id: str, study: str, config: Mapping[str, Any], row: Mapping[str, Any]) -> None:
        with self.mlflow.start_run(run_name=trial_id):
            self.mlflow.log_params(_params(config))
            for step, values in _steps(row):
                self.mlflow.log_metrics(values, step=step)
            self.mlflow.log_metrics(_scalars({k: v for k, v in row.items() if k != "history"}))

    def close(self) -> None:
        pass


class Loggers:
    """The loggers a run asked for; :meth:`log` hands every finished trial's row to each."""

    def __init__(self, members: list[TensorBoardLogger | MLflowLogger]) -> None:
        self.members = members

    def log(self, trial_id: str, study: str, config: Mapping[str, Any], row: Mapping[str, Any]) -> None:
        for member in self.members:
            member.log(trial_id, study, config, row)

    def close(self) -> None:
        for member in self.members:
            member.close()


def check_available(kinds: Iterable[str]) -> None:
    """Raise a one-line :class:`ConfigError` naming what to install when a requested logger's package is absent."""
    for kind in kinds:
        if kind not in KINDS:
            raise ConfigError(f"unknown logger {kind!r}; choose from {', '.join(KINDS)}")
        package = _NEEDS[kind]
        if package not in sys.modules and importlib.util.find_spec(package) is None:
            raise ConfigError(f"--log {kind} needs the {package} package: python3 -m pip install {package}")


def make_loggers(kinds: Iterable[str], out_dir: str | Path, study: str) -> Loggers | None:
    """The loggers for ``--log`` values (None when none was asked for)."""
    kinds = list(dict.fromkeys(kinds))
    if not kinds:
        return None
    check_available(kinds)
    out_dir = Path(out_dir)
    return Loggers([TensorBoardLogger(out_dir) if k == "tensorboard" else MLflowLogger(out_dir, study) for k in kinds])
