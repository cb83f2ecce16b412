"""Structural robustness to further pruning across algorithms (Van Gelder, Wortsman & Ehsani 2020).

Runs (or resumes) configs/further-pruning-dynamic.yaml (SET, RigL, static random masks) and
configs/further-pruning-prune.yaml (magnitude and random pruning, one-shot or iterative, fine-tuned or
rewound to init = lottery ticket) on the 784-100-10 MLP at densities 0.1 and 0.05, then puts every trained
sparse network's accuracy after removing a further 10…90% of its remaining weights (magnitude, no
re-training) side by side: benchmarks/results/further-pruning/README-table.md and further_pruning.png.

    python benchmarks/further_pruning.py [--workers 2] [--threads 1] [--skip-run]
"""

from __future__ import annotations

import argparse
import math
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from scipy import stats

from sparsewire.results.further_pruning import (
    further_pruning_long,
    further_pruning_table,
    plot_further_pruning,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "further-pruning"
PLOTTED = ["magnitude, one-shot, fine-tuned", "magnitude, iterative, fine-tuned",
           "magnitude, one-shot, rewound to init (lottery ticket)", "magnitude, iterative, rewound to init (lottery ticket)",
           "RigL", "SET", "static random mask", "random pruning, one-shot, fine-tuned"]
"""The algorithms drawn in the plot (every one is in the tables)."""
STUDIES = {"dynamic": "configs/further-pruning-dynamic.yaml", "prune": "configs/further-pruning-prune.yaml"}


def label_dynamic(row: pd.Series) -> str:
    if row["algorithm"] == "static":
        return "static random mask"
    name = {"set": "SET", "rigl": "RigL"}.get(row["algorithm"], row["algorithm"])
    frozen = row["freeze_epoch"]
    return name if frozen is None or (isinstance(frozen, float) and math.isnan(frozen)) else \
        f"{name}, mask frozen after epoch {int(frozen)}"


def label_prune(row: pd.Series) -> str:
    if row["method"] == "none":
        return "dense"
    what = {"class-blinded": "magnitude", "random": "random pruning"}.get(row["method"], row["method"])
    how = {"none": "fine-tuned", "init": "rewound to init (lottery ticket)"}.get(row["rewind"], row["rewind"])
    return f"{what}, {row['schedule']}, {how}"


def combined(out: Path) -> pd.DataFrame:
    """Both studies' rows with a common ``algorithm_label`` and ``density`` (fraction of weights kept)."""
    dyn = pd.read_csv(out / "further-pruning-dynamic" / "results.csv")
    dyn = dyn[dyn["status"] == "done"].assign(algorithm_label=lambda t: t.apply(label_dynamic, axis=1))
    pru = pd.read_csv(out / "further-pruning-prune" / "results.csv")
    pru = pru[pru["status"] == "done"].assign(algorithm_label=lambda t: t.apply(label_prune, axis=1),
                                                density=lambda t: (1 - t["compression"]).round(6))
    cols = ["algorithm_label", "density", "seed", "test_accuracy", "further_pruning_fractions",
            "further_pruning_accuracy"]
    return pd.concat([dyn[cols], pru[cols]], ignore_index=True)


def degradation(table: pd.DataFrame) -> pd.DataFrame:
    """Per (density, algorithm): accuracy as trained, the drop after removing 50% / 80% of the remaining
    weights (points, mean ± std over seeds), and the largest fraction removable at ≤ 1 point mean loss."""
    long = further_pruning_long(table, ["density", "algorithm_label"])
    rows = []
    for (density, label), part in long.groupby(["density", "algorithm_label"], sort=True):
        by_seed = part.pivot_table(index="seed", columns="fraction", values="accuracy")
        base = by_seed[0.0]
        row = {"density": density, "algorithm": label, "seeds": len(by_seed),
               "as trained": f"{100 * base.mean():.2f} ± {100 * base.std(ddof=1):.2f}"}
        for f in (0.5, 0.8):
            if f in by_seed:
                drop = 100 * (base - by_seed[f])
                row[f"drop at {f:.0%}"] = f"{drop.mean():.2f} ± {drop.std(ddof=1):.2f}"
        means = by_seed.mean()
        ok = [f for f in means.index if means[f] >= means[0.0] - 0.01]
        row["removable at ≤1 pt"] = f"{max(ok):.0%}"
        rows.append(row)
    return pd.DataFrame(rows)


def drop_tests(table: pd.DataFrame, reference: str, fraction: float = 0.5) -> pd.DataFrame:
    """Welch's t-test of each algorithm's drop at ``fraction`` against ``reference``'s, per density."""
    long = further_pruning_long(table, ["density", "algorithm_label"])
    drops = {}
    for (density, label), part in long.groupby(["density", "algorithm_label"]):
        by_seed = part.pivot_table(index="seed", columns="fraction", values="accuracy")
        if fraction in by_seed:
            drops[(density, label)] = 100 * (by_seed[0.0] - by_seed[fraction])
    rows = []
    for (density, label), drop in sorted(drops.items()):
        ref = drops.get((density, reference))
        if ref is None or label == reference:
            continue
        p = stats.ttest_ind(drop, ref, equal_var=False).pvalue if len(drop) > 1 and len(ref) > 1 else math.nan
        rows.append({"density": density, "algorithm": label, f"drop at {fraction:.0%}": round(drop.mean(), 2),
                     f"{reference} drop": round(ref.mean(), 2), "difference": round(drop.mean() - ref.mean(), 2),
                     "p (Welch)": f"{p:.3g}"})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "runs"), help="parent of the two study folders")
    parser.add_argument("--workers", default="2")
    parser.add_argument("--threads", default="1")
    parser.add_argument("--skip-run", action="store_true", help="only summarise existing study folders")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.skip_run:
        for name, config in STUDIES.items():
            subprocess.run([sys.executable, "-m", "sparsewire", "run", str(ROOT / config), "--out", str(out / f"further-pruning-{name}"),
                            "--workers", args.workers, "--threads", args.threads, "--no-progress"], check=True)
    table = combined(out)
    RESULTS.mkdir(parents=True, exist_ok=True)
    shown = table[table["algorithm_label"].isin(PLOTTED)]
    png = plot_further_pruning(shown, ["algorithm_label"], RESULTS / "further_pruning.png", panels=["density"],
                               title="MNIST 784-100-10 MLP: accuracy under further magnitude pruning")
    for name in STUDIES:
        shutil.copy(out / f"further-pruning-{name}" / "results.csv", RESULTS / f"results-{name}.csv")
    reference = "magnitude, one-shot, fine-tuned"
    lines = [
        "# Robustness to further pruning (Van Gelder, Wortsman & Ehsani 2020)",
        "",
        f"Command: `python benchmarks/further_pruning.py --workers {args.workers} --threads {args.threads}` "
        f"(runs `{STUDIES['dynamic']}` and `{STUDIES['prune']}` into `runs/further-pruning-{{dynamic,prune}}/`, then summarises).",
        f"Machine: {platform.machine()} CPU, 2 cores, {args.threads} torch thread(s) per trial. Density = fraction of "
        "prunable weights kept; accuracies are MNIST test accuracy in %, mean ± std over seeds. Every trained "
        "sparse network then loses a further fraction of its *remaining* weights by global magnitude, without "
        "re-training.",
        "",
        "## Degradation",
        "",
        degradation(table).to_markdown(index=False),
        "",
        f"## Drop at 50% against `{reference}`",
        "",
        drop_tests(table, reference).to_markdown(index=False),
        "",
        "## Full curves",
        "",
        further_pruning_table(table, ["density", "algorithm_label"]).to_markdown(index=False),
        "",
        f"![further pruning]({png.name})",
        "",
        f"The plot shows {len(PLOTTED)} of the algorithms (the tables have all of them).",
        "",
    ]
    (RESULTS / "README-table.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
