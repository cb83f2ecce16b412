"""Architecture search over sparse network structures: a genetic algorithm with a performance predictor
as fitness (Stier, Darji & Granitzer 2021)."""

from sparsewire.architecture_search.fitness import PredictorFitness
from sparsewire.architecture_search.genetic import SearchConfig, SearchResult, genetic_search, has_signal_path
from sparsewire.architecture_search.operators import canonical, crossover, mutate

__all__ = ["PredictorFitness", "SearchConfig", "SearchResult", "canonical", "crossover", "genetic_search",
           "has_signal_path", "mutate"]
