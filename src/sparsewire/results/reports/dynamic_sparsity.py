"""Report of ``study: dynamic-sparsity``: accuracy by freeze epoch, the cost of freezing, how early the mask
settles (Jaccard overlap with the final mask), structure kept with weights re-drawn, further pruning.

Van Gelder, Wortsman & Ehsani (2020), "Deconstructing the Structure of Sparse Neural Networks".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from sparsewire.dynamic.train import STATIC
from sparsewire.results.figures import plt, save
from sparsewire.results.format import mean_std
from sparsewire.results.further_pruning import further_pruning_section

NEVER = "never"
"""Freeze label of a run whose mask was updated until the drop fraction annealed to 0 (``freeze_epoch`` none)."""


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table ``sparsewire results`` prints: :func:`accuracy_vs_freeze`."""
    return accuracy_vs_freeze(table)


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials (tables and plots written into ``out_dir``)."""
    jac = jaccard_table(table)
    parts = [
        "Test accuracy (%) by the epoch after which the mask was frozen (mean ± std over seeds; `never`: "
        "updated until the drop fraction anneals to 0; `0`/`static`: the initial random mask, never "
        "updated). Density = fraction of prunable weights kept.",
        "",
        accuracy_vs_freeze(table).to_markdown(index=False),
        "",
    ]
    cost = freeze_cost(table)
    if not cost.empty:
        parts += [
            "Cost of freezing: test accuracy of the frozen run minus that of the never-frozen run of the same "
            "seed (percentage points, mean ± std over seeds; p of a paired t-test over seeds), and the share of the never-frozen run's gain over "
            "the static random mask (freeze 0) that the frozen run keeps. What it saves (where recorded): "
            "`dense_grad_steps` = optimizer steps at which the algorithm read the gradient of every weight, "
            "frozen / never frozen (SET: none; RigL: its updates; SNFS, DNW: every step; IMP: every step of its "
            "dense training; SNIP: its scored batches), and `flops_saved` = the share of the never-frozen run's "
            "training FLOPs (forward, input and weight gradients of the masked layers) that the dense weight "
            "gradients skipped after the freeze would have cost (IMP frozen after epoch k = the early-bird ticket "
            "of epoch k: k dense epochs and one sparse training instead of the dense and all pruned trainings).",
            "",
            cost.to_markdown(index=False),
            "",
        ]
    if not jac.empty:
        parts += [
            "Global Jaccard overlap of each epoch's mask with the final mask (never-frozen runs, mean over "
            "seeds; epoch 0 = the initial random mask), the share of the final connections already present "
            "after epoch 1 (2J/(1+J): all masks keep the same number of weights) and the overlap expected by "
            "chance for random masks with the same layer densities. IMP: the early-bird masks (one-shot "
            "magnitude masks at the final density) of its dense training against the final ticket; SNIP: its "
            "mask is fixed at initialisation.",
            "",
            jac.to_markdown(index=False),
            "",
        ]
    reinit = reinit_table(table)
    if not reinit.empty:
        parts += [
            "Structure kept, weights re-drawn: each trial's final mask trained again from fresh random weights "
            "(same recipe and batch order, mask fixed; mean over the re-initialisations of a trial, then mean ± "
            "std over seeds), against the trial's own test accuracy (%). For `static` the mask is the random "
            "initial one: the structure-free control.",
            "",
            reinit.to_markdown(index=False),
            "",
        ]
    for png in plot_dynamic(table, out_dir):
        parts += [f"![{png.stem}]({png.name})", ""]
    labelled = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
    parts += further_pruning_section(labelled, ["algorithm", "freeze"], out_dir, panels=["model", "density"])
    return "\n".join(parts)


def reinit_table(table: pd.DataFrame) -> pd.DataFrame:
    """Trained vs structure-only (re-initialised) test accuracy per (model, density, algorithm, freeze)."""
    if "reinit_test_accuracy_mean" not in table or table["reinit_test_accuracy_mean"].isna().all():
        return pd.DataFrame()
    t = table.dropna(subset=["reinit_test_accuracy_mean"]).assign(freeze=table["freeze_epoch"].map(_freeze_label))
    rows = []
    for (model, dist, density, algorithm, freeze), part in t.groupby(
            ["model", "distribution", "density", "algorithm", "freeze"], sort=True):
        reinit = part["reinit_test_accuracy_mean"]
        delta = reinit - part["test_accuracy"]
        rows.append({"model": model, "distribution": dist, "density": density, "algorithm": algorithm, "freeze": freeze,
                     "seeds": len(part), "trained": mean_std(part["test_accuracy"]), "re-initialised": mean_std(reinit),
                     "reinit_minus_trained_pts": f"{100 * delta.mean():+.2f} ± {100 * delta.std(ddof=1):.2f}"
                     if len(part) > 1 else f"{100 * delta.mean():+.2f}"})
    return pd.DataFrame(rows)


def _freeze_label(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NEVER
    return str(int(value))


def _order(label: str) -> float:
    return math.inf if label == NEVER else float(label)


def accuracy_vs_freeze(table: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy mean ± std over seeds: one row per (model, distribution, density, algorithm), one
    column per freeze epoch."""
    if table.empty:
        return table
    t = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
    keys = ["dataset", "model", "distribution", "density", "algorithm"]
    wide = t.groupby([*keys, "freeze"], sort=True)["test_accuracy"].agg(mean_std).unstack("freeze")
    wide = wide[sorted(wide.columns, key=lambda label: _order(str(label)))].fillna("")
    seeds = t.groupby(keys)["seed"].nunique().rename("seeds")
    wide = wide.join(seeds).reset_index()
    wide.columns.name = None
    return wide.rename(columns={c: f"freeze {c}" for c in wide.columns if c in set(t["freeze"])})


def freeze_cost(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, distribution, density, algorithm, freeze epoch): accuracy change against the never-frozen
    run of the same seed (with a paired t-test over seeds), and the share of the dynamic gain over the static
    mask kept; where the rows record them (issue 15), the dense-gradient steps the frozen run read and the
    share of the never-frozen run's training FLOPs that freezing saved."""
    from scipy.stats import ttest_rel

    t = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
    keys = ["model", "distribution", "density"]
    rows = []
    for (model, dist, density, algorithm), part in t[t["algorithm"] != STATIC].groupby([*keys, "algorithm"], sort=True):
        never = part[part["freeze"] == NEVER].set_index("seed")["test_accuracy"]
        static = t[(t["algorithm"] == STATIC) & (t["model"] == model) & (t["distribution"] == dist)
                   & (t["density"] == density)]["test_accuracy"]
        for freeze, frozen in part[part["freeze"] != NEVER].groupby("freeze"):
            delta = (frozen.set_index("seed")["test_accuracy"] - never).dropna()
            if delta.empty:
                continue
            paired = ttest_rel(frozen.set_index("seed")["test_accuracy"][delta.index], never[delta.index]).pvalue \
                if len(delta) > 1 else math.nan
            gain = never.mean() - static.mean() if len(static) else math.nan
            kept = (frozen["test_accuracy"].mean() - static.mean()) / gain if gain and gain > 0 else math.nan
            rows.append({"model": model, "distribution": dist, "density": density, "algorithm": algorithm,
                         "freeze": freeze, "seeds": len(delta),
                         "delta_vs_never_pts": f"{100 * delta.mean():+.2f} ± {100 * delta.std(ddof=1):.2f}"
                         if len(delta) > 1 else f"{100 * delta.mean():+.2f}",
                         "paired_t_p": f"{paired:.2g}" if not math.isnan(paired) else "",
                         "gain_over_static_kept": f"{100 * kept:.0f}%" if not math.isnan(kept) else "",
                         **_savings(frozen, never_rows=part[part["freeze"] == NEVER])})
    out = pd.DataFrame(rows)
    return out.sort_values([*keys, "algorithm", "freeze"], key=lambda c: c.map(_order) if c.name == "freeze" else c) \
        if len(out) else out


def _savings(frozen: pd.DataFrame, never_rows: pd.DataFrame) -> dict[str, Any]:
    """Mean dense-gradient steps (frozen / never frozen) and FLOPs saved, for rows that record them."""
    if "dense_grad_steps" not in frozen or frozen["dense_grad_steps"].isna().all():
        return {}
    never = never_rows["dense_grad_steps"].mean() if len(never_rows) else math.nan
    return {"dense_grad_steps": f"{frozen['dense_grad_steps'].mean():.0f} / {never:.0f}",
            "flops_saved": f"{100 * frozen['flops_saved_fraction'].mean():.1f}%"}


def _never_frozen(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["freeze_epoch"].map(_freeze_label) == NEVER]


def jaccard_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean Jaccard to the final mask per epoch for the never-frozen runs, plus the chance level."""
    rows = []
    for (model, dist, density, algorithm), part in _never_frozen(table).groupby(
            ["model", "distribution", "density", "algorithm"], sort=True):
        curves = pd.DataFrame(part["jaccard_to_final"].tolist())
        chance = pd.DataFrame(part["chance_jaccard_to_final"].tolist())
        row: dict[str, Any] = {"model": model, "distribution": dist, "density": density, "algorithm": algorithm,
                               "seeds": len(part)}
        row.update({f"epoch {e}": round(v, 3) for e, v in curves.mean().items()})
        if 1 in curves:
            row["final present, epoch 1"] = f"{100 * float((2 * curves[1] / (1 + curves[1])).mean()):.0f}%"
        row["chance"] = round(float(chance.mean().mean()), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def plot_dynamic(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``jaccard_to_final.png`` (never-frozen runs) and ``accuracy_vs_freeze.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    never = _never_frozen(table)
    if len(never):
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for i, ((model, density, algorithm), part) in enumerate(never.groupby(["model", "density", "algorithm"], sort=True)):
            curves = pd.DataFrame(part["jaccard_to_final"].tolist())
            stats = curves.agg(["mean", "std"]).T.fillna(0.0)
            colour = f"C{i % 10}"
            ax.plot(stats.index, stats["mean"], marker="o", markersize=4, color=colour,
                    label=f"{algorithm}, density {density:g} ({model})")
            ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colour, alpha=0.15)
            chance = pd.DataFrame(part["chance_jaccard_to_final"].tolist()).mean()
            ax.plot(chance.index, chance.to_numpy(), linestyle=":", color=colour, linewidth=1)
        ax.set_ylim(0, 1.02)
        _label(ax, "epoch (0 = initial mask; IMP: of its dense training)", "global Jaccard to final mask",
               "Jaccard to final mask vs epoch\n(dotted: chance; shaded: ± 1 std over seeds)")
        paths.append(save(fig, out_dir / "jaccard_to_final.png"))

    t = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
    labels = sorted(set(t["freeze"]), key=_order)
    position = {label: i for i, label in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(6, 4.2))
    dynamic = t[t["algorithm"] != STATIC]
    static = t[t["algorithm"] == STATIC]
    for i, ((model, density, algorithm), part) in enumerate(dynamic.groupby(["model", "density", "algorithm"], sort=True)):
        same = static[(static["model"] == model) & (static["density"] == density)]  # freeze 0 = the static run
        stats = pd.concat([part, same]).groupby("freeze")["test_accuracy"].agg(["mean", "std"]).fillna(0.0) * 100
        stats = stats.loc[sorted(stats.index, key=_order)]
        x = [position[label] for label in stats.index]
        ax.errorbar(x, stats["mean"], yerr=stats["std"], marker="o", capsize=3, color=f"C{i % 10}",
                    label=f"{algorithm}, density {density:g} ({model})")
    ax.set_xticks(range(len(labels)), [f"{label} (static)" if label == "0" else label for label in labels])
    _label(ax, "mask frozen after epoch", "test accuracy (%)", "Accuracy vs freeze epoch (bars: ± 1 std over seeds)")
    paths.append(save(fig, out_dir / "accuracy_vs_freeze.png"))
    return paths


def _label(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    """Axis labels, title, grid and legend of a one-panel figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
