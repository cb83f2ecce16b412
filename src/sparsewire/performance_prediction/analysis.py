"""Performance prediction from structure: correlations, CV-scored predictors, ablations, importances.

Stier, Darji & Granitzer (2021), Sec. 4.3 predict the test accuracy of networks from the 23 structural
features of their graphs alone (R² up to 0.81 for recurrent networks on the Reber grammar). This module
does that for any results table with feature columns and an accuracy column, optionally per group
(e.g. per recurrent cell type).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from sparsewire.performance_prediction.correlation import correlations
from sparsewire.performance_prediction.predictors import PREDICTORS, cv_table, importances, out_of_fold
from sparsewire.performance_prediction.repeats import Repeatability, average_runs, repeatability
from sparsewire.performance_prediction.table import PredictError, clean, count_features, default_features


@dataclass
class GroupPrediction:
    """Everything predicted for one group of rows (or the whole table)."""

    group: str
    rows: int
    dropped: int
    target: str
    correlations: pd.DataFrame
    cv: pd.DataFrame
    importances: pd.DataFrame
    scatter: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Out-of-fold ``predicted`` vs ``actual`` of the best predictor on all features."""
    scatter_predictor: str = ""
    repeatability: Repeatability | None = None
    """With repeated runs per structure: the variance split and R² ceilings (the rows are then structures)."""
    feature_note: str = ""
    """Which feature definitions the rows carry (and how many were recomputed from their graphs)."""


def feature_sets(features: Sequence[str], ablations: bool = True) -> dict[str, list[str]]:
    """``all`` plus, with ``ablations``, ``counts only`` and ``all but counts`` (when both are non-empty)."""
    sets = {"all": list(features)}
    if ablations:
        counts = set(count_features())
        only = [f for f in features if f in counts]
        rest = [f for f in features if f not in counts]
        if only and rest:
            sets["counts only"] = only
            sets["all but counts"] = rest
    return sets


def with_generator_columns(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with one 0/1 column ``generator=<name>`` per graph generator, and their names; ``[]`` when the
    table has no ``generator`` column or only one generator.

    The baseline ``generator only`` asks how much of a structure predictor's R² merely recognises which random
    graph model built the network (on the Reber study, most of it: the generators' accuracy means differ)."""
    if "generator" not in table.columns or table["generator"].nunique(dropna=True) < 2:
        return table, []
    dummies = pd.get_dummies(table["generator"], prefix="generator", prefix_sep="=", dtype=float)
    return pd.concat([table, dummies], axis=1), list(dummies.columns)


def predict_group(
    table: pd.DataFrame,
    features: Sequence[str],
    target: str,
    *,
    group: str = "all rows",
    predictors: Sequence[str] = tuple(PREDICTORS),
    folds: int = 5,
    repeats: int = 5,
    seed: int = 0,
    ablations: bool = True,
    progress: bool = False,
    graph_columns: Sequence[str] = (),
    jobs: int = 1,
) -> GroupPrediction:
    """Correlations, CV R² per (feature set, predictor), importances and an out-of-fold scatter for one table.

    With ``ablations`` and rows from several graph generators, the baseline ``generator only``
    (:func:`with_generator_columns`) is scored too.
    ``graph_columns`` (e.g. WL pattern frequencies, :mod:`sparsewire.performance_prediction.graph_kernel`) add the feature
    sets ``graph (WL)`` and ``all + graph (WL)``; correlations, importances and the scatter stay on ``features``.
    ``jobs`` cross-validates that many folds at once (:func:`~sparsewire.performance_prediction.predictors.cv_scores`).
    """
    table, generator = with_generator_columns(table) if ablations else (table, [])
    data, dropped = clean(table, [*features, *graph_columns, *generator], target)
    if data[target].nunique() < 2:
        raise PredictError(f"{group}: the target {target!r} is constant over {len(data)} rows; nothing to predict")
    sets = feature_sets(features, ablations)
    if generator:
        sets["generator only"] = generator
    if graph_columns:
        sets["graph (WL)"] = list(graph_columns)
        sets["all + graph (WL)"] = [*features, *graph_columns]
    cv = cv_table(data, sets, target, predictors, folds=folds, repeats=repeats, seed=seed, progress=progress,
                  jobs=jobs)
    best = cv[cv["features"] == "all"].sort_values("r2_mean", ascending=False).iloc[0]["predictor"]
    x = data[list(features)].to_numpy(dtype=float)
    y = data[target].to_numpy(dtype=float)
    predicted = out_of_fold(x, y, best, folds=folds, seed=seed)
    scatter = pd.DataFrame({"actual": y, "predicted": predicted})
    return GroupPrediction(group, len(data), dropped, target, correlations(data, features, target), cv,
                           importances(data, features, target, seed=seed), scatter, str(best))


def predict_performance(
    table: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    target: str = "test_accuracy",
    by: str | None = None,
    predictors: Sequence[str] = tuple(PREDICTORS),
    folds: int = 5,
    repeats: int = 5,
    seed: int = 0,
    ablations: bool = True,
    progress: bool = False,
    runs: str | None = None,
    recompute: bool = True,
    graph: str | None = None,
    jobs: int = 1,
) -> list[GroupPrediction]:
    """:func:`predict_group` on the whole table and, with ``by``, on each of its groups (``by`` names a column or
    several, comma-separated: ``"cell,generator"`` predicts within each cell and generator).

    Rows recorded before issue 11 carry the earlier ``sparsewire-v1`` feature definitions; with
    ``recompute`` (default) the features of every row that names its graph (``reber-structure`` and
    ``prior`` rows) are first recomputed with the authors' definitions
    (:func:`~sparsewire.performance_prediction.recompute.recompute_features`). Each result's ``feature_note`` says which
    definitions the rows carry; rows that still mix definitions are an error.

    ``features`` defaults to the 23 structural features present in the table. ``runs`` names the column
    that tells repeated training runs of one structure apart (e.g. ``train_seed``): each group then also
    gets its :class:`~sparsewire.performance_prediction.repeats.Repeatability` (the R² ceiling), and the predictors are
    scored on the mean accuracy per structure, so that no structure is in a training and a test fold at once.

    ``graph="wl"`` also scores predictors that read each row's graph (rebuilt from the row) through its
    Weisfeiler–Lehman pattern frequencies (:mod:`sparsewire.performance_prediction.graph_kernel`), alone and next to the 23
    features.

    ``jobs`` fits that many cross-validation folds at once (-1: one per core); results do not depend on it.
    """
    for p in predictors:
        if p not in PREDICTORS:
            raise PredictError(f"unknown predictor {p!r}; choose from {sorted(PREDICTORS)}")
    if target not in table.columns:
        raise PredictError(f"no accuracy column {target!r}; columns: {list(table.columns)}")
    table, note = _feature_definitions(table, recompute)
    features = list(features) if features else default_features(table)
    graph_columns: list[str] = []
    if graph is not None:
        if graph != "wl":
            raise PredictError(f"unknown graph representation {graph!r}; choose 'wl' (Weisfeiler-Lehman)")
        from sparsewire.performance_prediction.graph_kernel import add_wl_columns

        table, graph_columns = add_wl_columns(table)
        if not graph_columns:
            raise PredictError("graph='wl' needs rows that name their graph (reber-structure or prior rows)")

    def predict(rows: pd.DataFrame, name: str) -> GroupPrediction:
        return predict_group(rows, features, target, group=name, predictors=predictors, folds=folds, repeats=repeats,
                             seed=seed, ablations=ablations, progress=progress, graph_columns=graph_columns,
                             jobs=jobs)

    columns = [c.strip() for c in by.split(",") if c.strip()] if by is not None else []
    for column in columns:
        if column not in table.columns:
            raise PredictError(f"cannot group by {column!r}: no such column")
    if runs is not None and runs not in table.columns:
        raise PredictError(f"no column {runs!r} naming repeated runs")
    parts = [("all rows", table)]
    if columns:
        parts += [(", ".join(f"{c}={v}" for c, v in zip(columns, values, strict=True)), part)
                  for values, part in table.groupby(columns, sort=True)]  # keys are tuples (pandas >= 2)
    out = []
    for name, part in parts:
        if runs is None:
            out.append(predict(part, name))
            continue
        split = repeatability(part, features, target, keys=columns)
        kept = [*columns, *(["generator"] if "generator" in part.columns else [])]
        result = predict(average_runs(part, [*features, *graph_columns], target, keys=kept), name)
        result.repeatability = split
        out.append(result)
    for result in out:
        result.feature_note = note
    return out


def _feature_definitions(table: pd.DataFrame, recompute: bool) -> tuple[pd.DataFrame, str]:
    """The table with its features recomputed where needed and possible, and a note saying what they are."""
    from sparsewire.graphs.features import FEATURE_NAMES, row_conventions
    from sparsewire.performance_prediction.recompute import recompute_features

    if not set(FEATURE_NAMES) & set(table.columns):
        return table, ""
    done = 0
    if recompute:
        table, done = recompute_features(table)
    found = sorted(set(row_conventions(table)))
    if len(found) > 1:
        raise PredictError(f"the rows mix feature definitions {found} and some cannot be recomputed from their "
                           "graphs: filter them (see sparsewire.graphs.features)")
    if found == ["stier2021"]:
        note = "Structural features: the authors' definitions (`stier2021`, see `sparsewire.graphs.features`)"
        return table, note + (f"; {done} rows recorded with the earlier `sparsewire-v1` definitions were "
                              "recomputed from their graphs." if done else ".")
    return table, ("Structural features: these rows carry the earlier `sparsewire-v1` definitions (sources/sinks "
                   "= nodes without in/out edges, density 2E/(N(N-1)), population variances), recorded before "
                   "issue 11, and name no graph to recompute them from; they differ from the authors' (`stier2021`).")


def r2(scatter: pd.DataFrame) -> float:
    """R² of an out-of-fold scatter."""
    return float(r2_score(scatter["actual"], scatter["predicted"])) if len(scatter) > 1 else np.nan
