"""``prediction.md``: the Markdown report (and PNGs) of a performance-prediction run."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sparsewire.performance_prediction.analysis import GroupPrediction, r2
from sparsewire.performance_prediction.plots import correlation_bars, predicted_vs_actual

PAPER_R2 = 0.81
"""Best R² of Stier et al. (2021) predicting Reber-grammar RNN accuracy from structure alone."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cv_markdown(cv: pd.DataFrame) -> str:
    table = cv.assign(r2=[f"{m:.3f} ± {s:.3f}" for m, s in zip(cv["r2_mean"], cv["r2_std"], strict=True)])
    return table[["features", "n_features", "predictor", "rows", "fits", "r2"]].to_markdown(index=False)


def prediction_markdown(results: Sequence[GroupPrediction], out_dir: Path, command: str = "") -> str:
    """The report body; writes ``corr_<group>.png`` and ``scatter_<group>.png`` into ``out_dir``."""
    first = results[0]
    best = pd.concat([r.cv.assign(group=r.group) for r in results])
    best = best[best["features"] == "all"].sort_values("r2_mean", ascending=False)
    lines = [
        f"Target: `{first.target}`. R² is out-of-sample: mean ± std over every fold of repeated k-fold "
        f"cross-validation ({int(first.cv['fits'].iloc[0])} fits per cell). The paper reports R² up to "
        f"{PAPER_R2} for Reber-grammar recurrent networks from structure alone.",
        "",
    ]
    if command:
        lines += [f"Command: `{command}`", ""]
    if first.feature_note:
        lines += [first.feature_note, ""]
    lines += ["## Best predictor on all features, per group", "",
              best[["group", "predictor", "rows", "r2_mean", "r2_std"]].round(3).to_markdown(index=False), ""]
    splits = [r.repeatability.as_row() | {"group": r.group} for r in results if r.repeatability is not None]
    if splits:
        table = pd.DataFrame(splits)[["group", "structures", "runs", "runs_per_structure", "between", "within",
                                      "icc", "mean_ceiling"]]
        lines += ["## Structure or training noise? (repeated runs)", "",
                  "Each structure was trained several times. `between` is the variance of accuracy between "
                  "structures, `within` between runs of one structure (training noise). `icc` = between / "
                  "(between + within) is the most R² any structure-only predictor can reach on single runs; "
                  "`mean_ceiling` the same for the mean over a structure's runs, which is what the predictors "
                  "below are scored on (one row per structure).", "",
                  table.to_markdown(index=False, floatfmt=".4g"), ""]
    for result in results:
        slug = _slug(result.group)
        unit = "structures" if result.repeatability is not None else "rows"
        lines += [f"## {result.group} ({result.rows} {unit}" + (f", {result.dropped} dropped as non-finite" if result.dropped else "")
                  + ")", "", "### Cross-validated R² (feature-set ablations)", "", cv_markdown(result.cv), ""]
        lines += ["### Correlation with accuracy", "",
                  result.correlations.round(4).to_markdown(index=False), ""]
        png = correlation_bars(result.correlations, out_dir / f"corr_{slug}.png", title=result.group)
        lines += [f"![correlations]({png.name})", ""]
        lines += ["### Feature importances (impurity, fit on all rows)", "",
                  result.importances.head(10).round(4).to_markdown(index=False), ""]
        score = r2(result.scatter)
        png = predicted_vs_actual(result.scatter, out_dir / f"scatter_{slug}.png", score,
                                  title=f"{result.group} · {result.scatter_predictor}")
        lines += [f"Out-of-fold predictions of {result.scatter_predictor} (one 5-fold pass, R² = {score:.3f}):", "",
                  f"![predicted vs actual]({png.name})", ""]
    return "\n".join(lines)


def write_prediction_report(results: Sequence[GroupPrediction], out_dir: str | Path, command: str = "") -> Path:
    """Write ``out_dir/prediction.md`` (+ ``prediction_cv.csv``, ``prediction_correlations.csv``, PNGs)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    body = prediction_markdown(results, out_dir, command)
    pd.concat([r.cv.assign(group=r.group) for r in results]).to_csv(out_dir / "prediction_cv.csv", index=False)
    pd.concat([r.correlations.assign(group=r.group) for r in results]).to_csv(
        out_dir / "prediction_correlations.csv", index=False)
    path = out_dir / "prediction.md"
    path.write_text("# Performance prediction from structure\n\n" + body + "\n")
    return path
