"""``sparsewire predict DIR``: predict accuracy from structure for any results table with feature columns."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from sparsewire.cli.main import subcommand


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="study folder (results.sqlite / results.csv) or a CSV file")
    p.add_argument("--target", default="test_accuracy", help="accuracy column to predict (default: test_accuracy)")
    p.add_argument("--by", default=None, help="also predict per value of this column (e.g. cell), or per combination of several, "
                   "comma-separated (e.g. cell,generator)")
    p.add_argument("--features", default=None,
                   help="comma-separated feature columns (default: the 23 structural features present)")
    p.add_argument("--predictors", default=None,
                   help="comma-separated subset of bayesian-ridge,random-forest,adaboost,gradient-boosting")
    p.add_argument("--folds", type=int, default=5, help="k of repeated k-fold CV (default 5)")
    p.add_argument("--repeats", type=int, default=5, help="CV repetitions with reshuffling (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default=None, metavar="COLUMN",
                   help="column telling repeated training runs of one structure apart (e.g. train_seed): report "
                        "the R² ceiling set by training noise and predict each structure's mean accuracy")
    p.add_argument("--no-ablations", action="store_true", help="skip the counts-only / all-but-counts feature sets")
    p.add_argument("--graph", default=None, choices=["wl"],
                   help="also score predictors that read each row's graph: wl = Weisfeiler-Lehman pattern frequencies")
    p.add_argument("--out", default=None, help="where prediction.md goes (default: the study folder)")
    p.add_argument("--include-diverged", action="store_true",
                   help="keep trials whose training diverged (they have no accuracy, so they count as dropped rows)")
    p.add_argument("--jobs", type=int, default=1,
                   help="cross-validation folds fitted at once (processes; -1: one per core). Results do not "
                        "depend on it (default 1)")
    p.add_argument("--no-progress", action="store_true")


@subcommand("predict", _args)
def _predict(args: argparse.Namespace) -> int:
    """Predict accuracy from structural features: correlations, CV R², ablations, importances."""
    from sparsewire.performance_prediction import (
        PREDICTORS,
        load_results,
        predict_performance,
        write_prediction_report,
    )

    table = load_results(args.source, include_diverged=args.include_diverged)
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    predictors = [p.strip() for p in args.predictors.split(",") if p.strip()] if args.predictors else list(PREDICTORS)
    results = predict_performance(table, features=features, target=args.target, by=args.by, predictors=predictors,
                                  folds=args.folds, repeats=args.repeats, seed=args.seed,
                                  ablations=not args.no_ablations, progress=not args.no_progress, runs=args.runs,
                                  graph=args.graph, jobs=args.jobs)
    source = Path(args.source)
    out = Path(args.out) if args.out else (source if source.is_dir() else source.parent)
    parts = ["sparsewire", "predict", args.source, "--target", args.target, "--folds", str(args.folds),
             "--repeats", str(args.repeats), "--seed", str(args.seed)]
    for flag, value in [("--by", args.by), ("--features", args.features), ("--predictors", args.predictors),
                        ("--runs", args.runs), ("--graph", args.graph)]:
        if value:
            parts += [flag, value]
    if args.no_ablations:
        parts.append("--no-ablations")
    command = " ".join(shlex.quote(p) for p in parts)
    for r in results:
        best = r.cv[r.cv["features"] == "all"].sort_values("r2_mean", ascending=False).iloc[0]
        ceiling = "" if r.repeatability is None else (
            f" (structures; R2 ceiling {r.repeatability.mean_ceiling:.3f} on the mean, "
            f"{r.repeatability.icc:.3f} on single runs)")
        graph = r.cv[r.cv["features"] == "all + graph (WL)"].sort_values("r2_mean", ascending=False)
        with_graph = "" if graph.empty else (
            f"; with the graph (WL) {graph.iloc[0]['predictor']} R2 = {graph.iloc[0]['r2_mean']:.3f} "
            f"({graph.iloc[0]['r2_mean'] - best['r2_mean']:+.3f})")
        alone = r.cv[r.cv["features"] == "generator only"].sort_values("r2_mean", ascending=False)
        generator = "" if alone.empty else f"; the generator alone R2 = {alone.iloc[0]['r2_mean']:.3f}"
        print(f"{r.group}: {r.rows} rows, best {best['predictor']} R2 = {best['r2_mean']:.3f} ± {best['r2_std']:.3f}"
              + with_graph + generator + ceiling)
    print(f"Report: {write_prediction_report(results, out, command)}")
    return 0
