"""Architecture search over sparse network structures: a genetic algorithm with a performance predictor
as fitness (Stier, Darji & Granitzer 2021)."""

from sparsewire.search.fitness import PredictorFitness
from sparsewire.search.genetic import SearchConfig, SearchResult, genetic_search, has_signal_path
from sparsewire.search.operators import canonical, crossover, mutate

__all__ = ["PredictorFitness", "SearchConfig", "SearchResult", "canonical", "crossover", "genetic_search",
           "has_signal_path", "mutate"]
