"""Report of ``study: layer-sparsity``: the λ path of the layer penalty, collapse, refit and latency
(Hebiri & Lederer 2020, arXiv 2006.15604)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sparsewire.results.figures import LINESTYLES, plt, save
from sparsewire.results.format import mean_std


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials (tables and plots written into ``out_dir``)."""
    parts = [
        "Layer sparsity (Hebiri & Lederer 2020): penalty `λ Σ_j ‖neg([W_j, b_j])‖₂` on the hidden layers after the first (all of them with inputs in [0, 1]) "
        "(Frobenius norm of the negative part, one group per layer, so a proximal step clears a whole "
        "layer's negative part at once), then collapse of the hidden layers whose ReLU is provably the "
        "identity, then refitting without the layer penalty. λ = 0 is the unregularised network of the same "
        "depth with the same training (penalised phase + refit epochs). Accuracies are test accuracy in %, "
        "mean ± std over seeds; *active* hidden layers are the ReLUs left after collapsing; latency ratio = "
        "collapsed / original forward time (median of interleaved rounds in one process; < 1 is faster).",
        "",
    ]
    if "inputs" in table and (table["inputs"] == "unit").any():
        parts += [
            "**Inputs in [0, 1]:** pixels were mapped back to [0, 1], so every input is non-negative, the "
            "first layer is penalised too and may collapse (a network with no ReLU left is one linear map).",
            "",
        ]
    if "layer_weights" in table and table["layer_weights"].notna().any():
        weights = sorted(set(table["layer_weights"].dropna().astype(str)))
        parts += [f"**Per-layer weights r_j** (one per linear layer, output last): {', '.join(weights)}.", ""]
    if "input_min" in table and (table["input_min"] < 0).any():
        parts += [
            f"**First layer not collapsed:** the normalised inputs are negative in places (smallest value "
            f"{table['input_min'].min():.3f}), so a non-negative first layer would not make its ReLU the "
            "identity; the penalty leaves it alone and at most "
            f"{int(table['hidden_layers'].max()) - 1} of {int(table['hidden_layers'].max())} hidden layers can "
            "collapse.",
            "",
        ]
    parts += [
        "At λ = 0 nothing collapses, so the latency ratio compares two identical networks: its spread is the "
        "timing noise of this shared machine. Rows with 1 hidden layer (if any) are controls: the architecture "
        "a fully collapsed network ends up with, trained from scratch with the same recipe.",
        "",
        summary(table).to_markdown(index=False),
        "",
    ]
    best = best_tradeoffs(table)
    if not best.empty:
        parts += ["## Best trade-off per dataset and depth", "",
                  "The λ with the most collapsed layers whose mean accuracy after refitting is within 1 point of "
                  "the unregularised network (λ = 0); if none qualifies, the most accurate regularised λ.", "",
                  best.to_markdown(index=False), ""]
    png = _accuracy_vs_active(table, out_dir / "accuracy_vs_active_layers.png")
    parts += [f"![accuracy vs active layers]({png.name})", ""]
    lat = [c for c in table.columns if c.startswith("latency_ratio_b")]
    if lat:
        png = _latency_ratio(table, lat, out_dir / "latency_ratio.png")
        parts += [f"![latency ratio]({png.name})", ""]
    return "\n".join(parts)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table ``sparsewire results`` prints: mean ± std over seeds per (dataset, depth, λ)."""
    if table.empty:
        return table
    rows = []
    for (dataset, depth, lam), part in table.groupby(["dataset", "hidden_layers", "lam"], sort=True):
        row = {
            "dataset": dataset,
            "hidden_layers": depth,
            "lam": lam,
            "seeds": part["seed"].nunique(),
            "active_hidden": mean_std(part["active_hidden_layers"], 1, 1),
            "acc_penalised_pct": mean_std(part["test_accuracy_penalised"]),
            "acc_refit_pct": mean_std(part["test_accuracy_refit"]),
            "params": int(round(part["params_collapsed"].mean())),
            "params_original": int(part["params_original"].max()),
            "mflops": round(part["flops_collapsed"].mean() / 1e6, 4),
        }
        for column in sorted(c for c in part.columns if c.startswith("latency_ratio_b")):
            row[column.replace("latency_ratio_", "lat_ratio_")] = mean_std(part[column], 1, 3)
        rows.append(row)
    return pd.DataFrame(rows)


def best_tradeoffs(table: pd.DataFrame, tolerance: float = 0.01) -> pd.DataFrame:
    """Per dataset and depth: the regularised λ with most collapsed layers within ``tolerance`` of λ = 0
    (same depth) after refitting; the most accurate regularised λ if none qualifies."""
    rows = []
    for (dataset, depth), part in table.groupby(["dataset", "hidden_layers"], sort=True):
        base = part[part["lam"] == 0]
        reg = part[part["lam"] > 0]
        if base.empty or reg.empty:
            continue
        stats = reg.groupby("lam").agg(acc=("test_accuracy_refit", "mean"), collapsed=("n_collapsed", "mean"))
        base_acc = base["test_accuracy_refit"].mean()
        ok = stats[stats["acc"] >= base_acc - tolerance]
        lam = (ok.sort_values(["collapsed", "acc"], ascending=False).index[0] if not ok.empty
               else stats["acc"].idxmax())
        chosen = reg[reg["lam"] == lam]
        rows.append({
            "dataset": dataset,
            "hidden_layers": depth,
            "lam": lam,
            "within_1pt": not ok.empty,
            "active_hidden": mean_std(chosen["active_hidden_layers"], 1, 1),
            "acc_refit_pct": mean_std(chosen["test_accuracy_refit"]),
            "baseline_acc_pct (λ=0, same depth)": mean_std(base["test_accuracy_refit"]),
            "delta_pts": round(100 * (chosen["test_accuracy_refit"].mean() - base_acc), 2),
            "params": f"{int(chosen['params_collapsed'].mean())} vs {int(base['params_collapsed'].mean())}",
        })
    return pd.DataFrame(rows)


def _accuracy_vs_active(table: pd.DataFrame, path: Path) -> Path:
    panels = list(table.groupby("dataset", sort=True))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (dataset, part) in zip(axes[0], panels, strict=True):
        for k, (depth, sub) in enumerate(part.groupby("hidden_layers", sort=True)):
            stats = sub.groupby("lam").agg(
                active=("active_hidden_layers", "mean"), active_sd=("active_hidden_layers", "std"),
                refit=("test_accuracy_refit", "mean"), refit_sd=("test_accuracy_refit", "std"),
                pen=("test_accuracy_penalised", "mean"), pen_sd=("test_accuracy_penalised", "std"),
            ).fillna(0.0)
            color = colors[k % len(colors)]
            ax.errorbar(stats["active"], 100 * stats["pen"], xerr=stats["active_sd"], yerr=100 * stats["pen_sd"],
                        fmt="x", color=color, alpha=0.5, label=f"{depth} hidden: before refitting")
            ax.errorbar(stats["active"], 100 * stats["refit"], xerr=stats["active_sd"], yerr=100 * stats["refit_sd"],
                        fmt="o", color=color, label=f"{depth} hidden: after refitting")
            for lam, st in stats.iterrows():
                ax.annotate(f"λ={lam:g}", (st["active"], 100 * st["refit"]), textcoords="offset points",
                            xytext=(4, 3), fontsize=7, color=color)
        ax.set_xlabel("active hidden layers (ReLUs left after collapsing)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset} (λ = 0: unregularised, same depth)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, path)


def _latency_ratio(table: pd.DataFrame, columns: list[str], path: Path) -> Path:
    panels = list(table.groupby("dataset", sort=True))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (dataset, part) in zip(axes[0], panels, strict=True):
        for k, column in enumerate(sorted(columns, key=lambda c: int(c.rsplit("b", 1)[1]))):
            for depth, sub in part.groupby("hidden_layers", sort=True):
                stats = sub.groupby("lam")[column].agg(["mean", "std"]).fillna(0.0)
                ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3,
                            linestyle=LINESTYLES[k % len(LINESTYLES)],
                            label=f"batch {column.rsplit('b', 1)[1]}, {depth} hidden")
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel("λ (layer penalty)")
        ax.set_ylabel("latency collapsed / original (< 1: faster)")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, path)
