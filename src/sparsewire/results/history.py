"""Per-epoch training history in results rows, and its plot in reports.

A trial that trains stores ``history``: a list with one dict per epoch and training phase, as
:class:`sparsewire.training.TrainResult.history` gives it (``epoch``, ``train_loss``, ``lr``, ``val_accuracy``,
``val_loss``), tagged with the phase (``train``, ``retrain``, ``refit``; a pruning round as ``round``) and, where
the study has them, the density and the mask changes of that epoch. Values are rounded to 6 significant
digits: the column is a record to look at, not an input to further computation.

The history is a result column, never part of a trial's config, so trial ids do not change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

COLUMN = "history"
#: How many trials the report's history figure shows (a seeded sample when there are more).
SAMPLE = 8


def _round(value: Any) -> Any:
    if not isinstance(value, float):
        return value
    return float(f"{value:.6g}") if math.isfinite(value) else value


def epochs(history: Iterable[Mapping[str, Any]], **tags: Any) -> list[dict[str, Any]]:
    """``history`` (a :class:`TrainResult`'s) as compact row entries, each tagged with ``tags``
    (e.g. ``phase="retrain", round=1, density=0.2``).

    >>> epochs([{"epoch": 1, "train_loss": 0.123456789, "lr": 0.001}], phase="train")
    [{'phase': 'train', 'epoch': 1, 'train_loss': 0.123457, 'lr': 0.001}]
    """
    out = []
    for entry in history:
        row = {**tags, **entry}
        out.append({k: _round(v) for k, v in row.items()})
    return out


def entries(value: Any) -> list[dict[str, Any]]:
    """A history cell as a list of dicts (from the store, or JSON text from ``results.csv``); [] if absent."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    return list(value) if isinstance(value, list) else []


def long_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (trial, history entry) with ``trial_id`` and a global ``step`` (epochs counted across phases)."""
    rows = []
    if COLUMN not in table:
        return pd.DataFrame()
    for trial_id, cell in zip(table["trial_id"], table[COLUMN], strict=True):
        for step, entry in enumerate(entries(cell), 1):
            rows.append({"trial_id": trial_id, "step": step, **entry})
    return pd.DataFrame(rows)


def _label(row: pd.Series) -> str:
    keys = ("method", "compression", "cell", "generator", "nodes", "algorithm", "density", "freeze_epoch",
            "target", "prune_percent", "lam", "kind", "seed")
    parts = [f"{k}={row[k]:.3g}" if isinstance(row[k], float) else f"{k}={row[k]}"
             for k in keys if k in row and not (isinstance(row[k], float) and math.isnan(row[k]))]
    return " ".join(parts[:4]) or str(row["trial_id"])[:8]


def plot_history(table: pd.DataFrame, path: Path, *, sample: int = SAMPLE, seed: int = 0) -> Path | None:
    """Validation accuracy (%) and loss per epoch of up to ``sample`` trials (seeded sample; vertical dotted
    lines: where a new training phase starts). None when no trial recorded a history."""
    from sparsewire.results.figures import plt, save

    have = table[table[COLUMN].map(lambda v: len(entries(v)) > 0)] if COLUMN in table else table.iloc[:0]
    if have.empty:
        return None
    picked = have.sample(n=min(sample, len(have)), random_state=seed).sort_values("trial_id")
    long = long_table(picked)
    accuracy = "val_accuracy" if "val_accuracy" in long and long["val_accuracy"].notna().any() else None
    loss = "val_loss" if "val_loss" in long and long["val_loss"].notna().any() else "train_loss"
    panels = [c for c in (accuracy, loss) if c is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for i, (_, row) in enumerate(picked.iterrows()):
        part = long[long["trial_id"] == row["trial_id"]]
        for ax, column in zip(axes[0], panels, strict=True):
            scale = 100 if column.endswith("accuracy") else 1
            ax.plot(part["step"], scale * part[column], marker="o", markersize=3, color=f"C{i % 10}",
                    label=_label(row))
            if "phase" in part:
                key = part["phase"].astype(str) + "/" + (part["round"].astype(str) if "round" in part else "")
                for x in part["step"][key.ne(key.shift())].iloc[1:]:
                    ax.axvline(x - 0.5, color=f"C{i % 10}", linestyle=":", linewidth=0.8)
    names = {"val_accuracy": "validation accuracy (%)", "val_loss": "validation loss", "train_loss": "training loss"}
    for ax, column in zip(axes[0], panels, strict=True):
        ax.set_xlabel("epoch (all training phases in order)")
        ax.set_ylabel(names[column])
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save(fig, path, f"Training history of {len(picked)} of {len(have)} trials")


def history_section(table: pd.DataFrame, out_dir: Path) -> list[str]:
    """Markdown lines for a report: the history figure, or nothing when no trial recorded one."""
    png = plot_history(table, out_dir / "training_history.png")
    if png is None:
        return []
    return ["## Training history", "",
            f"Per-epoch validation accuracy and loss of a sample of trials (the `{COLUMN}` column of "
            "`results.csv` holds every trial's: loss, accuracy, learning rate, and density or mask changes where "
            "the study has them). Dotted lines: a new training phase (e.g. re-training after pruning) starts.", "",
            f"![training history]({png.name})", ""]
