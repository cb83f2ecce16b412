"""Structure comparison: how much two sparse structures of the same architecture overlap, and how much
of that overlap chance alone would give (Van Gelder, Wortsman & Ehsani 2020 compare the masks that
different pruning algorithms and seeds find).

For two masks ``A`` and ``B`` over ``n`` weights with ``a = |A|`` and ``b = |B|`` kept:

- Jaccard overlap ``J = |A ∩ B| / |A ∪ B|`` and Hamming distance ``|A △ B|`` (count and fraction of ``n``);
- the overlap expected by chance for independent uniformly random masks with the same counts:
  ``E|A ∩ B| = a·b / n`` (hypergeometric mean) and ``J₀ = E∩ / (a + b − E∩)``;
- the chance-corrected overlap ``κ = (J − J₀) / (1 − J₀)``: 0 when the structures agree no more than
  random masks of the same densities, 1 when they are identical ("the structure is determined").
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypedDict

import networkx as nx
import torch
from torch import nn

from sparsewire.graphs.errors import GraphError
from sparsewire.masks import Masks


def overlap(kept_a: int, kept_b: int, both: int, total: int, expected: float | None = None) -> dict[str, float]:
    """Jaccard, Hamming and chance-level numbers from the four counts (see the module doc).

    ``expected`` overrides the chance intersection ``a·b/n`` (pooled layers pass the sum of their own).
    """
    if not 0 <= both <= min(kept_a, kept_b) or max(kept_a, kept_b) > total:
        raise ValueError(f"inconsistent counts: a={kept_a}, b={kept_b}, both={both}, total={total}")
    union = kept_a + kept_b - both
    jaccard = both / union if union else 1.0
    if expected is None:
        expected = kept_a * kept_b / total if total else 0.0
    expected_union = kept_a + kept_b - expected
    expected_jaccard = expected / expected_union if expected_union > 0 else 1.0
    corrected = (jaccard - expected_jaccard) / (1 - expected_jaccard) if expected_jaccard < 1 else 1.0
    return {
        "total": total,
        "kept_a": kept_a,
        "kept_b": kept_b,
        "density_a": kept_a / total if total else 0.0,
        "density_b": kept_b / total if total else 0.0,
        "intersection": both,
        "union": union,
        "jaccard": jaccard,
        "hamming": union - both,
        "hamming_fraction": (union - both) / total if total else 0.0,
        "expected_intersection": expected,
        "expected_jaccard": expected_jaccard,
        "chance_corrected": corrected,
    }


def _as_masks(source: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if isinstance(source, nn.Module):
        return Masks.of(source).state()
    return {name: torch.as_tensor(mask).bool() for name, mask in source.items()}


MaskComparison = TypedDict("MaskComparison", {"layers": dict[str, dict[str, float]], "global": dict[str, float]})
""":func:`compare_masks`'s result: the :func:`overlap` of every layer and of all weights pooled."""
GraphComparison = TypedDict("GraphComparison", {"global": dict[str, float]})
""":func:`compare_graphs`'s result: the :func:`overlap` of the two edge sets."""


def compare_masks(a: nn.Module | Mapping[str, torch.Tensor], b: nn.Module | Mapping[str, torch.Tensor]) -> MaskComparison:
    """Per-layer and global overlap of two masked models (or ``name -> bool mask`` dicts).

    Returns ``{"layers": {name: overlap}, "global": overlap}``; the global numbers pool all weights
    (so large layers weigh more), and their chance level is the sum of the layers' chance intersections:
    random masks *with the same per-layer densities*, so that an allocation that merely gives both
    structures the same layer densities does not count as agreement. Raises :class:`GraphError` if the architectures differ.
    """
    ma, mb = _as_masks(a), _as_masks(b)
    if list(ma) != list(mb):
        raise GraphError(f"the two structures mask different parameters: {sorted(set(ma) ^ set(mb))[:5]}")
    layers = {}
    for name in ma:
        x, y = ma[name], mb[name]
        if x.shape != y.shape:
            raise GraphError(f"{name}: shapes differ, {tuple(x.shape)} vs {tuple(y.shape)}")
        layers[name] = overlap(int(x.sum()), int(y.sum()), int((x & y).sum()), x.numel())
    kept_a, kept_b, both, total = (sum(int(layer[k]) for layer in layers.values())
                                   for k in ("kept_a", "kept_b", "intersection", "total"))
    chance = sum(layer["expected_intersection"] for layer in layers.values())
    return {"layers": layers, "global": overlap(kept_a, kept_b, both, total, expected=chance)}


def compare_graphs(a: nx.Graph, b: nx.Graph) -> GraphComparison:
    """Overlap of the edge sets of two graphs on the same nodes (chance level over all node pairs).

    Undirected graphs compare unordered pairs; directed ones ordered pairs. Nodes are matched by label.
    """
    if a.is_directed() != b.is_directed():
        raise GraphError("compare two directed or two undirected graphs")
    if set(a.nodes) != set(b.nodes):
        raise GraphError(f"the graphs have different nodes ({a.number_of_nodes()} vs {b.number_of_nodes()} "
                         f"nodes, {len(set(a.nodes) ^ set(b.nodes))} not shared)")

    def edges(g: nx.Graph) -> set[tuple[Hashable, Hashable]] | set[frozenset[Hashable]]:
        if g.is_directed():
            return {(u, v) for u, v in g.edges if u != v}
        return {frozenset((u, v)) for u, v in g.edges if u != v}

    ea, eb = edges(a), edges(b)
    n = a.number_of_nodes()
    pairs = n * (n - 1) if a.is_directed() else n * (n - 1) // 2
    return {"global": overlap(len(ea), len(eb), len(ea & eb), pairs)}
