"""Tables and plots of structural robustness: accuracy under further pruning (Van Gelder et al. 2020).

Works on any results table whose rows carry ``further_pruning_fractions`` and ``further_pruning_accuracy``
(lists, or their JSON text as in ``results.csv``) next to ``test_accuracy`` (the point at fraction 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sparsewire.results.figures import legend, plt, save
from sparsewire.results.format import as_list, mean_std

COLUMNS = ("further_pruning_fractions", "further_pruning_accuracy")
RECALIBRATED = "further_pruning_accuracy_recalibrated"
"""The same points with batch-norm statistics re-estimated after each further pruning (``further_pruning_recalibrate``)."""


def has_further_pruning(table: pd.DataFrame) -> bool:
    """Whether any row of ``table`` measured further pruning."""
    return all(c in table for c in COLUMNS) and bool(table[COLUMNS[0]].notna().any())


def further_pruning_long(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per (trial, fraction): ``keys``, ``seed``, ``fraction`` (0 = as trained) and ``accuracy``."""
    rows = []
    for _, row in table[table[COLUMNS[0]].notna()].iterrows():
        fractions, accuracies = as_list(row[COLUMNS[0]]), as_list(row[COLUMNS[1]])
        if len(fractions) != len(accuracies):
            raise ValueError(f"row {row.get('trial_id', '?')}: {len(fractions)} fractions but {len(accuracies)} accuracies")
        base = {k: row[k] for k in keys} | {"seed": row.get("seed")}
        rows.append(base | {"fraction": 0.0, "accuracy": row["test_accuracy"]})
        rows += [base | {"fraction": f, "accuracy": a} for f, a in zip(fractions, accuracies, strict=True)]
    return pd.DataFrame(rows, columns=[*keys, "seed", "fraction", "accuracy"])


def further_pruning_table(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Test accuracy (%) mean ± std over seeds per ``keys`` (rows) and further-pruning fraction (columns)."""
    long = further_pruning_long(table, keys)
    if long.empty:
        return long
    wide = long.groupby([*keys, "fraction"], sort=True, dropna=False)["accuracy"].agg(mean_std).unstack("fraction")
    wide.columns = [f"{100 * f:g}%" for f in wide.columns]
    seeds = long.groupby(list(keys), sort=True, dropna=False)["seed"].nunique().rename("seeds")
    return pd.concat([seeds, wide], axis=1).reset_index()


def plot_further_pruning(
    table: pd.DataFrame, keys: Sequence[str], path: Path, *, panels: Sequence[str] = (), title: str = ""
) -> Path:
    """Accuracy vs fraction of the remaining weights removed, one line per ``keys`` (mean ± std band over
    seeds), one panel per value of ``panels``."""
    long = further_pruning_long(table, [*panels, *keys])
    groups = list(long.groupby(list(panels), sort=True)) if panels else [((), long)]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4.2), squeeze=False)
    for ax, (panel, part) in zip(axes[0], groups, strict=True):
        for i, (key, line) in enumerate(part.groupby(list(keys), sort=True, dropna=False)):
            key = key if isinstance(key, tuple) else (key,)
            stats = line.groupby("fraction")["accuracy"].agg(["mean", "std"]).fillna(0.0) * 100
            x = stats.index.to_numpy() * 100
            colour, style = f"C{i % 10}", ("-", "--", ":")[(i // 10) % 3]  # distinct beyond 10 lines
            label = str(key[0]) if len(keys) == 1 else ", ".join(f"{k} {v}" for k, v in zip(keys, key, strict=True))
            ax.plot(x, stats["mean"], marker="o", markersize=3, color=colour, linestyle=style, label=label)
            ax.fill_between(x, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colour, alpha=0.15)
        ax.set_xlabel("further pruning (% of the remaining weights removed, no re-training)")
        ax.set_ylabel("test accuracy (%)")
        panel = panel if isinstance(panel, tuple) else (panel,)
        ax.set_title(", ".join(f"{k} {v}" for k, v in zip(panels, panel, strict=True)) or title)
        ax.grid(alpha=0.3)
        legend(ax, fontsize=7)
    return save(fig, path, title if panels else "")


def further_pruning_section(table: pd.DataFrame, keys: Sequence[str], out_dir: Path, *,
                            panels: Sequence[str] = ()) -> list[str]:
    """Markdown lines (table + plot) for a study report; empty when the study did not measure it."""
    if not has_further_pruning(table):
        return []
    measured = table[table[COLUMNS[0]].notna()]
    png = plot_further_pruning(measured, keys, out_dir / "further_pruning.png", panels=panels)
    lines = [
        "## Robustness to further pruning",
        "",
        "Test accuracy (%) after removing a further fraction of each trained network's *remaining* weights "
        "(column = fraction removed; 0% = as trained), without re-training (Van Gelder, Wortsman & Ehsani 2020); "
        "mean ± std over seeds (in the plot: shaded bands ± 1 std).",
        "",
        further_pruning_table(measured, [*panels, *keys]).to_markdown(index=False),
        "",
        f"![further pruning]({png.name})",
        "",
    ]
    if RECALIBRATED in measured and measured[RECALIBRATED].notna().any():
        recalibrated = measured[measured[RECALIBRATED].notna()].assign(further_pruning_accuracy=lambda t: t[RECALIBRATED])
        lines += ["The same, with each further-pruned network's batch-norm running statistics re-estimated on the "
                  "training split before testing (`further_pruning_recalibrate`; no weight changes): the part of the "
                  "loss above that is stale statistics, not structure.", "",
                  further_pruning_table(recalibrated, [*panels, *keys]).to_markdown(index=False), ""]
    return lines
