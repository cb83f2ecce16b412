"""Report of ``study: prune``: accuracy per method and compression, with and without re-training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sparsewire.results.figures import LINESTYLES, legend, plt, save
from sparsewire.results.format import as_list, mean_std
from sparsewire.results.further_pruning import further_pruning_section

BASELINE = "none"
"""Method of the unpruned baseline rows: the dense network re-trained with the pruned ones' recipe."""


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials: summary table, accuracy-vs-compression plots, further pruning,
    layers pruned to nothing."""
    parts = [
        "Accuracy columns (`*_pct`) are test accuracy in % (mean ± std over seeds); compression is the "
        "fraction of prunable weights removed (sparsity). `none` (listed first) is the unpruned network "
        "re-trained with the same recipe as the pruned ones. In the plots, lines are means over seeds and "
        "the shaded bands ± 1 standard deviation (no band: one seed).",
        "",
        summary(table).to_markdown(index=False),
        "",
    ]
    for column, title in [("test_accuracy", "after re-training"), ("test_accuracy_before_retrain", "before re-training")]:
        png = accuracy_vs_compression(table, column, out_dir / f"accuracy_{column}.png", title=f"Test accuracy {title}")
        parts += [f"![{title}]({png.name})", ""]
    parts += further_pruning_section(table, ["method", "schedule", "rewind"], out_dir,
                                     panels=["model", "compression"])
    empty = table[table["empty_layers"].map(len) > 0] if "empty_layers" in table else table.iloc[:0]
    if len(empty):
        parts += ["**Warning: layers pruned to zero weights** (no signal passes; accuracy is at chance):", ""]
        parts += [f"- {r.model} {r.method} @ {r.compression:.3f} seed {r.seed}: {', '.join(map(str, as_list(r.empty_layers)))}"
                  for r in empty.itertuples()]
    return "\n".join(parts)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table `sparsewire results` prints: mean ± std over seeds per (dataset, model, schedule, method,
    compression), the unpruned baseline first."""
    if table.empty:
        return table
    keys = [k for k in ["dataset", "model", "schedule", "rewind", "method", "compression"] if k in table]

    grouped = table.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(
        seeds=("seed", "nunique"),
        test_acc_pct=("test_accuracy", mean_std),
        before_retrain_pct=("test_accuracy_before_retrain", mean_std),
        dense_acc_pct=("dense_test_accuracy", mean_std),
        params_remaining=("params_remaining", "mean"),
    ).reset_index()
    out["params_remaining"] = out["params_remaining"].round().astype(int)
    return baseline_first(out)


def baseline_first(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the unpruned baseline (method ``none``) first within each (dataset, model), the rest in
    their order (``groupby`` sorts methods alphabetically, which put ``none`` between methods)."""
    if "method" not in table:
        return table
    keys = [k for k in ("dataset", "model") if k in table]
    order = table.assign(_pruned=table["method"] != BASELINE, _row=range(len(table)))
    order = order.sort_values([*keys, "_pruned", "_row"], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def accuracy_vs_compression(table: pd.DataFrame, column: str, path: Path, title: str = "") -> Path:
    """Accuracy (%) vs compression, one line per method and schedule, mean ± std band over seeds.

    One panel per (dataset, model); the unpruned baseline (method ``none``) is a dashed line.
    """
    panels = list(table.groupby(["dataset", "model"], sort=True))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, ((dataset, model), part) in zip(axes[0], panels, strict=True):
        pruned = part[part["method"] != BASELINE]
        varying = [k for k in ("schedule", "rewind") if k in pruned and pruned[k].nunique(dropna=False) > 1]
        colours = {m: f"C{i % 10}" for i, m in enumerate(sorted(pruned["method"].unique()))}
        styles: dict[tuple[Any, ...], str] = {}
        for key, line in pruned.groupby(["method", *varying], sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            stats = line.groupby("compression")[column].agg(["mean", "std"]).fillna(0.0) * 100
            x = stats.index.to_numpy() * 100
            label = str(key[0]) + (f" ({', '.join(map(str, key[1:]))})" if varying else "")
            style = styles.setdefault(key[1:], LINESTYLES[len(styles) % len(LINESTYLES)])
            ax.plot(x, stats["mean"], marker="o", markersize=4, color=colours[key[0]], linestyle=style, label=label)
            ax.fill_between(x, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colours[key[0]], alpha=0.15)
        base = part[part["method"] == BASELINE]["test_accuracy"]
        if len(base):
            ax.axhline(100 * base.mean(), color="black", linestyle="--", linewidth=1, label="unpruned (re-trained)")
        ax.set_xlabel("compression (% of prunable weights removed)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset} · {model}")
        ax.grid(alpha=0.3)
        legend(ax, fontsize=7, ncol=2 if len(ax.get_lines()) > 6 else 1)
    return save(fig, path, title)
