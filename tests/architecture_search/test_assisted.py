"""Search by training with an online surrogate: acquisition functions, screening, budgets, resume."""

import json
import math
import zlib

import numpy as np
import pytest
from scipy import integrate, stats

from sparsewire.architecture_search.assisted import AssistedConfig, assisted_search
from sparsewire.architecture_search.spaces import Budget, CellSpace
from sparsewire.architecture_search.surrogate import (
    ForestSurrogate,
    expected_improvement,
    rank_correlation,
    upper_confidence_bound,
)
from tests.architecture_search.conftest import Killed, dies_at_call


def space(**budget) -> CellSpace:
    return CellSpace((1, 28, 28), 10, Budget(**budget), min_nodes=1, max_nodes=6, channels=(2, 4, 8, 16))


def accuracy_of(space_: CellSpace):
    """A fake evaluator whose 'accuracy' rises with log MACs, plus deterministic per-genome noise."""
    calls = []

    def evaluate(genomes, indices):
        calls.append(list(indices))
        out = []
        for g in genomes:
            noise = (zlib.crc32(space_.key(g).encode()) % 1000) / 1e5
            out.append({"accuracy": 0.1 * math.log10(space_.cost(g)["macs"]) + noise})
        return out

    evaluate.calls = calls
    return evaluate


def test_ucb_and_expected_improvement():
    mean, std = np.array([0.5, 0.5, 0.6]), np.array([0.0, 0.1, 0.0])
    assert upper_confidence_bound(mean, std, 2.0).tolist() == pytest.approx([0.5, 0.7, 0.6])
    ei = expected_improvement(mean, std, best=0.55)
    assert ei[0] == 0 and ei[2] == pytest.approx(0.05)
    numeric, _ = integrate.quad(lambda y: max(y - 0.55, 0) * stats.norm.pdf(y, 0.5, 0.1), -1, 2, points=[0.55])
    assert ei[1] == pytest.approx(numeric, rel=1e-6)


def test_forest_surrogate_learns_a_ranking_and_reports_spread():
    rng = np.random.default_rng(0)
    rows = [{"a": float(x), "b": float(y)} for x, y in rng.random((80, 2))]
    target = [r["a"] * 2 + 0.1 * r["b"] for r in rows]
    forest = ForestSurrogate(50, seed=0).fit(rows[:60], target[:60])
    mean, std = forest.predict(rows[60:])
    assert rank_correlation(mean.tolist(), target[60:]) > 0.8
    assert (std >= 0).all() and std.max() > 0
    again, _ = ForestSurrogate(50, seed=0).fit(rows[:60], target[:60]).predict(rows[60:])
    assert np.array_equal(mean, again)


@pytest.mark.parametrize("method", ["predictor-ga", "ga", "random"])
def test_every_method_spends_the_budget_on_distinct_feasible_genomes_in_cohorts(method):
    s = space(max_macs=200_000)
    evaluate = accuracy_of(s)
    config = AssistedConfig(method=method, budget=17, population=5, offspring=4, candidates=4, min_fit=5, trees=20, seed=1)
    records = assisted_search(s, evaluate, config, progress=False)
    assert len(records) == 17 and [r["index"] for r in records] == list(range(17))
    assert [len(c) for c in evaluate.calls] == [5, 4, 4, 4]  # one call per generation: a cohort
    assert len({r["genome"] for r in records}) == 17
    assert all(r["macs"] <= 200_000 for r in records)
    later = [r for r in records if r["generation"] > 0]
    assert all(r["predicted"] is not None for r in later)  # the surrogate predicts for every method...
    assert all(r["screened"] == (method == "predictor-ga") for r in later)  # ...but only screens for one


def test_screening_trains_children_the_surrogate_ranks_higher():
    s = space(max_macs=400_000)
    results = {}
    for method in ("predictor-ga", "ga"):
        means = []
        for seed in range(2):
            config = AssistedConfig(method=method, budget=20, population=8, offspring=4, candidates=6, trees=30, seed=seed)
            records = assisted_search(s, accuracy_of(s), config, progress=False)
            means.append(np.mean([r["accuracy"] for r in records if r["generation"] > 0]))
        results[method] = np.mean(means)
    assert results["predictor-ga"] > results["ga"]


def test_checkpoint_resume_equals_an_uninterrupted_search(tmp_path):
    s = space(max_macs=300_000)
    config = AssistedConfig(method="predictor-ga", budget=20, population=6, offspring=4, candidates=3, trees=20, seed=3)
    whole = assisted_search(s, accuracy_of(s), config, progress=False)

    path = tmp_path / "search.json"
    with pytest.raises(Killed):
        assisted_search(s, dies_at_call(3, accuracy_of(s)), config, checkpoint=path, progress=False)  # in generation 2
    assert json.loads(path.read_text())["generation"] == 1
    rest = accuracy_of(s)
    resumed = assisted_search(s, rest, config, checkpoint=path, progress=False)
    assert rest.calls[0][0] == 10  # generations 0 and 1 were not trained again
    assert resumed == json.loads(json.dumps(whole))
    with pytest.raises(ValueError, match="another search"):
        assisted_search(s, rest, AssistedConfig(method="ga", budget=20, population=6, seed=3), checkpoint=path, progress=False)


def test_a_space_with_no_feasible_genome_fails_clearly():
    s = space(max_params=1)
    with pytest.raises(RuntimeError, match="no new genome"):
        assisted_search(s, accuracy_of(s), AssistedConfig(method="random", budget=4, population=3), progress=False)


def test_config_is_checked():
    with pytest.raises(ValueError, match="budget"):
        AssistedConfig(budget=3, population=5)
    with pytest.raises(ValueError, match="method"):
        AssistedConfig(method="annealing")
