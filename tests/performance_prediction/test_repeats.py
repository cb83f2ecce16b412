"""Repeated runs per structure: the variance split (R² ceiling) and prediction on structure means."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.cli.main import main
from sparsewire.graphs.features import FEATURE_NAMES
from sparsewire.performance_prediction import PredictError, predict_performance
from sparsewire.performance_prediction.repeats import average_runs, repeatability


def repeated(structures=300, runs=3, between=1.0, within=1.0, seed=0):
    """``runs`` rows per structure; accuracy = structure effect (var ``between``) + run noise (var ``within``).
    The structure effect is a function of one feature, so structure fully determines the mean."""
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(rng.normal(size=(structures, len(FEATURE_NAMES))), columns=FEATURE_NAMES)
    effect = np.sqrt(between) * features["nodes"].to_numpy()
    rows = features.loc[np.repeat(np.arange(structures), runs)].reset_index(drop=True)
    rows["train_seed"] = np.tile(np.arange(runs), structures)
    rows["test_accuracy"] = np.repeat(effect, runs) + np.sqrt(within) * rng.normal(size=structures * runs)
    return rows


@pytest.mark.parametrize("between, within", [(1.0, 1.0), (1.0, 3.0), (4.0, 1.0)])
def test_variance_split_recovers_known_components(between, within):
    split = repeatability(repeated(structures=2000, between=between, within=within), FEATURE_NAMES, "test_accuracy")
    assert (split.structures, split.runs, split.runs_per_structure) == (2000, 6000, 3)
    assert split.within == pytest.approx(within, rel=0.06)
    assert split.between == pytest.approx(between, rel=0.1)
    assert split.icc == pytest.approx(between / (between + within), abs=0.04)
    assert split.mean_ceiling == pytest.approx(between / (between + within / 3), abs=0.04)


def test_noise_free_runs_have_ceiling_one_and_pure_noise_about_zero():
    exact = repeatability(repeated(within=0.0), FEATURE_NAMES, "test_accuracy")
    assert exact.within == pytest.approx(0, abs=1e-12) and exact.icc == pytest.approx(1) == exact.mean_ceiling
    noise = repeatability(repeated(between=0.0), FEATURE_NAMES, "test_accuracy")
    assert noise.icc < 0.05


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), runs=st.integers(2, 4), between=st.floats(0, 5), within=st.floats(0.01, 5))
def test_ceilings_are_fractions_and_averaging_raises_them(seed, runs, between, within):
    split = repeatability(repeated(structures=20, runs=runs, between=between, within=within, seed=seed),
                          FEATURE_NAMES, "test_accuracy")
    assert 0 <= split.icc <= split.mean_ceiling <= 1


def test_average_runs_gives_one_row_per_structure_with_the_mean():
    table = repeated(structures=10, runs=3)
    means = average_runs(table, FEATURE_NAMES, "test_accuracy")
    assert len(means) == 10 and (means["runs"] == 3).all()
    first = table[table["nodes"] == means["nodes"].iloc[0]]["test_accuracy"].mean()
    assert means["test_accuracy"].iloc[0] == pytest.approx(first)


def test_prediction_on_structure_means_approaches_the_ceiling():
    table = repeated(structures=150, runs=3, between=1.0, within=1.0)
    [result] = predict_performance(table, runs="train_seed", predictors=["bayesian-ridge"], repeats=2,
                                   ablations=False)
    assert result.rows == 150 and result.repeatability is not None
    r2 = result.cv["r2_mean"].iloc[0]
    assert 0.5 < r2 <= result.repeatability.mean_ceiling + 0.1  # ceiling 0.75: linear in one feature


def test_bad_input():
    with pytest.raises(PredictError, match="repeated runs"):
        repeatability(repeated(runs=1), FEATURE_NAMES, "test_accuracy")
    with pytest.raises(PredictError, match="no column 'seed'"):
        predict_performance(repeated(structures=10), runs="seed")


def test_cli_reports_the_split(tmp_path):
    csv = tmp_path / "results.csv"
    repeated(structures=40).to_csv(csv, index=False)
    assert main(["predict", str(csv), "--runs", "train_seed", "--predictors", "bayesian-ridge", "--repeats", "1",
                 "--no-ablations", "--no-progress"]) == 0
    text = (tmp_path / "prediction.md").read_text()
    assert "Structure or training noise?" in text and "mean_ceiling" in text and "--runs train_seed" in text
