"""Plots of the Reber studies, drawn from results tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def accuracy_vs_pruning(table: pd.DataFrame, path: Path) -> Path:
    """Test accuracy (%) vs pruning % (sparsity of the selected matrices), one panel per recurrent cell.

    Solid lines: after re-training; dashed: right after pruning; dotted black: the dense network.
    """
    cells = sorted(table["cell"].unique())
    fig, axes = plt.subplots(1, len(cells), figsize=(4.6 * len(cells), 4.0), squeeze=False, sharey=True)
    for ax, cell in zip(axes[0], cells, strict=True):
        part = table[table["cell"] == cell]
        for i, ((target, allocation), line) in enumerate(part.groupby(["target", "allocation"], sort=True)):
            stats = line.groupby("prune_percent")[["test_accuracy", "test_accuracy_before_retrain"]].mean() * 100
            label = target if part[part["target"] == target]["allocation"].nunique() == 1 else f"{target} ({allocation})"
            color = f"C{i}"
            ax.plot(stats.index, stats["test_accuracy"], marker="o", color=color, label=f"{label} after")
            ax.plot(stats.index, stats["test_accuracy_before_retrain"], linestyle="--", marker=".", color=color,
                    alpha=0.7, label=f"{label} before")
        ax.axhline(100 * part["dense_test_accuracy"].mean(), color="black", linestyle=":", label="dense")
        ax.set_title(cell)
        ax.set_xlabel("pruned (% of selected recurrent weights)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
