"""``sparsewire graph``: make priors, describe, compare and draw structures (models or GraphML graphs).

    sparsewire graph prior GENERATOR --nodes N [--param k=v]... [--seed S] --out FILE.graphml
    sparsewire graph describe MODEL_OR_GRAPH [--json] [--backend fast|networkx]
    sparsewire graph compare A B [--json]
    sparsewire graph draw MODEL_OR_GRAPH --out FILE.png

A MODEL is a file written by :func:`sparsewire.models.save_model` (weights + a JSON architecture spec,
loaded with ``torch.load(weights_only=True)``: nothing in it can run); pickled modules
(``torch.save(model, path)``) are refused. A GRAPH is a ``.graphml`` file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sparsewire.cli.main import subcommand

if TYPE_CHECKING:
    import networkx as nx
    from torch import nn


def load_structure(path: str | Path, max_nodes: int | None = None) -> nn.Module | nx.Graph:
    """A GraphML file as a networkx graph, or a saved model (:func:`~sparsewire.models.save_model`) as an ``nn.Module``."""
    from sparsewire.graphs.io import load_graphml
    from sparsewire.models.files import load_model

    path = Path(path)
    if path.suffix.lower() in (".graphml", ".xml"):
        return load_graphml(path, max_nodes=max_nodes)
    if not path.is_file():
        raise FileNotFoundError(f"no such model or graph file: {path}")
    return load_model(path)


def _graph(source: nn.Module | nx.Graph, max_nodes: int | None = None) -> nx.Graph:
    from torch import nn

    from sparsewire.graphs.extract import to_graph
    from sparsewire.graphs.io import check_size

    if not isinstance(source, nn.Module):
        return source
    graph = to_graph(source)
    check_size(graph, f"the structure graph of {type(source).__name__}", max_nodes)
    return graph


#: Graphs at least this large get progress messages on stderr while they are described or drawn.
PROGRESS_NODES = 2_000


@contextmanager
def _working(what: str, graph: nx.Graph, every: float = 15.0) -> Iterator[None]:
    """Say on stderr what runs on a large graph, then every ``every`` seconds that it still runs."""
    if graph.number_of_nodes() < PROGRESS_NODES:
        yield
        return
    print(f"sparsewire: {what} of a {graph.number_of_nodes()}-node, {graph.number_of_edges()}-edge graph "
          "(large graphs take minutes)", file=sys.stderr, flush=True)
    start, stop = time.monotonic(), threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            print(f"sparsewire: ... {what}: {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    print(f"sparsewire: {what}: done in {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)


def _parse_param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param expects KEY=VALUE, got {text!r}")
    return key, yaml.safe_load(value)


def _json(value: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v

    return json.dumps(clean(value), indent=None)


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="graph_command", required=True)
    prior = sub.add_parser("prior", help="generate a random-graph prior and save it as GraphML")
    prior.add_argument("generator", help="erdos-renyi, watts-strogatz, connected-watts-strogatz, barabasi-albert")
    prior.add_argument("--nodes", type=int, required=True)
    prior.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="generator parameter (repeatable)")
    prior.add_argument("--seed", type=int, default=0)
    prior.add_argument("--out", required=True, help="GraphML file to write")
    prior.add_argument("--max-nodes", type=int, default=None, help=_MAX_NODES_HELP)
    describe = sub.add_parser("describe", help="the 23 structural features (and layered metrics of a model)")
    describe.add_argument("source", help="model (.pt) or graph (.graphml)")
    describe.add_argument("--json", action="store_true", help="print one JSON object keyed by feature name")
    describe.add_argument("--backend", default="auto", choices=["auto", "fast", "networkx"])
    describe.add_argument("--max-nodes", type=int, default=None, help=_MAX_NODES_HELP)
    compare = sub.add_parser("compare", help="overlap of two structures of the same architecture")
    compare.add_argument("a")
    compare.add_argument("b")
    compare.add_argument("--json", action="store_true")
    compare.add_argument("--max-nodes", type=int, default=None, help=_MAX_NODES_HELP)
    draw = sub.add_parser("draw", help="draw a structure, layers left to right")
    draw.add_argument("source")
    draw.add_argument("--out", required=True, help="PNG file to write")
    draw.add_argument("--max-edges", type=int, default=20000, help="draw a seeded sample above this many edges")
    draw.add_argument("--max-nodes", type=int, default=None, help=_MAX_NODES_HELP)


_MAX_NODES_HELP = ("refuse graphs with more nodes (default 10000, or $SPARSEWIRE_MAX_NODES): features of larger "
                   "graphs take minutes to hours")


@subcommand("graph", _configure)
def _graph_command(args: argparse.Namespace) -> int:
    """Structure graphs: make priors, describe, compare and draw structures."""
    return {"prior": _prior, "describe": _describe, "compare": _compare, "draw": _draw}[args.graph_command](args)


def _prior(args: argparse.Namespace) -> int:
    from sparsewire.graphs.io import save_graphml
    from sparsewire.graphs.priors import generate

    graph = generate(args.generator, args.nodes, seed=args.seed, max_nodes=args.max_nodes,
                     **dict(_parse_param(p) for p in args.param))
    path = save_graphml(graph, args.out)
    print(f"{args.generator}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges -> {path}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    import networkx as nx

    from sparsewire.graphs.features import structural_features
    from sparsewire.graphs.structure_metrics import structure_metrics

    graph = _graph(load_structure(args.source, args.max_nodes), args.max_nodes)
    with _working("computing the structural features", graph):
        features = structural_features(graph, backend=args.backend)
    if args.json:
        print(_json(features))
        return 0
    width = max(map(len, features))
    for name, value in features.items():
        print(f"{name:<{width}}  {value:.6g}")
    if graph.is_directed() and nx.is_directed_acyclic_graph(graph):
        with _working("computing the layered metrics", graph):
            metrics = structure_metrics(graph)
        by_name: Mapping[str, object] = metrics
        print()
        for name in ("units", "weights", "dead_units", "dead_fraction", "log10_paths", "effective_parameters"):
            print(f"{name:<{width}}  {by_name[name]:.6g}")
        for block, density in metrics["block_density"].items():
            print(f"{'density ' + block:<{width}}  {density:.4f}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from torch import nn

    from sparsewire.graphs.compare import GraphComparison, MaskComparison, compare_graphs, compare_masks

    a, b = load_structure(args.a, args.max_nodes), load_structure(args.b, args.max_nodes)
    if isinstance(a, nn.Module) != isinstance(b, nn.Module):
        raise ValueError("compare two models or two graphs, not one of each")
    result: MaskComparison | GraphComparison
    layers: dict[str, dict[str, float]] = {}
    if isinstance(a, nn.Module):
        result = compare_masks(a, b)
        layers = result["layers"]
    else:
        result = compare_graphs(a, b)
    if args.json:
        print(_json(result))
        return 0
    rows = [*layers.items(), ("global", result["global"])]
    print(f"{'layer':<28} {'density a':>9} {'density b':>9} {'jaccard':>8} {'chance':>8} {'corrected':>9} {'hamming':>9}")
    for name, o in rows:
        print(f"{name:<28} {o['density_a']:>9.4f} {o['density_b']:>9.4f} {o['jaccard']:>8.4f} "
              f"{o['expected_jaccard']:>8.4f} {o['chance_corrected']:>9.4f} {o['hamming']:>9d}")
    return 0


def _draw(args: argparse.Namespace) -> int:
    from sparsewire.graphs.draw import draw_structure

    graph = _graph(load_structure(args.source, args.max_nodes), args.max_nodes)
    with _working("drawing", graph):
        path = draw_structure(graph, args.out, max_edges=args.max_edges)
    print(f"drawing -> {path}")
    return 0
