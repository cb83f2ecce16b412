"""Plots generated from results tables (never from in-memory training state)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

LINESTYLES = ["-", "--", ":", "-."]
#: Legend entry that says what the shaded bands around mean lines are.
BAND_LABEL = "shaded band: ± 1 std over seeds"


def legend(ax: plt.Axes, *, band: bool = True, **kwargs) -> None:
    """``ax.legend`` with, when ``band``, an entry explaining the shaded mean ± std bands."""
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    if band:
        handles.append(Patch(facecolor="grey", alpha=0.3, label=BAND_LABEL))
        labels.append(BAND_LABEL)
    ax.legend(handles, labels, **kwargs)


def save(fig: plt.Figure, path: Path, title: str = "") -> Path:
    """Give ``fig`` its title, lay it out, write it to ``path`` (folders created) and close it."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def accuracy_vs_compression(table: pd.DataFrame, column: str, path: Path, title: str = "") -> Path:
    """Accuracy (%) vs compression, one line per method and schedule, mean ± std band over seeds.

    One panel per (dataset, model); the unpruned baseline (method ``none``) is a dashed line.
    """
    panels = list(table.groupby(["dataset", "model"], sort=True))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, ((dataset, model), part) in zip(axes[0], panels, strict=True):
        pruned = part[part["method"] != "none"]
        varying = [k for k in ("schedule", "rewind") if k in pruned and pruned[k].nunique(dropna=False) > 1]
        colours = {m: f"C{i % 10}" for i, m in enumerate(sorted(pruned["method"].unique()))}
        styles: dict[tuple, str] = {}
        for key, line in pruned.groupby(["method", *varying], sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            stats = line.groupby("compression")[column].agg(["mean", "std"]).fillna(0.0) * 100
            x = stats.index.to_numpy() * 100
            label = key[0] + (f" ({', '.join(map(str, key[1:]))})" if varying else "")
            style = styles.setdefault(key[1:], LINESTYLES[len(styles) % len(LINESTYLES)])
            ax.plot(x, stats["mean"], marker="o", markersize=4, color=colours[key[0]], linestyle=style, label=label)
            ax.fill_between(x, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colours[key[0]], alpha=0.15)
        base = part[part["method"] == "none"]["test_accuracy"]
        if len(base):
            ax.axhline(100 * base.mean(), color="black", linestyle="--", linewidth=1, label="unpruned (re-trained)")
        ax.set_xlabel("compression (% of prunable weights removed)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset} · {model}")
        ax.grid(alpha=0.3)
        legend(ax, fontsize=7, ncol=2 if len(ax.get_lines()) > 6 else 1)
    return save(fig, path, title)
