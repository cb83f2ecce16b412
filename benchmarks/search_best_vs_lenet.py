"""Does the best network a search found beat a LeNet-5 of equal parameter count, beyond training noise?

The search study (benchmarks/results/search-fashion-mnist) compares each search's best network with a LeNet-5
scaled to its parameter count from one training run each. This retrains, for each method's overall best genome
(the search whose best network has the highest validation accuracy), that network and its LeNet-5 with the
study's recipe (data, 1 epoch of Adam, batch 32, lr 3e-3) under several training seeds — seed ``s`` sets both
networks' initial weights and the batch order, so each seed is a pair — and reports the test accuracy as
mean ± std, the paired difference, a paired t-test and Wilcoxon's signed-rank test.

    python benchmarks/search_best_vs_lenet.py [--seeds 0 1 2 3 4] [--threads 1] [--out FILE]

``--epochs E`` trains both networks E epochs instead of the study's recipe (then the study's own run is not
reproduced first), to see whether longer training changes the ranking; ``--method`` keeps one method's searches.
"""

from __future__ import annotations

import argparse
import copy
import math
import platform
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch
from scipy import stats

from sparsewire.results.reports.search import best_search
from sparsewire.results.store import ResultsStore
from sparsewire.studies import load_config
from sparsewire.studies.common import load_splits
from sparsewire.studies.runner import expand
from sparsewire.studies.search import SearchTrial, lenet5_like, make_space, reseeded, train_alone
from sparsewire.training import evaluate

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "benchmarks" / "results" / "search-fashion-mnist"


def best_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, the row of its search whose best network has the highest validation accuracy."""
    return pd.DataFrame([best_search(part) for _, part in table.groupby("method", sort=False)])


def run(seeds: list[int], threads: int, every_search: bool, epochs: int | None = None,
        method: str | None = None, readout: str | None = None, study: Path = STUDY) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test accuracy of each search's best genome and its LeNet-5 under the study's own seeds (``seed`` = -1,
    which must reproduce the recorded row; not with ``epochs``) and under each training seed; and the recorded
    rows. ``epochs`` replaces the recipe's epochs; ``method`` keeps that method's searches; ``readout`` rebuilds
    the genome with that read-out (LeNet-5 then matches its new parameter count; not reproduced either)."""
    torch.set_num_threads(threads)
    study_type, config = load_config(study / "study.yaml")
    trials = {(t.spec.method, t.spec.search_seed): t.spec for t in expand(study_type, config)
              if isinstance(t.spec, SearchTrial)}
    table = ResultsStore.open_existing(study).table()  # done rows, read-only
    table = table if method is None else table[table["method"] == method]
    chosen = table if every_search else best_rows(table)
    rows = []
    for best in chosen.itertuples():
        trial = trials[(best.method, best.search_seed)]
        splits = load_splits(trial.dataset)
        space = make_space(trial.space if readout is None else trial.space.model_copy(update={"readout": readout}),
                           splits.image_shape, splits.num_classes)
        genome = space.from_key(best.best_genome)
        lenet, _ = lenet5_like(space.cost(genome)["params"], splits)
        for seed in [-1, *seeds] if epochs is None and readout is None else seeds:
            recipe = trial if seed < 0 else trial.model_copy(update={"data_seed": seed})
            if epochs is not None:
                recipe = recipe.model_copy(update={"train": recipe.train.model_copy(update={"epochs": epochs})})
            for name in ("searched", "lenet5"):
                if name == "searched":
                    model = space.build(genome, trial.network_seed(int(best.best_index)) if seed < 0 else seed)
                else:
                    model = reseeded(copy.deepcopy(lenet), trial.search_seed if seed < 0 else seed)
                start = time.perf_counter()
                result, _, _ = train_alone(model, recipe, splits, torch.device("cpu"), name)
                seconds = time.perf_counter() - start
                accuracy = math.nan if result is None else evaluate(model, splits.test)["accuracy"]
                rows.append({"method": best.method, "search_seed": best.search_seed, "model": name,
                             "params": sum(p.numel() for p in model.parameters()), "seed": seed,
                             "test_accuracy": 100 * accuracy, "seconds": seconds})
                print(f"{best.method} {best.search_seed} {name} seed {seed}: {100 * accuracy:.2f} % ({seconds:.1f} s)",
                      file=sys.stderr, flush=True)
    return pd.DataFrame(rows), table


def paired(runs: pd.DataFrame) -> pd.DataFrame:
    """Per training seed (rows) the searched network's and its LeNet-5's test accuracy, and their difference."""
    wide = runs.pivot(index="seed", columns="model", values="test_accuracy")
    return wide.assign(difference=wide["searched"] - wide["lenet5"])


def tests(diff: pd.Series) -> str:
    """Paired t-test and Wilcoxon signed-rank p-values of differences (two-sided)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = stats.ttest_1samp(diff, 0.0).pvalue if len(diff) > 1 else math.nan
        w = stats.wilcoxon(diff).pvalue if len(diff) > 1 and diff.abs().sum() > 0 else math.nan
    return f"{t:.3g} / {w:.3g}"


def per_search(runs: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per search: recorded vs reproduced single run, then mean ± std over training seeds and the paired tests."""
    out = []
    for (method, search_seed), part in runs.groupby(["method", "search_seed"], sort=False):
        recorded = table[(table["method"] == method) & (table["search_seed"] == search_seed)].iloc[0]
        own, seeded = part[part["seed"] < 0], paired(part[part["seed"] >= 0])
        mine = own.set_index("model")["test_accuracy"]
        params = part.drop_duplicates("model").set_index("model")["params"]
        out.append({
            "method": method, "search_seed": search_seed,
            "params (searched / lenet5)": f"{params['searched']} / {params['lenet5']}",
            "recorded run": f"{100 * recorded['best_test_accuracy']:.2f} vs {100 * recorded['lenet5_test_accuracy']:.2f}",
            "reproduced": None if own.empty else bool(abs(mine["searched"] - 100 * recorded["best_test_accuracy"]) < 1e-6
                                                      and abs(mine["lenet5"] - 100 * recorded["lenet5_test_accuracy"]) < 1e-6),
            "searched %": f"{seeded['searched'].mean():.2f} ± {seeded['searched'].std():.2f}",
            "lenet5 %": f"{seeded['lenet5'].mean():.2f} ± {seeded['lenet5'].std():.2f}",
            "difference (points)": f"{seeded['difference'].mean():+.2f} ± {seeded['difference'].std():.2f}",
            "better in": f"{int((seeded['difference'] > 0).sum())} of {len(seeded)}",
            "paired t p / Wilcoxon p": tests(seeded["difference"]),
            "mean_difference": seeded["difference"].mean(),
        })
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--best-only", action="store_true", help="only each method's best search (default: all)")
    parser.add_argument("--epochs", type=int, help="train both networks this many epochs (default: the study's recipe)")
    parser.add_argument("--method", help="only this method's searches")
    parser.add_argument("--readout", choices=["global-average", "flatten"], help="rebuild the genomes with this read-out")
    parser.add_argument("--study", type=Path, default=STUDY, help="the search study folder (default: %(default)s)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    variant = (f"_{args.epochs}_epochs" if args.epochs else "") + (f"_{args.readout}" if args.readout else "")
    args.out = args.out or args.study / f"best_vs_lenet{variant}.md"
    start = time.perf_counter()
    runs, table = run(args.seeds, args.threads, not args.best_only, args.epochs, args.method, args.readout, args.study)
    minutes = (time.perf_counter() - start) / 60
    searches = per_search(runs, table)
    best = best_rows(table)[["method", "search_seed"]]
    best_table = searches.merge(best, on=["method", "search_seed"]).drop(columns="mean_difference")
    seeded = runs[runs["seed"] >= 0]
    text = [
        "# Best found network vs LeNet-5 of equal parameter count, over training seeds", "",
        f"    python benchmarks/search_best_vs_lenet.py --seeds {' '.join(map(str, args.seeds))} --threads {args.threads}"
        + (" --best-only" if args.best_only else "") + (f" --epochs {args.epochs}" if args.epochs else "")
        + (f" --method {args.method}" if args.method else "") + (f" --readout {args.readout}" if args.readout else "")
        + (f" --study {args.study.relative_to(ROOT) if args.study.is_relative_to(ROOT) else args.study}" if args.study != STUDY else ""), "",
        f"{platform.processor() or platform.machine()}, {args.threads} thread(s), torch {torch.__version__}, "
        f"{minutes:.1f} min ({len(runs)} trainings, {runs['seconds'].mean():.1f} s each on average). Each search's best "
        f"genome and a LeNet-5 scaled to its parameter count, trained with the study's recipe (its data, {args.epochs or 1} epoch(s) of "
        "Adam, batch 32, lr 3e-3). *recorded run*: the study's row (one run each); *reproduced*: the same "
        "initialisations and batch order trained again here give exactly those numbers. Then training seed s sets "
        "both networks' initial weights and the batch order (a pair per seed): test accuracy on the 10,000 test "
        "images in %, mean ± std over seeds; difference = searched − LeNet-5, paired by seed; with 5 pairs the "
        "smallest two-sided Wilcoxon p is 0.0625.", "",
        "## Each method's best search (the goal's network: highest validation accuracy)", "",
        best_table.to_markdown(index=False), "",
    ]
    if not args.best_only:
        means = searches.set_index(["method", "search_seed"])["mean_difference"]
        text += [
            "## Every search's best network", "",
            searches.drop(columns="mean_difference").to_markdown(index=False), "",
            f"Over all {len(means)} searches, the mean difference over seeds is {means.mean():+.2f} points "
            f"(positive in {int((means > 0).sum())} of {len(means)}; one-sample t / Wilcoxon p over searches "
            f"{tests(means)}); over all {len(seeded) // 2} seeded pairs {paired_all(seeded):+.2f} points.", "",
        ]
    args.out.write_text("\n".join(text))
    print("\n".join(text))


def paired_all(runs: pd.DataFrame) -> float:
    """Mean searched − LeNet-5 difference over every (search, seed) pair, in points."""
    wide = runs.pivot_table(index=["method", "search_seed", "seed"], columns="model", values="test_accuracy")
    return float((wide["searched"] - wide["lenet5"]).mean())


if __name__ == "__main__":
    main()
