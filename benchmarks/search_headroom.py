"""Is there room above random search in a search space? Headroom of finished ``study: search`` folders.

A search method can beat random search's best network only by finding networks random sampling rarely draws. For
each folder, this pools the validation accuracies of every network its ``random`` searches trained (the space's
distribution under random sampling) and estimates the expected best of ``k`` random draws, where ``k`` is the
number of networks one random search trained, by resampling ``k`` of the pooled networks without replacement
10,000 times. It sets that against the best network any method of the study trained (the *top*, a lower bound on
the space's best) and the standard error of one validation accuracy (binomial, on the study's validation split).

    headroom = top − E[best of k random draws]     (percentage points of validation accuracy)

A method whose best network beats random search's by Δ points needs headroom ≥ Δ, and more than the noise of its
own maximum. Each method's mean best validation and test accuracy are listed beside it (the fall from one to the
other is the winner's curse of taking a maximum over noisy runs), and how far the best networks beat a LeNet-5 of
equal parameter count.

    python benchmarks/search_headroom.py FOLDER [FOLDER ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sparsewire.results.format import as_list
from sparsewire.results.store import ResultsStore
from sparsewire.studies import load_config
from sparsewire.studies.runner import expand

DRAWS = 10_000


def current_rows(folder: Path) -> tuple[pd.DataFrame, int]:
    """The study's finished rows of the trials its ``study.yaml`` expands to (rows of an earlier config left
    out), and its validation-split size."""
    study_type, config = load_config(folder / "study.yaml")
    ids = {t.trial_id for t in expand(study_type, config)}
    table = ResultsStore.open_existing(folder).table()
    return table[table["trial_id"].isin(ids)], int(config.dataset.val_size)


def expected_best(pool: np.ndarray, k: int, rng: np.random.Generator) -> tuple[float, float]:
    """Mean and standard deviation of the maximum of ``k`` draws without replacement from ``pool``."""
    best = np.array([pool[rng.choice(len(pool), size=k, replace=False)].max() for _ in range(DRAWS)])
    return float(best.mean()), float(best.std())


def headroom(folder: Path, seed: int = 0) -> dict[str, object]:
    table, val_size = current_rows(folder)
    if "random" not in set(table["method"]):
        raise SystemExit(f"{folder}: no random searches to measure the space by")
    accuracy = {method: np.array([100 * n["accuracy"] for nets in part["networks"] for n in as_list(nets)])
                for method, part in table.groupby("method", sort=False)}
    random_part = table[table["method"] == "random"]
    k = int(round(np.mean([len(as_list(nets)) for nets in random_part["networks"]])))
    pool = accuracy["random"]
    mean, std = expected_best(pool, k, np.random.default_rng(seed))
    top = max(float(a.max()) for a in accuracy.values())
    noise = 100 * math.sqrt(top / 100 * (1 - top / 100) / val_size)
    out: dict[str, object] = {
        "study": folder.name, "random networks": len(pool),
        "random p10 / p50 / p90": " / ".join(f"{q:.1f}" for q in np.percentile(pool, [10, 50, 90])),
        "k": k, "E best of k (random)": f"{mean:.2f} ± {std:.2f}", "top (any method)": f"{top:.2f}",
        "headroom": f"{top - mean:+.2f}", "val SE at top": f"{noise:.2f}"}
    for method, part in table.groupby("method", sort=False):
        val, test = 100 * part["best_val_accuracy"], 100 * part["best_test_accuracy"]
        out[f"{method}: best val / test"] = f"{val.mean():.2f} / {test.mean():.2f}"
    if "lenet5_test_accuracy" in table:
        gap = 100 * (table["best_test_accuracy"] - table["lenet5_test_accuracy"])
        out["best − its LeNet-5 (test, all searches)"] = f"{gap.mean():+.2f} ({int((gap > 0).sum())} of {len(gap)} better)"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = pd.DataFrame([headroom(f) for f in args.folders]).fillna("–")
    text = ["# Headroom above random search", "",
            "    python benchmarks/search_headroom.py " + " ".join(str(f) for f in args.folders), "",
            "Validation accuracy in %. *random p10 / p50 / p90*: percentiles of every network the random searches "
            "trained; *E best of k*: expected best of k random networks (mean ± std over 10,000 resamples of those "
            "networks, k = networks per random search); *top*: the best network any method of the study trained; "
            "*headroom* = top − E best of k; *val SE at top*: the binomial standard error of one validation accuracy "
            "at the top. Then each method's best network per search, mean over seeds, by validation and by test "
            "accuracy, and how far each search's best network beat a LeNet-5 of equal parameter count on one run each.", "", rows.set_index("study").T.to_markdown(), ""]
    print("\n".join(text))
    if args.out is not None:
        args.out.write_text("\n".join(text))


if __name__ == "__main__":
    main()
