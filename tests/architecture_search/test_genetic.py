import math

import networkx as nx
import pandas as pd
import pytest

from sparsewire.architecture_search import PredictorFitness, SearchConfig, genetic_search, has_signal_path
from sparsewire.graphs.features import structural_features
from sparsewire.graphs.priors import generate
from sparsewire.performance_prediction.table import PredictError


def seeds(count=6):
    return [generate("barabasi-albert", 10 + i, seed=i, m=1) for i in range(count)]


def edges(graph):
    return float(graph.number_of_edges())


CONFIG = SearchConfig(population=12, generations=8, min_nodes=8, max_nodes=20, seed=1)


def test_search_improves_fitness_keeps_the_best_and_respects_bounds():
    result = genetic_search(seeds(), edges, CONFIG, progress=False)
    bests = [h["best"] for h in result.history]
    assert len(bests) == CONFIG.generations + 1
    assert all(b2 >= b1 for b1, b2 in zip(bests, bests[1:], strict=False))  # elitism: never worse
    assert bests[-1] > bests[0]
    assert result.fitness == sorted(result.fitness, reverse=True) and result.fitness[0] == edges(result.best)
    assert all(CONFIG.min_nodes <= g.number_of_nodes() <= CONFIG.max_nodes for g in result.graphs)
    assert all(u < v for g in result.graphs for u, v in g.edges)


def test_search_is_deterministic_for_a_seed():
    a = genetic_search(seeds(), edges, CONFIG, progress=False)
    b = genetic_search(seeds(), edges, CONFIG, progress=False)
    assert [sorted(g.edges) for g in a.graphs] == [sorted(g.edges) for g in b.graphs]
    assert a.history == b.history


def test_interrupted_search_resumes_from_its_checkpoint(tmp_path):
    whole = genetic_search(seeds(), edges, CONFIG, progress=False)
    calls = {"n": 0}

    def flaky(graph):
        calls["n"] += 1
        if calls["n"] > 40:
            raise KeyboardInterrupt
        return edges(graph)

    checkpoint = tmp_path / "search.json"
    with pytest.raises(KeyboardInterrupt):
        genetic_search(seeds(), flaky, CONFIG, checkpoint=checkpoint, progress=False)
    assert checkpoint.exists()
    resumed = genetic_search(seeds(), edges, CONFIG, checkpoint=checkpoint, progress=False)
    assert [sorted(g.edges) for g in resumed.graphs] == [sorted(g.edges) for g in whole.graphs]
    assert resumed.history == whole.history
    with pytest.raises(ValueError, match="another config"):
        genetic_search(seeds(), edges, SearchConfig(population=12, generations=9, min_nodes=8, max_nodes=20, seed=1),
                       checkpoint=checkpoint, progress=False)


def test_bad_settings_and_inputs_are_refused():
    with pytest.raises(ValueError, match="tournament"):
        SearchConfig(population=4, tournament=5)
    with pytest.raises(ValueError, match="min_nodes"):
        SearchConfig(min_nodes=10, max_nodes=5)
    with pytest.raises(ValueError, match="at least one"):
        genetic_search([], edges, CONFIG, progress=False)
    with pytest.raises(ValueError, match="outside"):
        genetic_search([generate("barabasi-albert", 30, seed=0, m=1)], edges, CONFIG, progress=False)


def test_signal_path_check():
    assert has_signal_path(nx.DiGraph([(0, 1), (1, 2)]))
    assert not has_signal_path(nx.DiGraph())


def test_invalid_genomes_score_minus_infinity(monkeypatch):
    import sparsewire.architecture_search.genetic as genetic

    monkeypatch.setattr(genetic, "has_signal_path", lambda g: g.number_of_edges() % 2 == 0)
    result = genetic_search(seeds(), edges, CONFIG, progress=False)
    assert all(math.isinf(f) == (g.number_of_edges() % 2 == 1) for g, f in zip(result.graphs, result.fitness, strict=True))


def feature_table(n=60):
    rows = []
    for i in range(n):
        graph = generate("watts-strogatz", 10 + i % 30, seed=i, k=4, p=0.3)
        f = structural_features(graph, orientation_seed=i)
        rows.append(f | {"test_accuracy": f["edges"] / 200, "cell": "lstm" if i % 2 else "gru"})
    return pd.DataFrame(rows)


def test_predictor_fitness_learns_from_a_results_table():
    fit = PredictorFitness(feature_table(), predictor="bayesian-ridge", where={"cell": "lstm"})
    assert fit.rows == 30
    small, large = generate("watts-strogatz", 12, seed=0, k=4, p=0.3), generate("watts-strogatz", 36, seed=0, k=4, p=0.3)
    assert fit(large) > fit(small)
    assert fit(large) == pytest.approx(large.number_of_edges() / 200, abs=0.05)


def test_predictor_fitness_refuses_unusable_tables():
    with pytest.raises(PredictError, match="no such column"):
        PredictorFitness(feature_table(), where={"nope": 1})
    with pytest.raises(PredictError, match="usable rows"):
        PredictorFitness(feature_table(8))


def test_predictor_fitness_uses_the_feature_convention_of_its_table():
    old = feature_table()  # no feature_convention column: rows recorded before it existed
    assert PredictorFitness(old, where={"cell": "lstm"}).convention == "sparsewire-v1"
    graph = generate("barabasi-albert", 20, seed=3, m=2)
    new = old.assign(feature_convention="stier2021")
    fit = PredictorFitness(new, where={"cell": "lstm"}, features=["density", "node_betweenness_var"])
    assert fit.convention == "stier2021"
    expected = structural_features(graph)
    assert fit.vector(graph).tolist() == [[expected["density"], expected["node_betweenness_var"]]]
    mixed = pd.concat([old.assign(feature_convention="sparsewire-v1"), new])
    with pytest.raises(PredictError, match="mixes feature conventions"):
        PredictorFitness(mixed)
