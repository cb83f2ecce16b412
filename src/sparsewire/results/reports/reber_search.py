"""Report of ``study: reber-search``: structures found by a genetic search with a performance predictor as
fitness, against random priors, checked by training (Stier, Darji & Granitzer 2021)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sparsewire.results.figures import plt, save
from sparsewire.results.format import as_list, mean_std


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials (tables and plots written into ``out_dir``)."""
    parts = [
        "Genetic search with a performance predictor as fitness (Stier, Darji & Granitzer 2021), "
        "checked by training. `search`: the best distinct structures the search found; `random`: fresh "
        "random priors from the same generators (the baseline). Accuracy is Reber test accuracy in %; "
        "*predicted* is the predictor's estimate, *actual* the trained network's (mean ± std over "
        "structures × training seeds).", "",
        summary(table).to_markdown(index=False), "",
    ]
    test = compare(table)
    if test:
        parts += [test, ""]
    if "search_best_per_generation" in table and table["search_best_per_generation"].notna().any():
        png = _plot_history(table, out_dir / "search_history.png")
        parts += [f"![search history]({png.name})", ""]
    png = _plot_predicted_vs_actual(table, out_dir / "predicted_vs_actual.png")
    parts += [f"![predicted vs actual]({png.name})", ""]
    return "\n".join(parts)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table ``sparsewire results`` prints, per kind: structures, runs, nodes/edges (mean), predicted and
    actual accuracy (%), runs at chance."""
    if table.empty:
        return table
    rows = []
    for kind, part in table.groupby("kind", sort=True):
        rows.append({"kind": kind, "structures": part["structure"].nunique(), "runs": len(part),
                     "nodes": round(part["nodes"].mean(), 1), "edges": round(part["edges"].mean(), 1),
                     "predicted_pct": mean_std(part.drop_duplicates("structure")["predicted_accuracy"]),
                     "actual_pct": mean_std(part["test_accuracy"]),
                     "runs_at_chance": int((part["test_accuracy"] < 0.6).sum())})
    return pd.DataFrame(rows)


def compare(table: pd.DataFrame) -> str:
    """Welch's t-test of per-structure mean accuracy, search vs random, and predicted − actual gap."""
    from scipy import stats

    means = table.groupby(["kind", "structure"])["test_accuracy"].mean()
    if not {"search", "random"} <= set(means.index.get_level_values(0)):
        return ""
    found, rand = means["search"], means["random"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # identical accuracies (e.g. all at chance): p is nan
        p = stats.ttest_ind(found, rand, equal_var=False).pvalue if len(found) > 1 and len(rand) > 1 else math.nan
    predicted = table.drop_duplicates("structure").set_index("structure")["predicted_accuracy"]
    gap = {k: float((predicted[m.index] - m).mean()) for k, m in (("search", found), ("random", rand))}
    r = float(np.corrcoef(predicted[means.index.get_level_values(1)], means.to_numpy())[0, 1]) if len(means) > 2 else math.nan
    return (f"Search vs random, per-structure mean accuracy: {100 * found.mean():.2f} vs {100 * rand.mean():.2f} % "
            f"(difference {100 * (found.mean() - rand.mean()):+.2f} points, Welch p = {p:.3g}, {len(found)} vs "
            f"{len(rand)} structures). Predicted − actual: {100 * gap['search']:+.2f} points for searched "
            f"structures, {100 * gap['random']:+.2f} for random ones; Pearson r(predicted, actual mean) over all "
            f"structures = {r:.2f}.")


def _plot_history(table: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    found = table[table["kind"] == "search"].drop_duplicates("search_seed")
    for i, row in enumerate(found.itertuples()):
        best, mean = as_list(row.search_best_per_generation), as_list(row.search_mean_per_generation)
        ax.plot(100 * np.asarray(best), color=f"C{i}", label=f"search {row.search_seed}: best")
        ax.plot(100 * np.asarray(mean), color=f"C{i}", linestyle="--", label=f"search {row.search_seed}: mean")
    ax.set_xlabel("generation")
    ax.set_ylabel("predicted accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, path)


def _plot_predicted_vs_actual(table: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    means = table.groupby(["kind", "structure"]).agg(pred=("predicted_accuracy", "first"),
                                                     actual=("test_accuracy", "mean")).reset_index()
    for i, (kind, part) in enumerate(means.groupby("kind")):
        ax.scatter(100 * part["pred"], 100 * part["actual"], color=f"C{i}", label=kind, alpha=0.8)
    lo = 100 * min(means["pred"].min(), means["actual"].min()) - 1
    hi = 100 * max(means["pred"].max(), means["actual"].max()) + 1
    ax.plot([lo, hi], [lo, hi], color="grey", linewidth=1, linestyle=":", label="y = x (prediction exact)")
    ax.set_xlabel("predicted accuracy (%)")
    ax.set_ylabel("actual accuracy, mean over training seeds (%)")
    ax.set_title("Predicted vs actual Reber test accuracy\n(one point per structure; above y = x: better than predicted)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, path)
