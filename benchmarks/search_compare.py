"""Compare the searches of several ``study: search`` folders run on the same data, recipe and budget.

Each (folder, method) is one arm: best test accuracy mean ± std over its search seeds, the budget it spent
(network-epochs where recorded, else networks trained × epochs) and, for every pair of arms, Welch's t-test,
Mann–Whitney U and — over the seeds both ran — the paired difference (t-test and Wilcoxon).

    python benchmarks/search_compare.py FOLDER [FOLDER ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import math
import warnings
from pathlib import Path

import pandas as pd
from scipy import stats

from sparsewire.results.format import as_list
from sparsewire.results.store import ResultsStore
from sparsewire.studies import load_config


def arms(folders: list[Path]) -> dict[str, pd.Series]:
    """``folder/method`` → best test accuracy (%) indexed by search seed."""
    out = {}
    for folder in folders:
        table = ResultsStore.open_existing(folder).table()
        for method, part in table.groupby("method", sort=False):
            out[f"{folder.name}/{method}"] = 100 * part.set_index("search_seed")["best_test_accuracy"].sort_index()
    return out


def spent(folder: Path) -> pd.DataFrame:
    """Per method: searches, networks trained, network-epochs, training GFLOPs (where recorded)."""
    _, config = load_config(folder / "study.yaml")
    table = ResultsStore.open_existing(folder).table()
    networks = table["networks"].map(lambda v: len(as_list(v)))
    epochs = table["network_epochs"] if "network_epochs" in table else networks * config.train.epochs
    gflops = table["train_flops"] / 1e9 if "train_flops" in table else pd.Series(math.nan, index=table.index)
    frame = pd.DataFrame({"arm": folder.name + "/" + table["method"], "networks": networks,
                          "network_epochs": epochs, "train_gflops": gflops})
    return frame.groupby("arm", sort=False).mean().round(2).reset_index()


def compare(a: pd.Series, b: pd.Series) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        welch = stats.ttest_ind(a, b, equal_var=False).pvalue
        mwu = stats.mannwhitneyu(a, b, alternative="two-sided").pvalue
        common = a.index.intersection(b.index)
        diff = a[common] - b[common]
        t = stats.ttest_rel(a[common], b[common]).pvalue if len(common) > 1 else math.nan
        w = stats.wilcoxon(diff).pvalue if len(common) > 1 and diff.abs().sum() > 0 else math.nan
    return {"difference": f"{a.mean() - b.mean():+.2f}", "Welch p": f"{welch:.3g}", "Mann-Whitney p": f"{mwu:.3g}",
            "paired seeds": len(common), "paired diff": f"{diff.mean():+.2f}", "better in": f"{int((diff > 0).sum())} of {len(diff)}",
            "paired t p / Wilcoxon p": f"{t:.3g} / {w:.3g}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    found = arms(args.folders)
    summary = pd.DataFrame([{"arm": k, "searches": len(v), "seeds": " ".join(map(str, v.index)),
                             "best test %": f"{v.mean():.2f} ± {v.std():.2f}"} for k, v in found.items()])
    summary = summary.merge(pd.concat([spent(f) for f in args.folders]), on="arm")
    pairs = pd.DataFrame([{"arm A": a, "arm B": b, **compare(found[a], found[b])}
                          for a, b in itertools.combinations(found, 2)])
    text = ["# Searches compared across study folders", "",
            "    python benchmarks/search_compare.py " + " ".join(str(f) for f in args.folders), "",
            "Best test accuracy (%) of each search's best network, mean ± std over search seeds; budget per search.", "",
            summary.to_markdown(index=False), "", "Differences A − B in points:", "", pairs.to_markdown(index=False), ""]
    print("\n".join(text))
    if args.out is not None:
        args.out.write_text("\n".join(text))


if __name__ == "__main__":
    main()
