"""Regressors that predict accuracy from structure, scored by repeated k-fold cross-validation.

The four model families of Stier, Darji & Granitzer (2021), Sec. 4.3: Bayesian ridge regression, random
forest, AdaBoost and gradient boosting (scikit-learn). Scores are out-of-sample R² over every fold of
``repeats`` × ``folds``-fold CV with reshuffling (mean ± std), not one small train/test split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin
from sklearn.ensemble import AdaBoostRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import BayesianRidge
from sklearn.model_selection import KFold, RepeatedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsewire.performance_prediction.table import PredictError

PREDICTORS: dict[str, Callable[[int], RegressorMixin]] = {
    "bayesian-ridge": lambda seed: make_pipeline(StandardScaler(), BayesianRidge()),
    "random-forest": lambda seed: RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1),
    "adaboost": lambda seed: AdaBoostRegressor(n_estimators=100, random_state=seed),
    "gradient-boosting": lambda seed: GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=seed),
}
"""Predictor name → factory ``seed -> unfitted sklearn regressor``."""


def make_predictor(name: str, seed: int = 0) -> RegressorMixin:
    if name not in PREDICTORS:
        raise PredictError(f"unknown predictor {name!r}; choose from {sorted(PREDICTORS)}")
    return PREDICTORS[name](seed)


def _check_size(n: int, folds: int) -> None:
    if folds < 2:
        raise PredictError(f"folds must be at least 2, got {folds}")
    if n < 2 * folds:
        fits = f"--folds {n // 2} or fewer" if n >= 4 else "at least 4 rows"
        raise PredictError(f"{n} rows are too few for {folds}-fold cross-validation (need at least {2 * folds}; "
                           f"with {n} rows use {fits}). A quick study is a smoke test: its predictions mean nothing")


def cv_scores(
    x: np.ndarray, y: np.ndarray, predictor: str, *, folds: int = 5, repeats: int = 5, seed: int = 0, jobs: int = 1
) -> np.ndarray:
    """Out-of-fold R² of every fold of repeated k-fold CV (``folds × repeats`` values).

    ``jobs`` fits that many folds at once (joblib processes; -1: one per core). The scores do not depend on it:
    every fold's regressor has its own fixed seed."""
    _check_size(len(y), folds)
    if repeats < 1:
        raise PredictError(f"repeats must be at least 1, got {repeats}")
    if jobs == 0:
        raise PredictError("jobs must be a positive number of processes or -1 (one per core), got 0")
    splitter = RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    return cross_val_score(make_predictor(predictor, seed), x, y, cv=splitter, scoring="r2", n_jobs=jobs)


def cv_table(
    table: pd.DataFrame,
    feature_sets: Mapping[str, Sequence[str]],
    target: str,
    predictors: Sequence[str],
    *,
    folds: int = 5,
    repeats: int = 5,
    seed: int = 0,
    progress: bool = False,
    jobs: int = 1,
) -> pd.DataFrame:
    """R² (mean ± std over folds × repeats) for every (feature set, predictor); ``jobs`` as in :func:`cv_scores`."""
    from sparsewire.progress import progress as tqdm

    y = table[target].to_numpy(dtype=float)
    rows = []
    pairs = [(s, p) for s in feature_sets for p in predictors]
    for set_name, predictor in tqdm(pairs, desc="cross-validation", disable=not progress, leave=False):
        x = table[list(feature_sets[set_name])].to_numpy(dtype=float)
        scores = cv_scores(x, y, predictor, folds=folds, repeats=repeats, seed=seed, jobs=jobs)
        rows.append({"features": set_name, "n_features": x.shape[1], "predictor": predictor, "rows": len(y),
                     "r2_mean": float(scores.mean()), "r2_std": float(scores.std(ddof=1)), "fits": len(scores)})
    return pd.DataFrame(rows)


def out_of_fold(x: np.ndarray, y: np.ndarray, predictor: str, *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Each row's prediction by the model that did not see it (one shuffled k-fold pass), for scatter plots."""
    _check_size(len(y), folds)
    return cross_val_predict(make_predictor(predictor, seed), x, y, cv=KFold(folds, shuffle=True, random_state=seed))


def importances(table: pd.DataFrame, features: Sequence[str], target: str, *, seed: int = 0) -> pd.DataFrame:
    """Impurity importances of random forest and gradient boosting fit on all rows (each sums to 1)."""
    x = table[list(features)].to_numpy(dtype=float)
    y = table[target].to_numpy(dtype=float)
    out = pd.DataFrame({"feature": list(features)})
    for name in ("random-forest", "gradient-boosting"):
        model = make_predictor(name, seed).fit(x, y)
        out[name] = model.feature_importances_
    out["mean"] = out[["random-forest", "gradient-boosting"]].mean(axis=1)
    return out.sort_values("mean", ascending=False).reset_index(drop=True)
