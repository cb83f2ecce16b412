"""Performance prediction from structure (Stier, Darji & Granitzer 2021, Sec. 4.3).

>>> from sparsewire.performance_prediction import load_results, predict_performance, write_prediction_report
>>> table = load_results("runs/reber-structure")                       # doctest: +SKIP
>>> results = predict_performance(table, target="test_accuracy", by="cell")  # doctest: +SKIP
>>> write_prediction_report(results, "runs/reber-structure")           # doctest: +SKIP
"""

from sparsewire.performance_prediction.analysis import (
    GroupPrediction,
    feature_sets,
    predict_group,
    predict_performance,
)
from sparsewire.performance_prediction.correlation import correlations
from sparsewire.performance_prediction.predictors import (
    PREDICTORS,
    cv_scores,
    cv_table,
    importances,
    make_predictor,
    out_of_fold,
)
from sparsewire.performance_prediction.report import PAPER_R2, write_prediction_report
from sparsewire.performance_prediction.table import PredictError, clean, default_features, load_results

__all__ = [
    "PAPER_R2",
    "PREDICTORS",
    "GroupPrediction",
    "PredictError",
    "clean",
    "correlations",
    "cv_scores",
    "cv_table",
    "default_features",
    "feature_sets",
    "importances",
    "load_results",
    "make_predictor",
    "out_of_fold",
    "predict_group",
    "predict_performance",
    "write_prediction_report",
]
