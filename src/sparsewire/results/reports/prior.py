"""Report of ``study: prior``: accuracy of networks built from random-graph priors, and which structural
features go with it (Stier, Darji & Granitzer 2021, Sec. 3–4)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sparsewire.graphs.features import FEATURE_NAMES
from sparsewire.results.figures import plt, save
from sparsewire.results.format import mean_std

MAX_LABELLED_SIZES = 12
"""Up to this many distinct graph sizes, accuracy vs nodes labels every size on a log axis and joins them by
lines; more (sizes drawn from a range) are points on a linear axis."""


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials (tables and plots written into ``out_dir``)."""
    corr = feature_correlations(table)
    parts = [
        "Networks built from random graphs (Stier, Darji & Granitzer 2021): every node a ReLU neuron, layered "
        "by longest path, input fully attached to the sources, output read from the sinks. Accuracy is test "
        "accuracy in %, mean ± std over seeds; `nodes`, `edges`, `layers` are the graph's (mean over seeds); "
        "`weights` counts all kept weights including the input and output attachments.",
        "",
        summary(table).to_markdown(index=False),
        "",
        "## Which structural features go with accuracy?",
        "",
        "Spearman rank correlation of each feature with test accuracy over all trials (n = "
        f"{len(table)}). Features are strongly correlated with size, so these are associations, not effects.",
        "",
        corr.to_markdown(index=False, floatfmt=".3f") if not corr.empty else "(too few trials)",
        "",
    ]
    for png in plot_prior_results(table, out_dir):
        parts += [f"![{png.stem}]({png.name})", ""]
    return "\n".join(parts)



SIZE_RANGES = 4
"""With more than :data:`MAX_LABELLED_SIZES` distinct sizes the summary groups networks into this many equal-width
node ranges instead of one row per size."""


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table ``sparsewire results`` prints: mean ± std of test accuracy per (dataset, generator, params, size),
    with graph sizes. Sizes drawn from a range (more than :data:`MAX_LABELLED_SIZES` distinct ones) are grouped
    into :data:`SIZE_RANGES` node ranges, each labelled by the smallest and largest size in it, with its count of
    networks."""
    if table.empty:
        return table
    table = table.assign(params=table["params"].astype(str))
    keys = ["dataset", "generator", "params", "nodes_requested"]
    stats = {"seeds": ("seed", "nunique"), "test_acc_pct": ("test_accuracy", mean_std), "edges": ("edges", "mean"),
             "layers": ("layers", "mean"), "weights": ("weights_remaining", "mean"),
             "diameter": ("diameter", "mean")}
    ranged = table["nodes_requested"].nunique() > MAX_LABELLED_SIZES
    if ranged:
        nodes = table["nodes_requested"]
        bins = pd.cut(nodes, SIZE_RANGES, labels=False, include_lowest=True)
        bounds = nodes.groupby(bins).agg(["min", "max"])
        labels = {b: f"{int(lo)}–{int(hi)}" for b, lo, hi in zip(bounds.index, bounds["min"], bounds["max"], strict=True)}
        table = table.assign(size_range=bins, nodes_requested=bins.map(labels))
        keys = [*keys[:-1], "size_range", "nodes_requested"]
        stats = {"networks": ("seed", "size"), **stats}
    out = table.groupby(keys, sort=True).agg(**stats).reset_index().rename(columns={"nodes_requested": "nodes"})
    if ranged:
        out = out.drop(columns="size_range")
    return out.round({"edges": 1, "layers": 1, "weights": 0, "diameter": 1})


def feature_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation of every structural feature with test accuracy (constant features omitted)."""
    if len(table) < 3:
        return pd.DataFrame()
    rows = []
    for name in [*FEATURE_NAMES, "log10_paths", "weights_remaining"]:
        if name in table and table[name].nunique() > 1:
            rows.append({"feature": name, "spearman_vs_accuracy": table[name].corr(table["test_accuracy"], method="spearman")})
    out = pd.DataFrame(rows)
    return out.reindex(out["spearman_vs_accuracy"].abs().sort_values(ascending=False).index) if rows else out


def plot_prior_results(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Accuracy vs graph size per generator, and accuracy vs two structural features."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sizes = sorted(table["nodes_requested"].unique())
    few = len(sizes) <= MAX_LABELLED_SIZES  # a few listed sizes: joined and labelled; drawn sizes: points
    for (dataset, generator), part in table.groupby(["dataset", "generator"], sort=True):
        stats = part.groupby("nodes_requested")["test_accuracy"].agg(["mean", "std"]).fillna(0.0) * 100
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3 if few else 0,
                    linestyle="-" if few else "none", markersize=6 if few else 3, label=f"{generator} ({dataset})")
    ax.set_xlabel("graph nodes (neurons)")
    ax.set_ylabel("test accuracy (%)")
    if few:
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(save(fig, out_dir / "accuracy_vs_nodes.png"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, feature in zip(axes, ["average_shortest_path_length", "edges"], strict=True):
        for generator, part in table.groupby("generator", sort=True):
            ax.scatter(part[feature], 100 * part["test_accuracy"], label=generator, s=18)
        ax.set_xlabel(feature)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    paths.append(save(fig, out_dir / "accuracy_vs_features.png"))
    return paths
