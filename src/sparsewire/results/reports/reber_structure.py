"""Report of ``study: reber-structure``: Reber test accuracy of networks built from random-graph priors,
throughput, and where ``sparsewire predict`` has run, how well structure predicts accuracy
(Stier, Darji & Granitzer 2021)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sparsewire.results.figures import plt, save
from sparsewire.results.store import DB_NAME


def report(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown of the finished trials, written into ``out_dir``; reads the store's finish times and
    ``prediction.md`` / ``prediction_cv.csv`` from the study folder (``table.attrs["study_dir"]``, set by
    :func:`~sparsewire.results.report.write_report`; else ``out_dir``)."""
    study_dir = Path(table.attrs.get("study_dir", out_dir))
    parts = [
        "One row per trained network: the 23 structural features of its prior graph and its test accuracy on "
        "the Reber test set (`test_limit` strings; the tables below give it in %, mean ± std over networks).", "",
        "## Accuracy per cell and generator", "", summary(table).to_markdown(index=False), "",
    ]
    if not table.empty:
        plot = accuracy_vs_nodes(table, out_dir)
        parts += [f"![accuracy vs nodes per cell]({plot.name})", ""]
    parts += [
        "## Throughput", "", throughput(table, study_dir).to_markdown(index=False), "",
    ]
    prediction = study_dir / "prediction.md"
    parts += ["## Performance prediction from structure", "",
              f"`sparsewire predict {study_dir} --by cell` (with `--folds 2` or `3` for a handful of networks per "
              "cell) writes correlations, cross-validated R² of the four "
              "predictors with feature-set ablations, importances and plots to "
              + (f"[prediction.md]({Path(os.path.relpath(prediction, out_dir)).as_posix()})." if prediction.exists() else "`prediction.md` (not run yet)."), ""]
    cv_csv = study_dir / "prediction_cv.csv"
    if cv_csv.exists():
        cv = pd.read_csv(cv_csv)
        cv["r2"] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(cv["r2_mean"], cv["r2_std"], strict=True)]
        wide = cv.pivot_table(index=["group", "predictor"], columns="features", values="r2", aggfunc="first")
        parts += ["Cross-validated R² (mean ± std over folds × repeats) by feature set; the paper reports "
                  "R² up to 0.81:", "", wide.reset_index().to_markdown(index=False), ""]
    return "\n".join(parts)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The table ``sparsewire results`` prints: networks, nodes range and test accuracy (%) mean ± std / min / max per (cell, generator)."""
    if table.empty:
        return table
    g = table.groupby(["cell", "generator"])
    out = g.agg(networks=("test_accuracy", "size"), nodes_min=("nodes", "min"), nodes_max=("nodes", "max"),
                acc_mean=("test_accuracy", "mean"), acc_std=("test_accuracy", "std"), acc_min=("test_accuracy", "min"),
                acc_max=("test_accuracy", "max"), train_s_mean=("train_seconds", "mean")).reset_index()
    for c in ("acc_mean", "acc_std", "acc_min", "acc_max"):
        out[c] = (100 * out[c]).round(2)
    out["train_s_mean"] = out["train_s_mean"].round(1)
    return out


def accuracy_vs_nodes(table: pd.DataFrame, out_dir: Path) -> Path:
    """``accuracy_vs_nodes.png``: test accuracy (%) against the prior's node count, one panel per cell, one colour
    per generator (the number of its networks in the legend)."""
    cells = sorted(table["cell"].unique())
    columns = min(len(cells), 2)
    rows = -(-len(cells) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), sharex=True, sharey=True,
                             squeeze=False)
    for ax, cell in zip(axes.flat, cells, strict=False):
        part = table[table["cell"] == cell]
        for generator, points in part.groupby("generator", sort=True):
            ax.scatter(points["nodes"], 100 * points["test_accuracy"], s=12, alpha=0.7,
                       label=f"{generator} ({len(points)})")
        ax.set_title(f"{cell}: {len(part)} networks", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in axes.flat[len(cells):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("prior graph nodes")
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy (%)")
    low = float(np.nanmin(100 * table["test_accuracy"]))
    axes.flat[0].set_ylim(max(0.0, low - 5), 101)
    return save(fig, out_dir / "accuracy_vs_nodes.png", dpi=110)


def active_hours(finished: Sequence[float], longest: float) -> float:
    """Hours between the first and last finish time less the idle gaps: a gap between consecutive finishes
    longer than ``longest`` (seconds, at least any trial's or cohort's duration) had nothing running for all but
    ``longest`` of it, so only that much counts. A study resumed over several sessions is thus not charged the
    hours between them."""
    times = np.sort(np.asarray(finished, dtype=float))
    if len(times) < 2:
        return 0.0
    gaps = np.diff(times)
    return float(np.minimum(gaps, max(longest, 0.0)).sum() / 3600)


def throughput(table: pd.DataFrame, study_dir: Path) -> pd.DataFrame:
    """Finished networks, the active wall time between the first and last finished trial (from the store in
    ``study_dir``; :func:`active_hours`, with twice the longest cohort's time as the longest busy gap), and
    trials per hour."""
    rows = []
    db = study_dir / DB_NAME
    if db.exists():
        with sqlite3.connect(db) as con:
            finished = [f for (f,) in con.execute("SELECT finished FROM trials WHERE status='done' AND finished IS NOT NULL")]
        per_trial = table["trial_seconds"].astype(float)
        cohort = table["cohort_size"].fillna(1).astype(float) if "cohort_size" in table.columns else 1.0
        longest = 2 * float((per_trial * cohort).max()) if len(table) else 0.0
        hours = active_hours(finished, longest)
        if hours > 0:
            span = (max(finished) - min(finished)) / 3600
            rows.append({"measure": "wall span first→last finished trial (h)", "value": round(span, 3)})
            rows.append({"measure": "active wall time, idle gaps left out (h)", "value": round(hours, 3)})
            rows.append({"measure": "trials per active wall hour", "value": round((len(finished) - 1) / hours, 1)})
    rows.append({"measure": "finished trials", "value": len(table)})
    rows.append({"measure": "mean trial time in its worker (s)", "value": round(float(table["trial_seconds"].mean()), 1)})
    rows.append({"measure": "trials per worker-hour", "value": round(3600 / float(table["trial_seconds"].mean()), 1)})
    return pd.DataFrame(rows)
