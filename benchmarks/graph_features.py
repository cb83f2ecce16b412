"""Structure-graph speed: the 23 features of a large pruned-MLP graph (fast backend vs networkx) and
network → graph extraction of LeNet-300-100 (sparsewire vs a per-weight loop), each pair in one process.

1. **Features, large graph** (>= 10k nodes, >= 500k edges): a magnitude-pruned (class-blinded) MLP
   784-3000-3000-3000-1000-10 at density ~2.25 %. The fast backend (igraph betweenness + one parallel
   rustworkx all-pairs BFS) runs in full. Exact networkx on this graph is O(V·E) per quantity in pure
   Python (hours), so it is **timed on a sample of sources and extrapolated linearly in the number of
   sources** (each of eccentricity / closeness / path length / node and edge betweenness is a sum of
   independent single-source searches; the cheap features are timed in full).
2. **Features, medium graph**: the same recipe at ~1k nodes, where both backends run in full and the
   values are checked equal (no extrapolation).
3. **Extraction**: ``to_graph(lenet_300_100)`` dense and at 90 % sparsity vs a naive loop adding one
   networkx edge per kept weight (median of repeats).

    python benchmarks/graph_features.py [--sources 4] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import torch

from sparsewire.graphs.extract import to_graph
from sparsewire.graphs.features import FEATURE_NAMES, directed_counts, structural_features, undirected
from sparsewire.masks import Masks
from sparsewire.models import MLP, lenet_300_100
from sparsewire.pruning import prune

RESULTS = Path(__file__).parent / "results" / "graph_features.md"


def pruned_mlp_graph(sizes: list[int], density: float) -> nx.DiGraph:
    torch.manual_seed(0)
    model = MLP(sizes)
    masks = Masks(model)
    prune(model, 1 - density, "class-blinded", masks=masks)
    return to_graph(model)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def networkx_extrapolated(graph: nx.DiGraph, sources: int) -> dict[str, float]:
    """Seconds networkx needs for each part of the 23 features: sampled parts extrapolated to all nodes."""
    u = undirected(graph)
    n = u.number_of_nodes()
    lcc = u.subgraph(max(nx.connected_components(u), key=len))
    sample = list(np.random.default_rng(0).choice(list(lcc.nodes), size=sources, replace=False).tolist())
    scale = n / sources
    out = {}
    _, t = timed(directed_counts, graph)
    out["counts (layers, sources, sinks) [full]"] = t
    _, t = timed(lambda: (nx.density(u), nx.degree_centrality(u)))
    out["density, degree centrality [full]"] = t
    _, t = timed(nx.eccentricity, lcc, v=sample)
    out["eccentricity (+ diameter) [sampled]"] = t * lcc.number_of_nodes() / sources
    _, t = timed(lambda: [nx.closeness_centrality(u, u=s) for s in sample])
    out["closeness [sampled]"] = t * scale
    _, t = timed(lambda: [sum(nx.single_source_shortest_path_length(lcc, s).values()) for s in sample])
    out["average shortest path length [sampled]"] = t * lcc.number_of_nodes() / sources
    _, t = timed(nx.betweenness_centrality, u, k=sources, seed=0)
    out["node betweenness [sampled]"] = t * scale
    _, t = timed(nx.edge_betweenness_centrality, u, k=sources, seed=0)
    out["edge betweenness [sampled]"] = t * scale
    return out


def per_edge_graph(masks: Masks) -> nx.DiGraph:
    """The obvious alternative: one ``add_edge`` call per kept weight of a chain of linear layers."""
    g = nx.DiGraph()
    offset = 0
    for _, param, mask in masks.parameters():
        weight, kept = param.detach().numpy(), mask.numpy()
        cols = kept.shape[1]
        for i, j in zip(*np.nonzero(kept), strict=True):
            g.add_edge(offset + int(j), offset + cols + int(i), weight=float(weight[i, j]))
        offset += cols
    return g


def extraction(repeats: int) -> list[dict[str, float]]:
    rows = []
    for label, sparsity in [("dense", 0.0), ("90 % pruned", 0.9)]:
        torch.manual_seed(0)
        model = lenet_300_100()
        masks = Masks(model)
        if sparsity:
            prune(model, sparsity, "class-blinded", masks=masks)
        ours, naive = [], []
        for _ in range(repeats):
            graph, t = timed(to_graph, model)
            ours.append(t)

            reference, t = timed(per_edge_graph, masks)
            naive.append(t)
            assert reference.number_of_edges() == graph.number_of_edges()
        rows.append({"model": f"LeNet-300-100 {label}", "edges": graph.number_of_edges(),
                     "to_graph_s": statistics.median(ours), "loop_s": statistics.median(naive) if naive else math.nan})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=4, help="sampled sources for the networkx extrapolation")
    parser.add_argument("--quick", action="store_true", help="small graphs (a smoke test; not for the record)")
    args = parser.parse_args()
    lines = ["# Structure-graph features and extraction", "",
             f"Command: `{' '.join(['python', *sys.argv])}`  ", f"Machine: {platform.machine()}, "
             f"{os.cpu_count()} CPU cores (shared with other jobs), torch {torch.__version__}, "
             f"networkx {nx.__version__}, python {platform.python_version()}", ""]

    big_sizes = [784, 600, 600, 10] if args.quick else [784, 3000, 3000, 3000, 1000, 10]
    big_density = 0.05 if args.quick else 0.0225
    graph, t_build = timed(pruned_mlp_graph, big_sizes, big_density)
    n, m = graph.number_of_nodes(), graph.number_of_edges()
    print(f"large graph: {n} nodes, {m} edges (built in {t_build:.1f}s)", flush=True)
    fast, t_fast = timed(structural_features, graph, backend="fast")
    print(f"fast backend: {t_fast:.1f}s", flush=True)
    parts = networkx_extrapolated(graph, args.sources)
    t_nx = sum(parts.values())
    lines += ["## 1. The 23 features of a large pruned-MLP graph", "",
              f"MLP {'-'.join(map(str, big_sizes))}, class-blinded magnitude pruning to density {big_density:.2%}: "
              f"**{n} nodes, {m} edges**.", "",
              "| backend | seconds | |", "|---|---:|---|",
              f"| fast (igraph + rustworkx), full run | {t_fast:.1f} | measured |",
              f"| networkx (reference) | {t_nx:.0f} (≈ {t_nx / 3600:.1f} h) | extrapolated from {args.sources} sampled sources |",
              f"| **ratio networkx / fast** | **{t_nx / t_fast:.0f}×** | |", "",
              "networkx parts (seconds, sampled parts scaled by nodes / sampled sources):", "",
              "| part | seconds |", "|---|---:|", *[f"| {k} | {v:.1f} |" for k, v in parts.items()], "",
              "Fast-backend values: " + ", ".join(f"{k}={fast[k]:.4g}" for k in FEATURE_NAMES[:8]), ""]

    mid_sizes = [100, 150, 150, 10] if args.quick else [200, 300, 300, 10]
    mid = pruned_mlp_graph(mid_sizes, 0.1)
    ref, t_ref = timed(structural_features, mid, backend="networkx")
    fast_mid, t_fast_mid = timed(structural_features, mid, backend="fast")
    worst = max(abs(ref[k] - fast_mid[k]) / max(abs(ref[k]), 1e-300) for k in FEATURE_NAMES)
    print(f"medium graph: networkx {t_ref:.1f}s, fast {t_fast_mid:.2f}s, max rel diff {worst:.1e}", flush=True)
    lines += ["## 2. Both backends in full on a medium graph", "",
              f"MLP {'-'.join(map(str, mid_sizes))} at density 10 %: {mid.number_of_nodes()} nodes, "
              f"{mid.number_of_edges()} edges.", "",
              "| backend | seconds |", "|---|---:|",
              f"| networkx | {t_ref:.2f} |", f"| fast | {t_fast_mid:.3f} |",
              f"| **ratio** | **{t_ref / t_fast_mid:.0f}×** |", "",
              f"Largest relative difference over the 23 features: {worst:.1e}.", ""]

    rows = extraction(1 if args.quick else 3)
    lines += ["## 3. Network → graph extraction", "",
              "`to_graph(model)` (masks → numpy → networkx with weights and node attributes) vs a loop calling "
              "`add_edge` once per kept weight; median of 3 each.", "",
              "| model | edges | to_graph (s) | per-weight loop (s) | ratio |", "|---|---:|---:|---:|---:|",
              *[f"| {r['model']} | {r['edges']} | {r['to_graph_s']:.3f} | {r['loop_s']:.2f} | "
                f"{r['loop_s'] / r['to_graph_s']:.0f}× |" for r in rows], ""]
    print("\n".join(lines))
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(lines) + "\n")
        print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
