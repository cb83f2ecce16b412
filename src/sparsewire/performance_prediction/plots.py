"""Plots of performance prediction: correlation bars and predicted-vs-actual scatter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sparsewire.results.figures import plt, save


def correlation_bars(correlations: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Horizontal bars of Pearson r and Spearman ρ of each feature with accuracy."""
    data = correlations.iloc[::-1]
    y = np.arange(len(data))
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(data) + 1.5))
    ax.barh(y - 0.2, data["pearson"].fillna(0), height=0.4, label="Pearson r")
    ax.barh(y + 0.2, data["spearman"].fillna(0), height=0.4, label="Spearman ρ")
    ax.set_yticks(y, data["feature"], fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("correlation with accuracy")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return save(fig, path, dpi=110)


def predicted_vs_actual(scatter: pd.DataFrame, path: Path, r2: float, title: str = "") -> Path:
    """Out-of-fold predicted vs actual accuracy (%) with the identity line and R²."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    actual, predicted = 100 * scatter["actual"], 100 * scatter["predicted"]
    ax.scatter(actual, predicted, s=12, alpha=0.7)
    lo, hi = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
    ax.plot([lo, hi], [lo, hi], color="black", linestyle="--", linewidth=1, label="y = x (perfect prediction)")
    ax.set_xlabel("actual test accuracy (%)")
    ax.set_ylabel("predicted (out-of-fold, %)")
    heading = title or "Predicted vs actual test accuracy"
    ax.set_title(f"{heading}\nout-of-fold predictions, R² = {r2:.3f}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return save(fig, path, dpi=110)
