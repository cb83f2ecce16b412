import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.architecture_search.operators import add_node, canonical, crossover, mutate, remove_node
from sparsewire.graphs.build import to_dag
from sparsewire.graphs.priors import generate


def genome(n=15, seed=0):
    return canonical(generate("watts-strogatz", n, seed=seed, k=4, p=0.3), seed=seed)


def is_genome(g: nx.DiGraph) -> bool:
    return sorted(g.nodes) == list(range(g.number_of_nodes())) and all(u < v for u, v in g.edges)


def test_canonical_is_an_index_ordered_copy_of_the_oriented_graph():
    graph = generate("barabasi-albert", 20, seed=3, m=2)
    g = canonical(graph, seed=5)
    assert is_genome(g) and g.number_of_edges() == graph.number_of_edges()
    assert nx.is_isomorphic(g, to_dag(graph, seed=5))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 6), n=st.integers(5, 20))
def test_mutations_keep_genomes_valid_and_within_bounds(seed, steps, n):
    rng = np.random.default_rng(seed)
    g = mutate(genome(n, seed % 7), rng, steps=steps, min_nodes=n - 1, max_nodes=n + 1)
    assert is_genome(g) and nx.is_directed_acyclic_graph(g)
    assert n - 1 <= g.number_of_nodes() <= n + 1


def test_node_insertion_and_deletion_change_size_by_one():
    rng = np.random.default_rng(0)
    g = genome(12)
    bigger, smaller = add_node(g, rng), remove_node(g, rng)
    assert bigger.number_of_nodes() == 13 and is_genome(bigger)
    assert smaller.number_of_nodes() == 11 and is_genome(smaller)
    assert bigger.number_of_edges() > g.number_of_edges() - 1  # the new node is wired in
    assert smaller.number_of_edges() <= g.number_of_edges()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_crossover_keeps_shared_edges_and_inherits_only_parental_ones(seed):
    a, b = genome(12, 1), genome(16, 2)
    child = crossover(a, b, np.random.default_rng(seed))
    n = child.number_of_nodes()
    assert n in (12, 16) and is_genome(child)
    ea = {e for e in a.edges if e[1] < n}
    eb = {e for e in b.edges if e[1] < n}
    assert ea & eb <= set(child.edges) <= ea | eb
