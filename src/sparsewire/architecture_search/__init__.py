"""Architecture search over sparse network structures: a genetic algorithm with a performance predictor
as fitness (Stier, Darji & Granitzer 2021), and search by training screened by an online surrogate over
feed-forward DAGs and DAGs of convolutional cells."""

from sparsewire.architecture_search.assisted import METHODS, AssistedConfig, assisted_search
from sparsewire.architecture_search.cells import CellGenome, CellNetwork
from sparsewire.architecture_search.fitness import PredictorFitness
from sparsewire.architecture_search.genetic import SearchConfig, SearchResult, genetic_search, has_signal_path
from sparsewire.architecture_search.operators import canonical, crossover, mutate
from sparsewire.architecture_search.spaces import Budget, CellSpace, FeedForwardSpace, SearchSpace
from sparsewire.architecture_search.surrogate import (
           ForestSurrogate,
           expected_improvement,
           upper_confidence_bound,
)

__all__ = ["METHODS", "AssistedConfig", "Budget", "CellGenome", "CellNetwork", "CellSpace", "FeedForwardSpace",
           "ForestSurrogate", "PredictorFitness", "SearchConfig", "SearchResult", "SearchSpace", "assisted_search",
           "canonical", "crossover", "expected_improvement", "genetic_search", "has_signal_path", "mutate",
           "upper_confidence_bound"]
