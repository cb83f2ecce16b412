"""Report of ``study: search``: architecture search by training at an equal budget of trained networks
(``predictor-ga``, ``ga``, ``random``; issue 17), each search's best network against a LeNet-5 of equal
parameter count, and whether the online surrogate ranks new genomes better than their size does."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from sparsewire.architecture_search.assisted import METHODS
from sparsewire.architecture_search.surrogate import rank_correlation
from sparsewire.results.figures import plt, save
from sparsewire.results.format import as_list, mean_std


def _trained_prefixes(table: pd.DataFrame) -> bool:
    """Whether any search trained training-curve prefixes (its budget is then network-epochs)."""
    return "prefix_trained" in table and bool((table["prefix_trained"].fillna(0) > 0).any())


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials (plots written into ``out_dir``)."""
    budget = ("network-epochs (a prefix training is charged as its fraction of an epoch)" if _trained_prefixes(table)
              else "trained networks")
    parts = [
        f"Architecture search at an equal budget of {budget}: `predictor-ga` (a genetic algorithm whose "
        "children are screened by a random forest retrained on every trained network), `ga` (every child "
        "trained) and `random`. Fitness = validation accuracy; *best test* is the test accuracy of each search's "
        "best network by validation accuracy (trained again with its seed). Accuracies in %, mean ± std over "
        "search seeds; *surrogate ρ* is the Spearman correlation of the forest's prediction (before training) "
        "with the real validation accuracy of new genomes.", "",
        method_summary(table).to_markdown(index=False), "",
    ]
    parts += [comparisons(table), "", goals(table), ""]
    spent = budget_table(table)
    if not spent.empty:
        parts += ["## Budget spent", "",
                  "Per search, mean over seeds: networks trained fully, prefix trainings (predictor-ga's second "
                  "screening stage), network-epochs of both (the budget: equal for every method), training GFLOPs "
                  "(2 FLOPs per MAC, forward + backward = 3 forward passes, plus validation passes) and wall time.", "",
                  spent.to_markdown(index=False), ""]
    baseline = surrogate_vs_size(table)
    if not baseline.empty:
        parts += ["## Does the surrogate know more than size?", "",
                  "Spearman ρ with the real validation accuracy, on the same new genomes (those it predicted), of "
                  "the forest's prediction and of the parameter or MAC count alone; mean over searches.", "",
                  baseline.to_markdown(index=False), ""]
    lenet = lenet_table(table)
    if not lenet.empty:
        parts += ["## Best network vs LeNet-5 of equal parameter count", "",
                  "Same data, recipe and batch order; LeNet-5's widths scaled to the best network's parameter count.",
                  "", lenet.to_markdown(index=False), ""]
    for png in plot_search(table, out_dir):
        parts += [f"![{png.stem}]({png.name})", ""]
    return "\n".join(parts)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table ``sparsewire results`` prints: :func:`method_summary`."""
    return method_summary(table)


def method_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: searches, networks trained, best validation and test accuracy, best parameters, surrogate ρ."""
    if table.empty:
        return table
    rows = []
    for method in [m for m in METHODS if m in set(table["method"])]:
        part = table[table["method"] == method]
        rows.append({"method": method, "searches": len(part),
                     "networks": int(part["networks"].map(lambda v: len(as_list(v))).mean()),
                     "best_val_pct": mean_std(part["best_val_accuracy"]),
                     "best_test_pct": mean_std(part["best_test_accuracy"]),
                     "best_params": int(part["best_params"].mean()),
                     "surrogate_rho": f"{part['surrogate_spearman'].mean():.2f}"})
    return pd.DataFrame(rows)


def comparisons(table: pd.DataFrame) -> str:
    """Welch's t-test and Mann–Whitney U of best test accuracy, predictor-ga vs each other method."""
    if "predictor-ga" not in set(table["method"]):
        return ""
    ours = table.loc[table["method"] == "predictor-ga", "best_test_accuracy"]
    lines = ["## Significance (best test accuracy per search)", ""]
    for other in ("ga", "random"):
        theirs = table.loc[table["method"] == other, "best_test_accuracy"]
        if len(theirs) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # identical values: p is nan
            welch = stats.ttest_ind(ours, theirs, equal_var=False).pvalue if min(len(ours), len(theirs)) > 1 else math.nan
            mwu = stats.mannwhitneyu(ours, theirs, alternative="two-sided").pvalue
            paired = pd.concat([by_seed(table, "predictor-ga"), by_seed(table, other)], axis=1, join="inner")
            diff = paired.iloc[:, 0] - paired.iloc[:, 1]
            t_paired = stats.ttest_rel(paired.iloc[:, 0], paired.iloc[:, 1]).pvalue if len(paired) > 1 else math.nan
            wilcoxon = stats.wilcoxon(diff).pvalue if len(paired) > 1 and diff.abs().sum() > 0 else math.nan
        lines.append(f"- predictor-ga vs {other}: {100 * ours.mean():.2f} vs {100 * theirs.mean():.2f} % "
                     f"({100 * (ours.mean() - theirs.mean()):+.2f} points; Welch p = {welch:.3g}, Mann–Whitney p = "
                     f"{mwu:.3g}; {len(ours)} vs {len(theirs)} searches). Paired by search seed (the seeds share "
                     f"generation 0): {100 * diff.mean():+.2f} points, better in {int((diff > 0).sum())} of {len(diff)} "
                     f"seeds, paired t p = {t_paired:.3g}, Wilcoxon p = {wilcoxon:.3g}")
    return "\n".join(lines)


def surrogate_vs_size(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: the surrogate's Spearman ρ on new genomes beside that of parameters and MACs alone."""
    rows = []
    for row in table.itertuples():
        new = [r for r in as_list(row.networks) if r["predicted"] is not None]
        actual = [r["accuracy"] for r in new]
        rows.append({"method": row.method, "surrogate": rank_correlation([r["predicted"] for r in new], actual),
                     "parameters": rank_correlation([r["params"] for r in new], actual),
                     "macs": rank_correlation([r["macs"] for r in new], actual)})
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows).groupby("method", sort=False).mean().round(2).reset_index()
    return out.rename(columns={"surrogate": "rho_surrogate", "parameters": "rho_parameters", "macs": "rho_macs"})


def budget_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: the search's cost in trainings, network-epochs, training FLOPs and minutes (searches that
    recorded it, i.e. with a training-curve prefix)."""
    if "network_epochs" not in table:
        return pd.DataFrame()
    part = table[table["network_epochs"].notna()]
    grouped = part.groupby("method", sort=False)
    return pd.DataFrame({
        "networks_trained": grouped["networks_trained"].mean(), "prefix_trainings": grouped["prefix_trained"].mean(),
        "network_epochs": grouped["network_epochs"].mean().round(2),
        "train_gflops": (grouped["train_flops"].mean() / 1e9).round(1),
        "search_minutes": (grouped["search_seconds"].mean() / 60).round(1)}).reset_index()


def by_seed(table: pd.DataFrame, method: str) -> pd.Series:
    """Best test accuracy of ``method``'s searches, indexed by search seed."""
    part = table[table["method"] == method]
    return part.set_index("search_seed")["best_test_accuracy"].rename(method)


def goals(table: pd.DataFrame) -> str:
    """Issue 17's three goals, each stated as met or missed from the stored rows."""
    lines = ["## Goals (issue 17)", ""]
    methods = set(table["method"])
    if {"predictor-ga", "random"} <= methods:
        ours = table.loc[table["method"] == "predictor-ga", "best_test_accuracy"]
        theirs = table.loc[table["method"] == "random", "best_test_accuracy"]
        gain = 100 * (ours.mean() - theirs.mean())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p = stats.ttest_ind(ours, theirs, equal_var=False).pvalue if min(len(ours), len(theirs)) > 1 else math.nan
        met = gain >= 1 and p < 0.05
        lines.append(f"- predictor-assisted beats random search by >= 1 point, significantly: **{'met' if met else 'missed'}** "
                     f"({gain:+.2f} points, Welch p = {p:.3g})")
    if "predictor-ga" in methods:
        rho = table.loc[table["method"] == "predictor-ga", "surrogate_spearman"]
        blind = table.loc[table["method"] != "predictor-ga", "surrogate_spearman"]
        screened, unscreened = rho.mean() >= 0.5, len(blind) > 0 and blind.mean() >= 0.5
        verdict = {(True, True): "met", (False, False): "missed", (False, True): "met on genomes it did not choose, "
                   "missed on the children it screened", (True, False): "met on the children it screened, missed on "
                   "genomes it did not choose"}[(bool(screened), bool(unscreened))]
        lines.append(f"- surrogate Spearman >= 0.5 on new genomes: **{verdict}** (children predictor-ga trained after "
                     f"screening: {rho.mean():.2f}, per search {', '.join(f'{r:.2f}' for r in rho)}; new genomes of the "
                     f"ga and random searches, which it predicted but did not choose: {blind.mean():.2f})")
    if "lenet5_test_accuracy" in table:
        lines.append(lenet_goal(table))
    return "\n".join(lines)


def lenet_goal(table: pd.DataFrame) -> str:
    """The LeNet-5 goal judged on every search's best network against its LeNet-5 (one training run each,
    paired by search), not on the single best one: that one is the maximum of many noisy runs."""
    best = best_search(table)
    gap = 100 * (table["best_test_accuracy"] - table["lenet5_test_accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all differences zero: p is nan
        p = stats.wilcoxon(gap).pvalue if len(gap) > 1 and gap.abs().sum() > 0 else math.nan
    if p < 0.05:
        verdict = "met" if gap.mean() > 0 else "missed (LeNet-5 is better)"
    else:
        verdict = "not shown (within training noise)"
    margin = 100 * (best["best_test_accuracy"] - best["lenet5_test_accuracy"])
    return (f"- the best found network beats LeNet-5 of equal parameter count: **{verdict}** (each search's best vs "
            f"its LeNet-5, one training run each: {gap.mean():+.2f} points on average, better in "
            f"{int((gap > 0).sum())} of {len(table)} searches, Wilcoxon p = {p:.3g}; the best network overall, "
            f"{100 * best['best_test_accuracy']:.2f} vs {100 * best['lenet5_test_accuracy']:.2f} % at "
            f"{int(best['best_params'])} vs {int(best['lenet5_params'])} parameters ({margin:+.2f} points), is one run "
            "each and the maximum of many: `benchmarks/search_best_vs_lenet.py` retrains it over training seeds)")


def lenet_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per search: the best network's test accuracy and parameters beside the LeNet-5 of equal size."""
    if "lenet5_test_accuracy" not in table:
        return pd.DataFrame()
    out = table[["method", "search_seed", "best_params", "best_test_accuracy", "lenet5_params", "lenet5_test_accuracy"]].copy()
    out["best_test_accuracy"] *= 100
    out["lenet5_test_accuracy"] *= 100
    out["difference_points"] = out["best_test_accuracy"] - out["lenet5_test_accuracy"]
    return out.round(2)


def plot_search(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Search curves, the accuracy–parameters Pareto front and the best genome drawn as a graph."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, method in enumerate(m for m in METHODS if m in set(table["method"])):
        curves = [100 * np.asarray(as_list(c)) for c in table.loc[table["method"] == method, "curve"]]
        for curve in curves:
            ax.plot(np.arange(1, len(curve) + 1), curve, color=f"C{i}", alpha=0.3, linewidth=0.8)
        length = min(len(c) for c in curves)
        ax.plot(np.arange(1, length + 1), np.mean([c[:length] for c in curves], 0), color=f"C{i}", label=f"{method} (mean)")
    ax.set_xlabel("networks trained fully (prefix trainings not counted)" if _trained_prefixes(table)
                  else "networks trained")
    ax.set_ylabel("best validation accuracy so far (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(save(fig, out_dir / "search_curves.png"))

    networks = pd.DataFrame([{**r, "method": row.method} for row in table.itertuples() for r in as_list(row.networks)])
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, method in enumerate(m for m in METHODS if m in set(networks["method"])):
        part = networks[networks["method"] == method]
        ax.scatter(part["params"], 100 * part["accuracy"], s=10, alpha=0.5, color=f"C{i}", label=method)
    front = pareto_front(networks)
    ax.step(front["params"], 100 * front["accuracy"], where="post", color="black", linewidth=1, label="Pareto front (all)")
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("validation accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(save(fig, out_dir / "pareto_front.png"))

    best = best_search(table)
    paths.append(draw_genome(best["space"], best["best_genome"], out_dir / "best_genome.png",
                             f"best genome: {best['method']} seed {best['search_seed']}, "
                             f"val {100 * best['best_val_accuracy']:.2f} %, {int(best['best_params'])} params"))
    return paths


def best_search(table: pd.DataFrame) -> pd.Series:
    """The row of the search whose best network has the highest validation accuracy (the first of ties)."""
    return table.iloc[int(np.argmax(table["best_val_accuracy"].to_numpy()))]


def pareto_front(networks: pd.DataFrame) -> pd.DataFrame:
    """The networks no other beats in both accuracy (higher) and parameters (fewer), by parameters."""
    ordered = networks.sort_values(["params", "accuracy"], ascending=[True, False])
    keep, best = [], -math.inf
    for index, row in ordered.iterrows():
        if row["accuracy"] > best:
            keep.append(index)
            best = row["accuracy"]
    return ordered.loc[keep]


def draw_genome(kind: str, key: str, path: Path, title: str = "") -> Path:
    """A genome's DAG drawn left to right, from the image to the read-out head (cells labelled with their
    width and stage)."""
    from sparsewire.architecture_search.cells import CellGenome

    labels: dict[object, str] = {}
    if kind == "conv-cells":
        genome = CellGenome.from_json(json.loads(key))
        graph = genome.graph()
        labels = {i: f"{i}\n{c}ch s{s}" for i, (c, s) in enumerate(zip(genome.channels, genome.stages, strict=True))}
    else:
        from sparsewire.architecture_search.genetic import from_key

        graph = from_key(json.loads(key))
    sources = [v for v in graph if graph.in_degree(v) == 0]
    sinks = [v for v in graph if graph.out_degree(v) == 0]
    graph.add_edges_from(("image", v) for v in sources)
    graph.add_edges_from((v, "head") for v in sinks)
    labels |= {"image": "image", "head": "linear\nhead" if kind == "conv-cells" else "head"}
    for layer, nodes in enumerate(nx.topological_generations(graph)):
        for node in nodes:
            graph.nodes[node]["layer"] = layer
    position = nx.multipartite_layout(graph, subset_key="layer")
    fig, ax = plt.subplots(figsize=(7, 4))
    cells = kind == "conv-cells"
    colours = ["#fd9" if v in ("image", "head") else "#cde" for v in graph]
    sizes = [900 if cells or v in ("image", "head") else 40 for v in graph]
    nx.draw_networkx(graph, position, ax=ax, labels=labels, node_size=sizes, node_color=colours, font_size=7, arrows=True)
    ax.set_axis_off()
    return save(fig, path, title)
