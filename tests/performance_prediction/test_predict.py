import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.cli.main import main
from sparsewire.graphs.features import COUNT_FEATURES, FEATURE_NAMES
from sparsewire.performance_prediction import (
    PredictError,
    clean,
    correlations,
    cv_scores,
    feature_sets,
    load_results,
    predict_performance,
)


def synthetic(n=120, seed=0, informative="edge_betweenness_mean", noise=0.02):
    """Random feature table whose accuracy depends on one non-count feature (plus noise)."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.normal(size=(n, len(FEATURE_NAMES))), columns=FEATURE_NAMES)
    table["test_accuracy"] = 0.8 + 0.05 * np.tanh(table[informative]) + noise * rng.normal(size=n)
    table["cell"] = np.where(np.arange(n) % 2 == 0, "gru", "lstm")
    return table


def test_correlations_find_the_informative_feature_and_handle_constants():
    table = synthetic()
    table["nodes"] = 7.0
    corr = correlations(table, FEATURE_NAMES, "test_accuracy")
    assert corr.iloc[0]["feature"] == "edge_betweenness_mean"
    assert corr.iloc[0]["spearman"] > 0.8 and corr.iloc[0]["spearman_p"] < 1e-6
    assert corr.set_index("feature").loc["nodes"].isna()[["pearson", "spearman"]].all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), scale=st.floats(0.1, 10))
def test_spearman_is_invariant_under_monotone_maps_and_pearson_flips_with_sign(seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    base = correlations(pd.DataFrame({"f": x, "y": y}), ["f"], "y").iloc[0]
    mapped = correlations(pd.DataFrame({"f": np.exp(scale * x), "y": y}), ["f"], "y").iloc[0]
    flipped = correlations(pd.DataFrame({"f": -scale * x, "y": y}), ["f"], "y").iloc[0]
    assert mapped["spearman"] == pytest.approx(base["spearman"])
    assert flipped["pearson"] == pytest.approx(-base["pearson"])


def test_cv_r2_separates_signal_from_noise():
    table = synthetic()
    x = table[FEATURE_NAMES].to_numpy()
    signal = cv_scores(x, table["test_accuracy"].to_numpy(), "gradient-boosting", folds=4, repeats=2)
    noise = cv_scores(x, np.random.default_rng(1).normal(size=len(table)), "gradient-boosting", folds=4, repeats=2)
    assert len(signal) == 8
    assert signal.mean() > 0.6
    assert noise.mean() < 0.1


def test_parallel_folds_give_the_same_scores_and_zero_jobs_is_refused():
    table = synthetic(n=60)
    x = table[FEATURE_NAMES].to_numpy()
    y = table["test_accuracy"].to_numpy()
    alone = cv_scores(x, y, "random-forest", folds=3, repeats=2)
    np.testing.assert_array_equal(cv_scores(x, y, "random-forest", folds=3, repeats=2, jobs=2), alone)
    with pytest.raises(PredictError, match="jobs"):
        cv_scores(x, y, "random-forest", folds=3, repeats=2, jobs=0)


def test_ablations_and_groups():
    table = synthetic()
    sets = feature_sets(FEATURE_NAMES)
    assert sets["counts only"] == COUNT_FEATURES
    assert set(sets["all but counts"]) == set(FEATURE_NAMES) - set(COUNT_FEATURES)
    [result] = predict_performance(table, predictors=["random-forest"], repeats=1)
    cv = result.cv.set_index(["features", "predictor"])["r2_mean"]
    assert cv[("all but counts", "random-forest")] > 0.6
    assert cv[("counts only", "random-forest")] < 0.2
    assert result.importances.iloc[0]["feature"] == "edge_betweenness_mean"
    assert len(result.scatter) == len(table)
    groups = predict_performance(table, by="cell", predictors=["bayesian-ridge"], repeats=1, ablations=False)
    assert [r.group for r in groups] == ["all rows", "cell=gru", "cell=lstm"]
    assert [r.rows for r in groups] == [120, 60, 60]


def test_generator_only_baseline_tells_how_much_is_just_the_generator():
    table = synthetic(n=120, noise=0.0)
    rng = np.random.default_rng(1)
    table["generator"] = np.where(np.arange(120) % 2 == 0, "barabasi-albert", "watts-strogatz")
    table["test_accuracy"] = np.where(table["generator"] == "barabasi-albert", 0.8, 0.95) + rng.normal(0, 0.01, 120)
    [result] = predict_performance(table, predictors=["bayesian-ridge"], repeats=1)
    cv = result.cv.set_index("features")["r2_mean"]
    assert cv["generator only"] > 0.9  # the generator explains almost all of the variance
    assert result.cv.set_index("features").loc["generator only", "n_features"] == 2
    one = table.assign(generator="barabasi-albert")
    [alone] = predict_performance(one, predictors=["bayesian-ridge"], repeats=1)
    assert "generator only" not in set(alone.cv["features"])  # one generator: no baseline
    [plain] = predict_performance(table, predictors=["bayesian-ridge"], repeats=1, ablations=False)
    assert set(plain.cv["features"]) == {"all"}
    within = predict_performance(table, by="cell, generator", predictors=["bayesian-ridge"], repeats=1, folds=3)
    assert [r.group for r in within][:2] == ["all rows", "cell=gru, generator=barabasi-albert"]
    assert [r.rows for r in within] == [120, 60, 60]  # gru rows are the even ones: all barabasi-albert
    assert all("generator only" not in set(r.cv["features"]) for r in within[1:])  # one generator per group
    with pytest.raises(PredictError, match="cannot group by 'colour'"):
        predict_performance(table, by="cell,colour", predictors=["bayesian-ridge"], repeats=1)


def test_bad_input():
    table = synthetic(n=30)
    with pytest.raises(PredictError, match="lacks columns"):
        clean(table, ["no_such_feature"], "test_accuracy")
    with pytest.raises(PredictError, match="no accuracy column"):
        predict_performance(table, target="accuracy")
    with pytest.raises(PredictError, match="unknown predictor"):
        predict_performance(table, predictors=["svm"])
    with pytest.raises(PredictError, match="constant"):
        predict_performance(table.assign(test_accuracy=1.0))
    with pytest.raises(PredictError, match="too few"):
        predict_performance(table.head(6), predictors=["bayesian-ridge"])
    with pytest.raises(PredictError, match="none of the 23"):
        predict_performance(pd.DataFrame({"a": [1.0, 2.0], "test_accuracy": [0.1, 0.2]}))
    dirty = table.copy()
    dirty.loc[0, "edges"] = np.nan
    dirty.loc[1, "test_accuracy"] = np.inf
    kept, dropped = clean(dirty, FEATURE_NAMES, "test_accuracy")
    assert (len(kept), dropped) == (28, 2)


def test_report_and_cli(tmp_path):
    table = synthetic(n=60)
    csv = tmp_path / "results.csv"
    table.to_csv(csv, index=False)
    assert load_results(tmp_path).shape == table.shape
    code = main(["predict", str(csv), "--predictors", "bayesian-ridge", "--repeats", "1", "--by", "cell",
                 "--no-progress", "--out", str(tmp_path / "cli")])
    assert code == 0
    text = (tmp_path / "cli" / "prediction.md").read_text()
    assert "cell=gru" in text and "sparsewire predict" in text and "R²" in text
    assert (tmp_path / "cli" / "corr_cell-lstm.png").exists() and (tmp_path / "cli" / "scatter_all-rows.png").exists()
    assert main(["predict", str(tmp_path / "missing.csv")]) == 2
