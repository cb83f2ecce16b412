"""The surrogate's graph-native features: WL pattern frequencies over a vocabulary refitted on the genomes seen."""

import numpy as np

from sparsewire.architecture_search.spaces import Budget, CellSpace
from sparsewire.architecture_search.surrogate import SurrogateFeatures, WLFeatures, genome_features
from sparsewire.performance_prediction.graph_kernel import wl_histogram


def keys(n, seed=0):
    space = CellSpace((1, 28, 28), 10, Budget(), min_nodes=2, max_nodes=6, channels=(2, 4))
    rng = np.random.default_rng(seed)
    return space, list(dict.fromkeys(space.key(space.random(rng)) for _ in range(n)))


def test_vocabulary_refit_is_deterministic_and_order_free():
    space, seen = keys(30)
    graph_of = lambda key: space.graph(space.from_key(key))  # noqa: E731
    a = WLFeatures(graph_of, attributes=space.node_attributes).fit(seen)
    b = WLFeatures(graph_of, attributes=space.node_attributes).fit(list(reversed(seen)) + seen[:5])  # order, repeats
    assert a.vocabulary and a.vocabulary == b.vocabulary
    assert [a(k) for k in seen] == [b(k) for k in seen]
    first = a.vocabulary
    a.fit(seen[:8])  # refitted on fewer genomes: the vocabulary follows the genomes seen
    assert a.vocabulary != first
    assert a.vocabulary == WLFeatures(graph_of, attributes=space.node_attributes).fit(seen[:8]).vocabulary
    present = {label for k in seen[:8] for label in wl_histogram(graph_of(k), 3, space.node_attributes)}
    assert set(a.vocabulary) <= present and len(a(seen[0])) == len(a.vocabulary)


def test_node_attributes_tell_apart_equal_wiring():
    space, _ = keys(1)
    narrow = space.from_key('[[2, 2], [0, 1], [[0, 1]]]')
    wide = space.from_key('[[4, 2], [0, 1], [[0, 1]]]')
    assert wl_histogram(space.graph(narrow)) == wl_histogram(space.graph(wide))
    assert wl_histogram(space.graph(narrow), attributes=("channels",)) != wl_histogram(space.graph(wide), attributes=("channels",))


def test_surrogate_features_add_wl_columns_to_the_structural_ones():
    space, seen = keys(20, seed=1)
    plain, wl = SurrogateFeatures(space), SurrogateFeatures(space, wl=True).refit(seen)
    base = genome_features(space, space.from_key(seen[0]))
    assert plain(seen[0]) == base
    extra = set(wl(seen[0])) - set(base)
    assert extra and all(c.startswith("wl_") for c in extra)
    assert sum(v for c, v in wl(seen[0]).items() if c.startswith("wl_0_")) <= 1 + 1e-9  # frequencies per node
