"""Report of ``study: reber-prune``: accuracy of pruned recurrent networks on the Reber grammar, next to
the findings of Stier, Darji & Granitzer (2021), Sec. 4.2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sparsewire.models.recurrent import CELLS
from sparsewire.results.figures import plt, save

PAPER_BASE_ACCURACY = {"rnn-tanh": 0.937, "rnn-relu": 1.0, "gru": 1.0, "lstm": 1.0}
"""Base test accuracy reported by Stier et al. (2021) for the dense networks (tanh ≈ 93.7 %, others ≈ 100 %)."""


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials (tables and plots written into ``out_dir``)."""
    base = base_accuracy_table(table)
    parts = [
        "Test accuracy (%) on the shipped Reber test set. `prune %` is the fraction of the *selected* "
        "recurrent weights (i2h, h2h or both) removed by magnitude (sparsity); `before` is right after "
        "pruning, `after` after re-training with the mask fixed. Mean over seeds (mean ± std where shown).",
        "", "## Dense networks next to the paper", "", base.to_markdown(index=False), "",
        "## The paper's pruning findings next to ours", "", paper_comparison(table).to_markdown(index=False), "",
        "## Pruning", "", pruning_table(table).to_markdown(index=False), "",
    ]
    png = accuracy_vs_pruning(table, out_dir / "accuracy_vs_pruning.png")
    parts += [f"![accuracy vs pruning]({png.name})", ""]
    return "\n".join(parts)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table ``sparsewire results`` prints: :func:`pruning_table`."""
    return pruning_table(table)


def base_accuracy_table(table: pd.DataFrame) -> pd.DataFrame:
    """Dense test accuracy per cell (mean over seeds) next to the paper's."""
    dense = table.groupby(["cell", "seed"])["dense_test_accuracy"].first().groupby("cell").agg(["mean", "std", "count"])
    return pd.DataFrame({
        "cell": dense.index,
        "seeds": dense["count"].to_numpy(),
        "test_acc_pct": (100 * dense["mean"]).round(2).to_numpy(),
        "std_pct": (100 * dense["std"]).round(2).to_numpy(),
        "paper_pct": [100 * PAPER_BASE_ACCURACY.get(c, float("nan")) for c in dense.index],
    })


def _mean_std(values: pd.Series) -> str:
    """``mean ± std`` in % (just the mean for a single value)."""
    return f"{100 * values.mean():.1f}" + (f" ± {100 * values.std():.1f}" if len(values) > 1 else "")


def pruning_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, prune %); columns ``<target> before`` / ``<target> after`` (test accuracy %, mean
    over seeds). A target pruned with several allocations gets one column pair per allocation."""
    if table.empty:
        return table
    table = table.copy()
    allocations = table.groupby("target")["allocation"].nunique()
    table["selection"] = [t if allocations[t] == 1 else f"{t} {a}" for t, a in zip(table["target"], table["allocation"], strict=True)]
    means = table.groupby(["cell", "prune_percent", "selection"])[["test_accuracy_before_retrain", "test_accuracy"]].mean() * 100
    wide = means.unstack("selection")
    assert isinstance(wide, pd.DataFrame)  # unstacking a frame gives a frame
    wide.columns = [f"{sel} {'before' if col.endswith('retrain') else 'after'}" for col, sel in zip(wide.columns.get_level_values(0), wide.columns.get_level_values(1), strict=True)]
    order = sorted(wide.columns, key=lambda c: (["i2h", "h2h", "both"].index(c.split()[0]), c.split()[1:-1], c.endswith("after")))
    return wide[order].round(2).reset_index().rename(columns={"prune_percent": "prune %"})


def paper_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """The pruning findings of Stier et al. (2021), Sec. 4.2, each next to our measured accuracies (after
    re-training; mean ± std over seeds of the mean over allocations) for the same cells, targets and
    pruning percents."""
    findings = [
        ("both pruned 80-90 %: GRU and LSTM back to 100 % after re-training", ["gru", "lstm"], "both", [80, 90]),
        ("both pruned 100 %: nothing recovers", list(CELLS), "both", [100]),
        ("h2h alone pruned 100 %: GRU and LSTM recover", ["gru", "lstm"], "h2h", [100]),
        ("h2h alone pruned 100 %: tanh and ReLU do not recover", ["rnn-tanh", "rnn-relu"], "h2h", [100]),
    ]
    rows = []
    for text, cells, target, percents in findings:
        part = table[table["cell"].isin(cells) & (table["target"] == target) & table["prune_percent"].isin(percents)]
        if part.empty:
            continue
        per_seed = part.groupby(["cell", "prune_percent", "seed"])["test_accuracy"].mean()
        ours = ", ".join(f"{cell} {pct:g}%: {_mean_std(accs)}"
                         for (cell, pct), accs in per_seed.groupby(["cell", "prune_percent"]))
        dense = part.groupby(["cell", "seed"])["dense_test_accuracy"].first()
        rows.append({"paper finding": text, "ours: test acc % after re-training": ours,
                     "dense %": ", ".join(f"{c} {_mean_std(a)}" for c, a in dense.groupby("cell"))})
    return pd.DataFrame(rows)


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
    return save(fig, path, dpi=110)
