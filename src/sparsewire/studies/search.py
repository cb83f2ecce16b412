"""``study: search`` — architecture search by training, with and without an online performance predictor.

Stier, Darji & Granitzer (2021) report a genetic search enhanced with performance prediction reaching
82.4 % on CIFAR-10. This study compares, at an equal budget of trained networks, three methods of
:func:`~sparsewire.architecture_search.assisted_search` — ``predictor-ga`` (children screened by a random
forest retrained on every trained network), ``ga`` (the same genetic algorithm, every child trained) and
``random`` — over one search space: sparse feed-forward DAGs (``feedforward``, trained a generation at a
time as a :class:`~sparsewire.cohorts.FeedForwardCohort`) or DAGs of convolutional cells (``conv-cells``,
trained one at a time: their shapes differ, so they neither pack nor stack).

A trial is one search (method, search seed); it trains ``search.budget`` networks, each on the training
split with the study's batch order (``data_seed``) and scored by validation accuracy (the fitness). Its best
network by validation accuracy is then trained again with its seed and tested on the test split, and so is
a LeNet-5 whose width is scaled to the same parameter count (same recipe and data). Each search writes a
checkpoint per generation to ``DIR/cache``, so an interrupted one resumes where it stopped.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sparsewire.architecture_search.assisted import METHODS, AssistedConfig, assisted_search
from sparsewire.architecture_search.spaces import Budget, CellSpace, FeedForwardSpace, SearchSpace
from sparsewire.architecture_search.surrogate import rank_correlation
from sparsewire.results.format import as_list, mean_std
from sparsewire.results.history import epochs as history_entries
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import DatasetConfig, DeviceOption, load_splits
from sparsewire.studies.identity import config_hash
from sparsewire.training import TrainConfig, evaluate, train


class SpaceConfig(BaseModel):
    """The search space and its budgets (see :mod:`sparsewire.architecture_search.spaces`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["conv-cells", "feedforward"] = "conv-cells"
    min_nodes: int = Field(2, ge=1, le=10_000)
    max_nodes: int = Field(8, ge=1, le=10_000)
    channels: list[int] = Field(default_factory=lambda: [8, 16, 32], min_length=1)
    """conv-cells: the widths a cell may have."""
    stages: int = Field(3, ge=1, le=6)
    """conv-cells: resolutions (image size halved per stage)."""
    edge_probability: float = Field(0.4, ge=0, le=1)
    """conv-cells: chance of each forward edge in a random genome."""
    max_mutations: int = Field(2, ge=1)
    max_params: int | None = Field(None, ge=1)
    max_macs: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _sizes(self) -> SpaceConfig:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes {self.min_nodes} exceeds max_nodes {self.max_nodes}")
        if self.kind == "feedforward" and self.min_nodes < 5:
            raise ValueError("feedforward genomes start as random priors: min_nodes must be >= 5")
        if any(c < 1 for c in self.channels):
            raise ValueError(f"channel widths must be positive (got {self.channels})")
        return self


class SearchSettings(BaseModel):
    """:class:`~sparsewire.architecture_search.AssistedConfig` without method and seed (the trial's)."""

    model_config = ConfigDict(extra="forbid")

    budget: int = Field(30, ge=2, description="networks trained per search (equal for every method)")
    population: int = Field(10, ge=2)
    offspring: int = Field(5, ge=1, description="networks trained per generation")
    candidates: int = Field(5, ge=1, description="predictor-ga: children screened per child trained")
    tournament: int = Field(3, ge=1)
    crossover_rate: float = Field(0.5, ge=0, le=1)
    acquisition: Literal["ucb", "ei"] = "ucb"
    kappa: float = Field(1.0, ge=0)
    min_fit: int = Field(5, ge=2, description="networks trained before the surrogate is first fitted")
    trees: int = Field(100, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> SearchSettings:
        AssistedConfig(budget=self.budget, population=self.population, offspring=self.offspring,
                       candidates=self.candidates, tournament=self.tournament)  # raises on an inconsistent set
        return self


class SearchStudyConfig(DeviceOption):
    """Config of ``study: search`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    study: Literal["search"] = "search"
    name: str = "search"
    dataset: DatasetConfig = Field(default_factory=lambda: DatasetConfig(name="fashion-mnist", val_size=2000,
                                                                         train_limit=8000))
    space: SpaceConfig = Field(default_factory=SpaceConfig)
    search: SearchSettings = Field(default_factory=SearchSettings)
    methods: list[Literal["predictor-ga", "ga", "random"]] = Field(default_factory=lambda: list(METHODS), min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=2, batch_size=64, lr=3e-3))
    data_seed: int = Field(0, description="seed of the batch order every network shares")
    lenet5: bool = Field(True, description="train a LeNet-5 of the best network's parameter count (image datasets)")
    threads: int = Field(1, ge=1)


def make_space(space: dict[str, Any], image_shape: tuple[int, int, int], num_classes: int) -> SearchSpace:
    """The :class:`~sparsewire.architecture_search.spaces.SearchSpace` a trial's ``space`` section describes."""
    config = SpaceConfig(**space)
    budget = Budget(config.max_params, config.max_macs)
    if config.kind == "feedforward":
        return FeedForwardSpace(image_shape, num_classes, budget, min_nodes=config.min_nodes, max_nodes=config.max_nodes,
                                max_mutations=config.max_mutations)
    return CellSpace(image_shape, num_classes, budget, min_nodes=config.min_nodes, max_nodes=config.max_nodes,
                     channels=tuple(config.channels), stages=config.stages, edge_probability=config.edge_probability,
                     max_mutations=config.max_mutations)


def network_seed(trial: dict[str, Any], index: int) -> int:
    """The initialisation seed of network ``index`` of a search."""
    return trial["search_seed"] * 1_000_003 + index


def _train_alone(model: torch.nn.Module, trial: dict[str, Any], splits: Any, context: TrialContext, desc: str):
    """Train with the trial's recipe and batch order; (result, validation accuracy, diverged)."""
    from sparsewire.errors import TrainingDiverged

    try:
        result = train(model, splits.train, TrainConfig(**trial["train"]), val_data=splits.val, seed=trial["data_seed"],
                       progress=False, desc=desc, device=context.torch_device())
    except TrainingDiverged:
        return None, 0.0, True
    return result, evaluate(model, splits.val)["accuracy"], False


def _evaluator(space: SearchSpace, trial: dict[str, Any], splits: Any, context: TrialContext):
    """``evaluate(genomes, indices)`` for :func:`assisted_search`: each network's validation accuracy."""

    def one(genome: Any, index: int) -> dict[str, Any]:
        model = space.build(genome, network_seed(trial, index))
        result, accuracy, diverged = _train_alone(model, trial, splits, context, f"network {index}")
        return {"accuracy": accuracy, "diverged": diverged, "seconds": result.seconds if result else math.nan,
                "history": history_entries(result.history) if result else []}

    def cohort(genomes: list[Any], indices: list[int]) -> list[dict[str, Any]]:
        from sparsewire.cohorts import FeedForwardCohort, evaluate_cohort, iter_train_cohort

        device = context.torch_device()
        models = [space.build(g, network_seed(trial, i)).to(device) for g, i in zip(genomes, indices, strict=True)]
        out: list[dict[str, Any]] = [{} for _ in models]
        for pos, net, result in iter_train_cohort(models, splits.train, TrainConfig(**trial["train"]), build=FeedForwardCohort,
                                                  val_data=splits.val, seed=trial["data_seed"], progress=False):
            diverged = result.stopped == "diverged"
            accuracy = 0.0 if diverged else evaluate_cohort(FeedForwardCohort([net]), splits.val, 2048)[0]["accuracy"]
            out[pos] = {"accuracy": accuracy, "diverged": diverged, "seconds": result.seconds,
                        "history": history_entries(result.history)}
        return out

    if isinstance(space, FeedForwardSpace) and TrainConfig(**trial["train"]).grad_clip is None:
        return cohort
    return lambda genomes, indices: [one(g, i) for g, i in zip(genomes, indices, strict=True)]


def lenet5_like(params: int, splits: Any) -> tuple[torch.nn.Module, float]:
    """The LeNet-5 whose parameter count is closest to ``params`` (width found by bisection) and its width."""
    from sparsewire.models.conv import LeNet5

    channels, size = splits.image_shape[0], splits.image_shape[-1]

    def model(width: float) -> torch.nn.Module:
        return LeNet5(channels, splits.num_classes, size, width=width)

    def count(width: float) -> int:
        return sum(p.numel() for p in model(width).parameters())

    low, high = 0.01, 16.0
    for _ in range(40):
        mid = math.sqrt(low * high)
        low, high = (mid, high) if count(mid) < params else (low, mid)
    width = min((low, high), key=lambda w: abs(count(w) - params))
    return model(width), width


@register
class SearchStudy(StudyType):
    name = "search"
    Config = SearchStudyConfig

    def check(self, config: SearchStudyConfig) -> None:
        splits = load_splits(config.dataset)  # missing data fails here, before any training
        space = make_space(config.space.model_dump(), splits.image_shape, splits.num_classes)
        rng = np.random.default_rng(0)
        if space.draw(lambda: space.random(rng), tries=200) is None:
            raise ValueError(f"no random {space.kind} genome fits the budget {space.budget}: widen it")

    def trials(self, config: SearchStudyConfig) -> list[dict[str, Any]]:
        shared = {"dataset": config.dataset.model_dump(), "dataset_identity": config.dataset.identity(),
                  "space": config.space.model_dump(), "search": config.search.model_dump(),
                  "train": config.train.model_dump(), "data_seed": config.data_seed, "lenet5": config.lenet5,
                  "threads": config.threads}
        # seeds outer: an interrupted study has every method at its first seeds
        return [{**shared, "method": method, "search_seed": seed} for seed in config.seeds for method in config.methods]

    def run_trial(self, trial: dict[str, Any], context: TrialContext) -> dict[str, Any]:
        torch.set_num_threads(trial["threads"])
        start = time.perf_counter()
        splits = load_splits(DatasetConfig(**trial["dataset"]))
        space = make_space(trial["space"], splits.image_shape, splits.num_classes)
        settings = AssistedConfig(method=trial["method"], seed=trial["search_seed"], **trial["search"])
        checkpoint = context.cache_dir / f"search-{config_hash(trial)}.json"
        records = assisted_search(space, _evaluator(space, trial, splits, context), settings, checkpoint=checkpoint,
                                  progress=context.progress)
        searched = time.perf_counter() - start
        best = max(records, key=lambda r: r["accuracy"])
        model = space.build(space.from_key(best["genome"]), network_seed(trial, best["index"]))
        _, retrained_val, _ = _train_alone(model, trial, splits, context, "best network")
        row = {
            "dataset": trial["dataset"]["name"], "space": space.kind, "method": trial["method"],
            "search_seed": trial["search_seed"], "networks": records, "search_seconds": searched,
            "best_genome": best["genome"], "best_index": best["index"], "best_val_accuracy": best["accuracy"],
            "best_val_retrained": retrained_val, "best_params": best["params"], "best_macs": best["macs"],
            "best_test_accuracy": evaluate(model, splits.test)["accuracy"],
            "curve": list(np.maximum.accumulate([r["accuracy"] for r in records])),
        }
        predicted = [r for r in records if r["predicted"] is not None]
        row["surrogate_spearman"] = rank_correlation([r["predicted"] for r in predicted], [r["accuracy"] for r in predicted])
        row["surrogate_pairs"] = len(predicted)
        if trial["lenet5"] and len(splits.image_shape) == 3 and splits.image_shape[-1] in (28, 32):
            lenet, width = lenet5_like(best["params"], splits)
            lenet = _reseeded(lenet, trial["search_seed"])
            _, lenet_val, _ = _train_alone(lenet, trial, splits, context, "lenet5")
            row |= {"lenet5_width": width, "lenet5_params": sum(p.numel() for p in lenet.parameters()),
                    "lenet5_val_accuracy": lenet_val, "lenet5_test_accuracy": evaluate(lenet, splits.test)["accuracy"]}
        return row | {"trial_seconds": time.perf_counter() - start}

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return method_summary(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        parts = [
            "Architecture search at an equal budget of trained networks: `predictor-ga` (a genetic algorithm whose "
            "children are screened by a random forest retrained on every trained network), `ga` (every child "
            "trained) and `random`. Fitness = validation accuracy; *best test* is the test accuracy of each search's "
            "best network by validation accuracy (trained again with its seed). Accuracies in %, mean ± std over "
            "search seeds; *surrogate ρ* is the Spearman correlation of the forest's prediction (before training) "
            "with the real validation accuracy of new genomes.", "",
            method_summary(table).to_markdown(index=False), "",
        ]
        parts += [comparisons(table), "", goals(table), ""]
        baseline = surrogate_vs_size(table)
        if not baseline.empty:
            parts += ["## Does the surrogate know more than size?", "",
                      "Spearman ρ with the real validation accuracy, on the same new genomes (those it predicted), of "
                      "the forest's prediction and of the parameter or MAC count alone; mean over searches.", "",
                      baseline.to_markdown(index=False), ""]
        lenet = lenet_table(table)
        if not lenet.empty:
            parts += ["## Best network vs LeNet-5 of equal parameter count", "",
                      "Same data, recipe and batch order; LeNet-5's widths scaled to the best network's parameter count.",
                      "", lenet.to_markdown(index=False), ""]
        for png in plot_search(table, out_dir):
            parts += [f"![{png.stem}]({png.name})", ""]
        return "\n".join(parts)


def _reseeded(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """``model`` re-initialised with PyTorch's default schemes under ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            if module is not model and hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return model


def method_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: searches, networks trained, best validation and test accuracy, best parameters, surrogate ρ."""
    if table.empty:
        return table
    rows = []
    for method in [m for m in METHODS if m in set(table["method"])]:
        part = table[table["method"] == method]
        rows.append({"method": method, "searches": len(part),
                     "networks": int(part["networks"].map(lambda v: len(as_list(v))).mean()),
                     "best_val_pct": mean_std(part["best_val_accuracy"]),
                     "best_test_pct": mean_std(part["best_test_accuracy"]),
                     "best_params": int(part["best_params"].mean()),
                     "surrogate_rho": f"{part['surrogate_spearman'].mean():.2f}"})
    return pd.DataFrame(rows)


def comparisons(table: pd.DataFrame) -> str:
    """Welch's t-test and Mann–Whitney U of best test accuracy, predictor-ga vs each other method."""
    from scipy import stats

    if "predictor-ga" not in set(table["method"]):
        return ""
    ours = table.loc[table["method"] == "predictor-ga", "best_test_accuracy"]
    lines = ["## Significance (best test accuracy per search)", ""]
    for other in ("ga", "random"):
        theirs = table.loc[table["method"] == other, "best_test_accuracy"]
        if len(theirs) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # identical values: p is nan
            welch = stats.ttest_ind(ours, theirs, equal_var=False).pvalue if min(len(ours), len(theirs)) > 1 else math.nan
            mwu = stats.mannwhitneyu(ours, theirs, alternative="two-sided").pvalue
            paired = pd.concat([by_seed(table, "predictor-ga"), by_seed(table, other)], axis=1, join="inner")
            diff = paired.iloc[:, 0] - paired.iloc[:, 1]
            t_paired = stats.ttest_rel(paired.iloc[:, 0], paired.iloc[:, 1]).pvalue if len(paired) > 1 else math.nan
            wilcoxon = stats.wilcoxon(diff).pvalue if len(paired) > 1 and diff.abs().sum() > 0 else math.nan
        lines.append(f"- predictor-ga vs {other}: {100 * ours.mean():.2f} vs {100 * theirs.mean():.2f} % "
                     f"({100 * (ours.mean() - theirs.mean()):+.2f} points; Welch p = {welch:.3g}, Mann–Whitney p = "
                     f"{mwu:.3g}; {len(ours)} vs {len(theirs)} searches). Paired by search seed (the seeds share "
                     f"generation 0): {100 * diff.mean():+.2f} points, better in {int((diff > 0).sum())} of {len(diff)} "
                     f"seeds, paired t p = {t_paired:.3g}, Wilcoxon p = {wilcoxon:.3g}")
    return "\n".join(lines)


def surrogate_vs_size(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: the surrogate's Spearman ρ on new genomes beside that of parameters and MACs alone."""
    rows = []
    for row in table.itertuples():
        new = [r for r in as_list(row.networks) if r["predicted"] is not None]
        actual = [r["accuracy"] for r in new]
        rows.append({"method": row.method, "surrogate": rank_correlation([r["predicted"] for r in new], actual),
                     "parameters": rank_correlation([r["params"] for r in new], actual),
                     "macs": rank_correlation([r["macs"] for r in new], actual)})
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows).groupby("method", sort=False).mean().round(2).reset_index()
    return out.rename(columns={"surrogate": "rho_surrogate", "parameters": "rho_parameters", "macs": "rho_macs"})


def by_seed(table: pd.DataFrame, method: str) -> pd.Series:
    """Best test accuracy of ``method``'s searches, indexed by search seed."""
    part = table[table["method"] == method]
    return part.set_index("search_seed")["best_test_accuracy"].rename(method)


def goals(table: pd.DataFrame) -> str:
    """Issue 17's three goals, each stated as met or missed from the stored rows."""
    from scipy import stats

    lines = ["## Goals (issue 17)", ""]
    methods = set(table["method"])
    if {"predictor-ga", "random"} <= methods:
        ours = table.loc[table["method"] == "predictor-ga", "best_test_accuracy"]
        theirs = table.loc[table["method"] == "random", "best_test_accuracy"]
        gain = 100 * (ours.mean() - theirs.mean())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p = stats.ttest_ind(ours, theirs, equal_var=False).pvalue if min(len(ours), len(theirs)) > 1 else math.nan
        met = gain >= 1 and p < 0.05
        lines.append(f"- predictor-assisted beats random search by >= 1 point, significantly: **{'met' if met else 'missed'}** "
                     f"({gain:+.2f} points, Welch p = {p:.3g})")
    if "predictor-ga" in methods:
        rho = table.loc[table["method"] == "predictor-ga", "surrogate_spearman"]
        blind = table.loc[table["method"] != "predictor-ga", "surrogate_spearman"]
        screened, unscreened = rho.mean() >= 0.5, len(blind) > 0 and blind.mean() >= 0.5
        verdict = {(True, True): "met", (False, False): "missed", (False, True): "met on genomes it did not choose, "
                   "missed on the children it screened", (True, False): "met on the children it screened, missed on "
                   "genomes it did not choose"}[(bool(screened), bool(unscreened))]
        lines.append(f"- surrogate Spearman >= 0.5 on new genomes: **{verdict}** (children predictor-ga trained after "
                     f"screening: {rho.mean():.2f}, per search {', '.join(f'{r:.2f}' for r in rho)}; new genomes of the "
                     f"ga and random searches, which it predicted but did not choose: {blind.mean():.2f})")
    if "lenet5_test_accuracy" in table:
        best = table.loc[table["best_val_accuracy"].idxmax()]
        gap = table["best_test_accuracy"] - table["lenet5_test_accuracy"]
        margin = 100 * (best["best_test_accuracy"] - best["lenet5_test_accuracy"])
        lines.append(f"- the best found network beats LeNet-5 of equal parameter count: **{'met' if margin > 0 else 'missed'}** "
                     f"({100 * best['best_test_accuracy']:.2f} vs {100 * best['lenet5_test_accuracy']:.2f} % at "
                     f"{int(best['best_params'])} vs {int(best['lenet5_params'])} parameters, {margin:+.2f} points, one "
                     f"training run each; over all searches each best beats its LeNet-5 in {int((gap > 0).sum())} of "
                     f"{len(table)}, by {100 * gap.mean():+.2f} points on average)")
    return "\n".join(lines)


def lenet_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per search: the best network's test accuracy and parameters beside the LeNet-5 of equal size."""
    if "lenet5_test_accuracy" not in table:
        return pd.DataFrame()
    out = table[["method", "search_seed", "best_params", "best_test_accuracy", "lenet5_params", "lenet5_test_accuracy"]].copy()
    out["best_test_accuracy"] *= 100
    out["lenet5_test_accuracy"] *= 100
    out["difference_points"] = out["best_test_accuracy"] - out["lenet5_test_accuracy"]
    return out.round(2)


def plot_search(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Search curves, the accuracy–parameters Pareto front and the best genome drawn as a graph."""
    from sparsewire.results.plots import plt, save

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, method in enumerate(m for m in METHODS if m in set(table["method"])):
        curves = [100 * np.asarray(as_list(c)) for c in table.loc[table["method"] == method, "curve"]]
        for curve in curves:
            ax.plot(np.arange(1, len(curve) + 1), curve, color=f"C{i}", alpha=0.3, linewidth=0.8)
        length = min(len(c) for c in curves)
        ax.plot(np.arange(1, length + 1), np.mean([c[:length] for c in curves], 0), color=f"C{i}", label=f"{method} (mean)")
    ax.set_xlabel("networks trained")
    ax.set_ylabel("best validation accuracy so far (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(save(fig, out_dir / "search_curves.png"))

    networks = pd.DataFrame([{**r, "method": row.method} for row in table.itertuples() for r in as_list(row.networks)])
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, method in enumerate(m for m in METHODS if m in set(networks["method"])):
        part = networks[networks["method"] == method]
        ax.scatter(part["params"], 100 * part["accuracy"], s=10, alpha=0.5, color=f"C{i}", label=method)
    front = pareto_front(networks)
    ax.step(front["params"], 100 * front["accuracy"], where="post", color="black", linewidth=1, label="Pareto front (all)")
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("validation accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(save(fig, out_dir / "pareto_front.png"))

    best = table.loc[table["best_val_accuracy"].idxmax()]
    paths.append(draw_genome(best["space"], best["best_genome"], out_dir / "best_genome.png",
                             f"best genome: {best['method']} seed {best['search_seed']}, "
                             f"val {100 * best['best_val_accuracy']:.2f} %, {int(best['best_params'])} params"))
    return paths


def pareto_front(networks: pd.DataFrame) -> pd.DataFrame:
    """The networks no other beats in both accuracy (higher) and parameters (fewer), by parameters."""
    ordered = networks.sort_values(["params", "accuracy"], ascending=[True, False])
    keep, best = [], -math.inf
    for index, row in ordered.iterrows():
        if row["accuracy"] > best:
            keep.append(index)
            best = row["accuracy"]
    return ordered.loc[keep]


def draw_genome(kind: str, key: str, path: Path, title: str = "") -> Path:
    """A genome's DAG drawn left to right, from the image to the read-out head (cells labelled with their
    width and stage)."""
    import json

    import networkx as nx

    from sparsewire.architecture_search.cells import CellGenome
    from sparsewire.results.plots import plt, save

    if kind == "conv-cells":
        genome = CellGenome.from_json(json.loads(key))
        graph = genome.graph()
        labels = {i: f"{i}\n{c}ch s{s}" for i, (c, s) in enumerate(zip(genome.channels, genome.stages, strict=True))}
    else:
        from sparsewire.architecture_search.genetic import from_key

        graph = from_key(json.loads(key))
        labels = None
    sources = [v for v in graph if graph.in_degree(v) == 0]
    sinks = [v for v in graph if graph.out_degree(v) == 0]
    graph.add_edges_from(("image", v) for v in sources)
    graph.add_edges_from((v, "head") for v in sinks)
    if labels is None:
        labels = {"image": "image", "head": "head"}
    else:
        labels |= {"image": "image", "head": "linear\nhead"}
    for layer, nodes in enumerate(nx.topological_generations(graph)):
        for node in nodes:
            graph.nodes[node]["layer"] = layer
    position = nx.multipartite_layout(graph, subset_key="layer")
    fig, ax = plt.subplots(figsize=(7, 4))
    cells = kind == "conv-cells"
    colours = ["#fd9" if v in ("image", "head") else "#cde" for v in graph]
    sizes = [900 if cells or v in ("image", "head") else 40 for v in graph]
    nx.draw_networkx(graph, position, ax=ax, labels=labels, node_size=sizes, node_color=colours, font_size=7, arrows=True)
    ax.set_axis_off()
    return save(fig, path, title)
