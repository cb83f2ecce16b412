"""Structure-graph speed: the 23 features of a large pruned-MLP graph (fast backend vs networkx) and
network → graph extraction of LeNet-300-100 (sparsewire vs a per-weight loop), each pair in one process.

1. **Features, large graph** (>= 10k nodes, >= 500k edges): a magnitude-pruned (class-uniform) MLP
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
    prune(model, 1 - density, "class-uniform", masks=masks)  # the same density in every layer
    return to_graph(model)


CPU: dict[str, float] = {}
"""CPU seconds (all threads of this process) of the last ``timed`` call, under ``CPU["last"]``."""


def timed(fn, *args, **kwargs):
    """``(value, wall seconds)``; the process CPU seconds go to ``CPU["last"]`` (the machine is shared)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    CPU["last"] = time.process_time() - cpu
    return value, time.perf_counter() - start


def networkx_extrapolated(graph: nx.DiGraph, sources: int) -> dict[str, float]:
    """Seconds networkx needs for each part of the 23 features: sampled parts extrapolated to all nodes."""
    u = undirected(graph)
    n = u.number_of_nodes()
    lcc = u.subgraph(max(nx.connected_components(u), key=len)).copy()  # a copy: graph views are slow
    sample = list(np.random.default_rng(0).choice(list(lcc.nodes), size=sources, replace=False).tolist())
    scale = n / sources
    lscale = lcc.number_of_nodes() / sources
    out = {}

    def part(name: str, factor: float, fn, *args, **kwargs) -> None:
        _, t = timed(fn, *args, **kwargs)
        out[name] = (t * factor, CPU["last"] * factor)
        print(f"  networkx {name}: {t * factor:.1f}s wall, {CPU['last'] * factor:.1f}s CPU", flush=True)

    part("counts (layers, sources, sinks) [full]", 1, directed_counts, graph)
    part("density, degree centrality [full]", 1, lambda: (nx.density(u), nx.degree_centrality(u)))
    part("eccentricity (+ diameter) [sampled]", lscale, nx.eccentricity, lcc, v=sample)
    part("closeness [sampled]", scale, lambda: [nx.closeness_centrality(u, u=s) for s in sample])
    part("average shortest path length [sampled]", lscale,
         lambda: [sum(nx.single_source_shortest_path_length(lcc, s).values()) for s in sample])
    part("node betweenness [sampled]", scale, nx.betweenness_centrality, u, k=sources, seed=0)
    part("edge betweenness [sampled]", scale, nx.edge_betweenness_centrality, u, k=sources, seed=0)
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
             f"{os.cpu_count()} CPU cores (shared with other jobs; load average {os.getloadavg()[0]:.1f} at start), torch {torch.__version__}, "
             f"networkx {nx.__version__}, python {platform.python_version()}", ""]

    big_sizes = [784, 600, 600, 10] if args.quick else [784, 3000, 3000, 3000, 1000, 10]
    big_density = 0.05 if args.quick else 0.0225
    graph, t_build = timed(pruned_mlp_graph, big_sizes, big_density)
    n, m = graph.number_of_nodes(), graph.number_of_edges()
    print(f"large graph: {n} nodes, {m} edges (built in {t_build:.1f}s)", flush=True)
    fast, t_fast = timed(structural_features, graph, backend="fast")
    c_fast = CPU["last"]
    print(f"fast backend: {t_fast:.1f}s wall, {c_fast:.1f}s CPU", flush=True)
    parts = networkx_extrapolated(graph, args.sources)
    t_nx = sum(w for w, _ in parts.values())
    c_nx = sum(c for _, c in parts.values())
    lines += ["## 1. The 23 features of a large pruned-MLP graph", "",
              f"MLP {'-'.join(map(str, big_sizes))}, magnitude pruning, the same density in every layer (class-uniform), to {big_density:.2%}: "
              f"**{n} nodes, {m} edges**.", "",
              "| backend | wall s | CPU s | |", "|---|---:|---:|---|",
              f"| fast (igraph + rustworkx), full run | {t_fast:.1f} | {c_fast:.1f} | measured |",
              f"| networkx (reference) | {t_nx:.0f} (≈ {t_nx / 3600:.1f} h) | {c_nx:.0f} | extrapolated from "
              f"{args.sources} sampled sources |",
              f"| **ratio networkx / fast** | **{t_nx / t_fast:.0f}×** | **{c_nx / c_fast:.0f}×** | |", "",
              "CPU seconds count all threads of the process (rustworkx's all-pairs BFS uses both cores); wall "
              "seconds include waiting for the CPU on the shared machine.", "",
              "networkx parts (sampled parts scaled by nodes / sampled sources):", "",
              "| part | wall s | CPU s |", "|---|---:|---:|",
              *[f"| {k} | {w:.1f} | {c:.1f} |" for k, (w, c) in parts.items()], "",
              "Fast-backend values: " + ", ".join(f"{k}={fast[k]:.4g}" for k in FEATURE_NAMES[:8]), ""]

    mid_sizes = [100, 150, 150, 10] if args.quick else [200, 300, 300, 10]
    mid = pruned_mlp_graph(mid_sizes, 0.1)
    ref, t_ref = timed(structural_features, mid, backend="networkx")
    c_ref = CPU["last"]
    fast_mid, t_fast_mid = timed(structural_features, mid, backend="fast")
    c_fast_mid = CPU["last"]
    worst = max(abs(ref[k] - fast_mid[k]) / max(abs(ref[k]), 1e-300) for k in FEATURE_NAMES)
    print(f"medium graph: networkx {t_ref:.1f}s, fast {t_fast_mid:.2f}s, max rel diff {worst:.1e}", flush=True)
    lines += ["## 2. Both backends in full on a medium graph", "",
              f"MLP {'-'.join(map(str, mid_sizes))} at density 10 %: {mid.number_of_nodes()} nodes, "
              f"{mid.number_of_edges()} edges.", "",
              "| backend | wall s | CPU s |", "|---|---:|---:|",
              f"| networkx | {t_ref:.2f} | {c_ref:.2f} |", f"| fast | {t_fast_mid:.3f} | {c_fast_mid:.3f} |",
              f"| **ratio** | **{t_ref / t_fast_mid:.0f}×** | **{c_ref / c_fast_mid:.0f}×** |", "",
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
