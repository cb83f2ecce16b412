"""``study: dynamic-sparsity`` — how early dynamic sparse training settles its structure, and freezing it.

Van Gelder, Wortsman & Ehsani (2020), "Deconstructing the Structure of Sparse Neural Networks": the mask
a dynamic sparse algorithm (here SET, Mocanu et al. 2018; RigL, Evci et al. 2020; SNFS, Dettmers &
Zettlemoyer 2019; DNW, Wortsman et al. 2019) ends with is largely found within the first epoch, so the mask
can be frozen after about one epoch at little cost, and training is purely sparse after it.
A trial trains one network from a random sparse mask (density, ``uniform`` or ``erk`` allocation) with
one algorithm and freezes its mask after ``freeze_epoch`` epochs (``None``: never; ``0``: never
updated, a static random sparse network, run once per density and seed as algorithm ``static``).
Trials of one seed share the initial weights and mask, so a frozen run follows its never-frozen run
exactly up to the freeze. Each row records the global Jaccard overlap of every epoch's mask (epoch 0 =
the initial mask) with the final one and the overlap expected by chance
(:func:`sparsewire.graphs.compare.compare_masks`), and what the algorithm's dense gradients cost: the steps
at which it read one, those freezing saved against the never-frozen run, and the training FLOPs
(:mod:`sparsewire.dynamic.cost`). ``update_every`` and ``drop_fraction`` are shared by all algorithms;
SNFS updates at the end of each epoch (its paper's cadence) and DNW after every step, whatever
``update_every`` says. DNW starts from the top-k ``|w|`` of the seed's dense initialisation (its latent
weights) rather than from the random mask the other algorithms share.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch
from pydantic import ConfigDict, Field, field_validator, model_validator

from sparsewire.dynamic import (
    ALGORITHMS,
    DNW,
    DynamicSparsity,
    check_density,
    check_drop_fraction,
    sparse_init,
    steps_per_epoch,
    training_cost,
    weight_uses,
)
from sparsewire.graphs.compare import compare_masks
from sparsewire.masks import Masks
from sparsewire.results.format import mean_std
from sparsewire.results.further_pruning import further_pruning_section
from sparsewire.results.history import epochs as history_entries
from sparsewire.studies.base import StudyType, TrialContext, register
from sparsewire.studies.common import (
    DatasetConfig,
    DeviceOption,
    FurtherPruningOptions,
    ModelConfig,
    build,
    further_pruning_columns,
    load_splits,
)
from sparsewire.studies.trials import Recorded, TrialConfig
from sparsewire.training import TrainConfig, evaluate, train

STATIC = "static"
NEVER = "never"


class DynamicSparsityConfig(FurtherPruningOptions, DeviceOption):
    """Config of ``study: dynamic-sparsity`` (unknown keys are errors).

    Restoring the best validation epoch (``train.restore_best``) is switched off: it would also restore
    that epoch's mask.
    """

    model_config = ConfigDict(extra="forbid")

    study: Literal["dynamic-sparsity"] = "dynamic-sparsity"
    name: str = "dynamic-sparsity"
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    models: list[ModelConfig] = Field(default_factory=lambda: [ModelConfig()], min_length=1)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=10, restore_best=False))
    algorithms: list[str] = Field(default_factory=lambda: ["set", "rigl"], min_length=1)
    densities: list[float] = Field(default_factory=lambda: [0.1], min_length=1)
    distribution: Literal["uniform", "erk"] = "uniform"
    freeze_epochs: list[int | None] = Field(default_factory=lambda: [None, 1, 2, 5], min_length=1)
    update_every: int = Field(100, ge=1, le=100_000_000, description="optimizer steps between mask updates")
    drop_fraction: float = Field(0.3, description="initial fraction of kept weights replaced per update")
    drop_schedule: Literal["cosine", "constant"] = "cosine"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    reinit_seeds: list[int] = Field(default_factory=list, description=(
        "re-initialisations (Van Gelder et al. 2020): after training, the final mask is trained again with the "
        "same recipe from fresh random weights, once per seed listed; empty (default): not run"))

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in ALGORITHMS:
                raise ValueError(f"unknown dynamic sparse algorithm {name!r}; choose from {sorted(ALGORITHMS)}")
        return names

    @field_validator("densities")
    @classmethod
    def _densities(cls, values: list[float]) -> list[float]:
        return [check_density(v) for v in values]

    @field_validator("drop_fraction")
    @classmethod
    def _drop_fraction(cls, value: float) -> float:
        return check_drop_fraction(value)

    @field_validator("freeze_epochs", mode="before")
    @classmethod
    def _never(cls, values: Any) -> Any:
        if isinstance(values, list):
            return [None if isinstance(v, str) and v.lower() in ("none", NEVER) else v for v in values]
        return values

    @model_validator(mode="after")
    def _consistent(self) -> DynamicSparsityConfig:
        if "restore_best" in self.train.model_fields_set and self.train.restore_best:
            raise ValueError("train.restore_best must be false: restoring the best epoch would restore its mask too")
        self.train = self.train.model_copy(update={"restore_best": False})
        for f in self.freeze_epochs:
            if f is not None and not 0 <= f < self.train.epochs:
                raise ValueError(f"freeze epoch {f} must be in [0, train.epochs={self.train.epochs}) "
                                 "(use none for never freezing)")
        return self


class DynamicSparsityTrial(TrialConfig):
    """One trial of ``study: dynamic-sparsity``: a model trained from a random mask of ``density`` by
    ``algorithm`` (or ``static``), its mask frozen after ``freeze_epoch`` epochs (``None``: never)."""

    dataset: DatasetConfig
    dataset_identity: dict[str, Any]
    train: TrainConfig
    distribution: Literal["uniform", "erk"]
    update_every: int
    drop_fraction: float
    drop_schedule: Literal["cosine", "constant"]
    further_pruning: Recorded[list[float]] = []
    further_pruning_method: Recorded[str | None] = None
    reinit_seeds: Recorded[list[int]] = []
    model: ModelConfig
    density: float
    seed: int
    algorithm: str
    freeze_epoch: int | None


@register
class DynamicSparsityStudy(StudyType):
    name = "dynamic-sparsity"
    Config = DynamicSparsityConfig
    TrialConfig = DynamicSparsityTrial

    def check(self, config: DynamicSparsityConfig) -> None:
        splits = load_splits(config.dataset)
        for model_cfg in config.models:
            Masks(build(model_cfg, splits))

    def trials(self, config: DynamicSparsityConfig) -> list[DynamicSparsityTrial]:
        shared = {"dataset": config.dataset, "dataset_identity": config.dataset.identity(), "train": config.train,
                  "distribution": config.distribution, "update_every": config.update_every,
                  "drop_fraction": config.drop_fraction, "drop_schedule": config.drop_schedule,
                  **config.trial_options(), "reinit_seeds": config.reinit_seeds}
        out = []
        for model in config.models:
            for density in config.densities:
                for seed in config.seeds:
                    base = {**shared, "model": model, "density": density, "seed": seed}
                    if 0 in config.freeze_epochs:
                        out.append(DynamicSparsityTrial(**base, algorithm=STATIC, freeze_epoch=0))
                    for algorithm in config.algorithms:
                        for freeze in config.freeze_epochs:
                            if freeze != 0:
                                out.append(DynamicSparsityTrial(**base, algorithm=algorithm, freeze_epoch=freeze))
        return out

    def run_trial(self, trial: DynamicSparsityTrial, context: TrialContext) -> dict[str, Any]:
        start = time.perf_counter()
        splits = load_splits(trial.dataset)
        seed = trial.seed
        model, masks, dyn, result = train_sparse(trial.model_dump(), splits, progress=context.progress,
                                                 device=context.torch_device())
        cost = freeze_savings(masks, dyn, splits.train, result.epochs)
        final = masks.state()
        overlaps = [compare_masks(m, final)["global"] for m in [dyn.initial, *dyn.snapshots]]
        return {
            "dataset": trial.dataset.name,
            "model": trial.model.name,
            "algorithm": trial.algorithm,
            "distribution": trial.distribution,
            "density": trial.density,
            "freeze_epoch": trial.freeze_epoch,
            "seed": seed,
            "test_accuracy": evaluate(model, splits.test)["accuracy"],
            "val_accuracy": evaluate(model, splits.val)["accuracy"],
            "epochs": result.epochs,
            "density_actual": masks.density(),
            "layer_density": masks.densities(),
            "mask_updates": sum(u.replaced > 0 for u in dyn.updates),
            "replaced_per_epoch": dyn.replaced_per_epoch(),
            "jaccard_to_final": [o["jaccard"] for o in overlaps],
            "chance_jaccard_to_final": [o["expected_jaccard"] for o in overlaps],
            "corrected_jaccard_to_final": [o["chance_corrected"] for o in overlaps],
            "jaccard_epoch1_to_final": overlaps[1]["jaccard"] if len(overlaps) > 1 else math.nan,
            **cost,
            **reinit_columns(trial, splits, final, device=context.torch_device()),
            **further_pruning_columns(model, splits.test, trial),
            "train_seconds": result.seconds,
            "trial_seconds": time.perf_counter() - start,
            "history": mask_history(result.history, dyn.replaced_per_epoch(), [o["jaccard"] for o in overlaps],
                                    trial.density),
        }

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        return accuracy_vs_freeze(table)

    def report(self, table: pd.DataFrame, out_dir: Path) -> str:
        jac = jaccard_table(table)
        parts = [
            "Test accuracy (%) by the epoch after which the mask was frozen (mean ± std over seeds; `never`: "
            "updated until the drop fraction anneals to 0; `0`/`static`: the initial random mask, never "
            "updated). Density = fraction of prunable weights kept.",
            "",
            accuracy_vs_freeze(table).to_markdown(index=False),
            "",
        ]
        cost = freeze_cost(table)
        if not cost.empty:
            parts += [
                "Cost of freezing: test accuracy of the frozen run minus that of the never-frozen run of the same "
                "seed (percentage points, mean ± std over seeds; p of a paired t-test over seeds), and the share of the never-frozen run's gain over "
                "the static random mask (freeze 0) that the frozen run keeps. What it saves (where recorded): "
                "`dense_grad_steps` = optimizer steps at which the algorithm read the gradient of every weight, "
                "frozen / never frozen (SET: none; RigL: its updates; SNFS, DNW: every step), and `flops_saved` = "
                "the share of the never-frozen run's training FLOPs (forward, input and weight gradients of the "
                "masked layers) that the dense weight gradients skipped after the freeze would have cost.",
                "",
                cost.to_markdown(index=False),
                "",
            ]
        if not jac.empty:
            parts += [
                "Global Jaccard overlap of each epoch's mask with the final mask (never-frozen runs, mean over "
                "seeds; epoch 0 = the initial random mask) and the overlap expected by chance for random "
                "masks with the same layer densities.",
                "",
                jac.to_markdown(index=False),
                "",
            ]
        reinit = reinit_table(table)
        if not reinit.empty:
            parts += [
                "Structure kept, weights re-drawn: each trial's final mask trained again from fresh random weights "
                "(same recipe and batch order, mask fixed; mean over the re-initialisations of a trial, then mean ± "
                "std over seeds), against the trial's own test accuracy (%). For `static` the mask is the random "
                "initial one: the structure-free control.",
                "",
                reinit.to_markdown(index=False),
                "",
            ]
        for png in plot_dynamic(table, out_dir):
            parts += [f"![{png.stem}]({png.name})", ""]
        labelled = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
        parts += further_pruning_section(labelled, ["algorithm", "freeze"], out_dir, panels=["model", "density"])
        return "\n".join(parts)


def train_sparse(trial: dict[str, Any], splits: Any, *, progress: bool = False, device: Any = None):
    """Build, sparsify and train the network of one trial (a dict from :meth:`DynamicSparsityStudy.trials`)
    on ``device`` (``None``: the CPU). The network and its random mask are drawn on the CPU, then moved.

    Returns ``(model, masks, dynamic, train_result)``; ``dynamic`` holds the initial mask and per-epoch snapshots.
    """
    cfg = TrainConfig(**trial["train"])
    seed = trial["seed"]
    torch.manual_seed(seed)
    model = build(ModelConfig(**trial["model"]), splits)
    masks = Masks(model)
    dense = {name: masks.parameter(name).detach().clone() for name in masks}
    sparse_init(masks, trial["density"], trial["distribution"], torch.Generator().manual_seed(seed))
    if device is not None:
        model.to(device)
        dense = {name: weight.to(device) for name, weight in dense.items()}
    static = trial["algorithm"] == STATIC
    algorithm = "set" if static else trial["algorithm"]
    dyn = DynamicSparsity(
        masks, DNW(dense) if algorithm == "dnw" else algorithm,
        total_steps=max(1, cfg.epochs * steps_per_epoch(len(splits.train[0]), cfg.batch_size)),
        update_every=trial["update_every"], drop_fraction=trial["drop_fraction"],
        schedule=trial["drop_schedule"], freeze_epoch=0 if static else trial["freeze_epoch"], seed=seed + 1,
    )
    result = train(model, splits.train, cfg, val_data=splits.val, seed=seed, masks=masks, **dyn.hooks(),
                   progress=progress, desc=f"{trial['algorithm']} d={trial['density']} freeze={trial['freeze_epoch']}")
    dyn.close()
    return model, masks, dyn, result


def mask_history(history: list[dict], replaced: list[int], jaccard: list[float], density: float) -> list[dict]:
    """The training history with each epoch's mask changes: connections replaced in the epoch and the
    Jaccard overlap of the mask after it with the final mask (``jaccard[0]`` is the initial mask's)."""
    return [history_entries([entry], density=density,
                            replaced=replaced[i] if i < len(replaced) else 0,
                            jaccard_to_final=jaccard[i + 1] if i + 1 < len(jaccard) else None)[0]
            for i, entry in enumerate(history)]


def reinit_columns(trial: DynamicSparsityTrial, splits: Any, mask: dict[str, torch.Tensor], *,
                   device: Any = None) -> dict[str, Any]:
    """Structure kept, weights re-drawn: ``mask`` trained from a fresh initialisation per reinit seed, with the
    trial's recipe and batch order, mask fixed (static), on ``device`` (weights drawn on the CPU, then moved).
    Nothing when the trial names no reinit seeds."""
    if not trial.reinit_seeds:
        return {}
    accuracies = []
    for r in trial.reinit_seeds:
        torch.manual_seed(1_000_003 * (r + 1) + trial.seed)  # never the trial's own initialisation
        model = build(trial.model, splits)
        masks = Masks(model)
        masks.update(mask)
        if device is not None:
            model.to(device)
        train(model, splits.train, trial.train, val_data=splits.val, seed=trial.seed, masks=masks, progress=False)
        accuracies.append(evaluate(model, splits.test)["accuracy"])
    return {"reinit_test_accuracy": accuracies, "reinit_test_accuracy_mean": sum(accuracies) / len(accuracies)}


def reinit_table(table: pd.DataFrame) -> pd.DataFrame:
    """Trained vs structure-only (re-initialised) test accuracy per (model, density, algorithm, freeze)."""
    if "reinit_test_accuracy_mean" not in table or table["reinit_test_accuracy_mean"].isna().all():
        return pd.DataFrame()
    t = table.dropna(subset=["reinit_test_accuracy_mean"]).assign(freeze=table["freeze_epoch"].map(_freeze_label))
    rows = []
    for (model, dist, density, algorithm, freeze), part in t.groupby(
            ["model", "distribution", "density", "algorithm", "freeze"], sort=True):
        reinit = part["reinit_test_accuracy_mean"]
        delta = reinit - part["test_accuracy"]
        rows.append({"model": model, "distribution": dist, "density": density, "algorithm": algorithm, "freeze": freeze,
                     "seeds": len(part), "trained": mean_std(part["test_accuracy"]), "re-initialised": mean_std(reinit),
                     "reinit_minus_trained_pts": f"{100 * delta.mean():+.2f} ± {100 * delta.std(ddof=1):.2f}"
                     if len(part) > 1 else f"{100 * delta.mean():+.2f}"})
    return pd.DataFrame(rows)


def freeze_savings(masks: Masks, dyn: DynamicSparsity, train_data: Any, epochs: int) -> dict[str, Any]:
    """Row columns: dense-gradient steps read and saved by freezing, and training GFLOPs
    (:func:`sparsewire.dynamic.training_cost`; ``flops_saved_fraction`` is of the never-frozen run's FLOPs)."""
    uses = weight_uses(masks, *[t[:2] for t in train_data[:-1]])
    cost = training_cost(masks, uses, examples=epochs * len(train_data[0]), steps=dyn.step,
                         dense_steps=dyn.dense_gradient_steps, dense_steps_unfrozen=dyn.dense_gradient_steps_unfrozen())
    return {"dense_grad_steps": cost.dense_gradient_steps, "dense_grad_steps_saved": cost.dense_gradient_steps_saved,
            "train_gflops": cost.train_flops / 1e9, "dense_grad_gflops": cost.dense_gradient_flops / 1e9,
            "gflops_saved": cost.flops_saved / 1e9, "flops_saved_fraction": cost.flops_saved_fraction}


def _freeze_label(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NEVER
    return str(int(value))


def _order(label: str) -> float:
    return math.inf if label == NEVER else float(label)


def accuracy_vs_freeze(table: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy mean ± std over seeds: one row per (model, distribution, density, algorithm), one
    column per freeze epoch."""
    if table.empty:
        return table
    t = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
    keys = ["dataset", "model", "distribution", "density", "algorithm"]
    wide = t.groupby([*keys, "freeze"], sort=True)["test_accuracy"].agg(mean_std).unstack("freeze")
    wide = wide[sorted(wide.columns, key=_order)].fillna("")
    seeds = t.groupby(keys)["seed"].nunique().rename("seeds")
    wide = wide.join(seeds).reset_index()
    wide.columns.name = None
    return wide.rename(columns={c: f"freeze {c}" for c in wide.columns if c in set(t["freeze"])})


def freeze_cost(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, distribution, density, algorithm, freeze epoch): accuracy change against the never-frozen
    run of the same seed (with a paired t-test over seeds), and the share of the dynamic gain over the static
    mask kept; where the rows record them (issue 15), the dense-gradient steps the frozen run read and the
    share of the never-frozen run's training FLOPs that freezing saved."""
    from scipy.stats import ttest_rel

    t = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
    keys = ["model", "distribution", "density"]
    rows = []
    for (model, dist, density, algorithm), part in t[t["algorithm"] != STATIC].groupby([*keys, "algorithm"], sort=True):
        never = part[part["freeze"] == NEVER].set_index("seed")["test_accuracy"]
        static = t[(t["algorithm"] == STATIC) & (t["model"] == model) & (t["distribution"] == dist)
                   & (t["density"] == density)]["test_accuracy"]
        for freeze, frozen in part[part["freeze"] != NEVER].groupby("freeze"):
            delta = (frozen.set_index("seed")["test_accuracy"] - never).dropna()
            if delta.empty:
                continue
            paired = ttest_rel(frozen.set_index("seed")["test_accuracy"][delta.index], never[delta.index]).pvalue \
                if len(delta) > 1 else math.nan
            gain = never.mean() - static.mean() if len(static) else math.nan
            kept = (frozen["test_accuracy"].mean() - static.mean()) / gain if gain and gain > 0 else math.nan
            rows.append({"model": model, "distribution": dist, "density": density, "algorithm": algorithm,
                         "freeze": freeze, "seeds": len(delta),
                         "delta_vs_never_pts": f"{100 * delta.mean():+.2f} ± {100 * delta.std(ddof=1):.2f}"
                         if len(delta) > 1 else f"{100 * delta.mean():+.2f}",
                         "paired_t_p": f"{paired:.2g}" if not math.isnan(paired) else "",
                         "gain_over_static_kept": f"{100 * kept:.0f}%" if not math.isnan(kept) else "",
                         **_savings(frozen, never_rows=part[part["freeze"] == NEVER])})
    out = pd.DataFrame(rows)
    return out.sort_values([*keys, "algorithm", "freeze"], key=lambda c: c.map(_order) if c.name == "freeze" else c) \
        if len(out) else out


def _savings(frozen: pd.DataFrame, never_rows: pd.DataFrame) -> dict[str, Any]:
    """Mean dense-gradient steps (frozen / never frozen) and FLOPs saved, for rows that record them."""
    if "dense_grad_steps" not in frozen or frozen["dense_grad_steps"].isna().all():
        return {}
    never = never_rows["dense_grad_steps"].mean() if len(never_rows) else math.nan
    return {"dense_grad_steps": f"{frozen['dense_grad_steps'].mean():.0f} / {never:.0f}",
            "flops_saved": f"{100 * frozen['flops_saved_fraction'].mean():.1f}%"}


def _never_frozen(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["freeze_epoch"].map(_freeze_label) == NEVER]


def jaccard_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean Jaccard to the final mask per epoch for the never-frozen runs, plus the chance level."""
    rows = []
    for (model, dist, density, algorithm), part in _never_frozen(table).groupby(
            ["model", "distribution", "density", "algorithm"], sort=True):
        curves = pd.DataFrame(part["jaccard_to_final"].tolist())
        chance = pd.DataFrame(part["chance_jaccard_to_final"].tolist())
        row: dict[str, Any] = {"model": model, "distribution": dist, "density": density, "algorithm": algorithm,
                               "seeds": len(part)}
        row.update({f"epoch {e}": round(v, 3) for e, v in curves.mean().items()})
        row["chance"] = round(float(chance.mean().mean()), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def plot_dynamic(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``jaccard_to_final.png`` (never-frozen runs) and ``accuracy_vs_freeze.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    never = _never_frozen(table)
    if len(never):
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for i, ((model, density, algorithm), part) in enumerate(never.groupby(["model", "density", "algorithm"], sort=True)):
            curves = pd.DataFrame(part["jaccard_to_final"].tolist())
            stats = curves.agg(["mean", "std"]).T.fillna(0.0)
            colour = f"C{i % 10}"
            ax.plot(stats.index, stats["mean"], marker="o", markersize=4, color=colour,
                    label=f"{algorithm}, density {density:g} ({model})")
            ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colour, alpha=0.15)
            chance = pd.DataFrame(part["chance_jaccard_to_final"].tolist()).mean()
            ax.plot(chance.index, chance.to_numpy(), linestyle=":", color=colour, linewidth=1)
        ax.set_ylim(0, 1.02)
        paths.append(_finish(fig, ax, "epoch (0 = initial random mask)", "global Jaccard to final mask",
                             "Jaccard to final mask vs epoch\n(dotted: chance; shaded: ± 1 std over seeds)", out_dir / "jaccard_to_final.png"))

    t = table.assign(freeze=table["freeze_epoch"].map(_freeze_label))
    labels = sorted(set(t["freeze"]), key=_order)
    position = {label: i for i, label in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(6, 4.2))
    dynamic = t[t["algorithm"] != STATIC]
    static = t[t["algorithm"] == STATIC]
    for i, ((model, density, algorithm), part) in enumerate(dynamic.groupby(["model", "density", "algorithm"], sort=True)):
        same = static[(static["model"] == model) & (static["density"] == density)]  # freeze 0 = the static run
        stats = pd.concat([part, same]).groupby("freeze")["test_accuracy"].agg(["mean", "std"]).fillna(0.0) * 100
        stats = stats.loc[sorted(stats.index, key=_order)]
        x = [position[label] for label in stats.index]
        ax.errorbar(x, stats["mean"], yerr=stats["std"], marker="o", capsize=3, color=f"C{i % 10}",
                    label=f"{algorithm}, density {density:g} ({model})")
    ax.set_xticks(range(len(labels)), [f"{label} (static)" if label == "0" else label for label in labels])
    paths.append(_finish(fig, ax, "mask frozen after epoch", "test accuracy (%)", "Accuracy vs freeze epoch (bars: ± 1 std over seeds)",
                         out_dir / "accuracy_vs_freeze.png"))
    return paths


def _finish(fig: Any, ax: Any, xlabel: str, ylabel: str, title: str, path: Path) -> Path:
    """Label, save (PNG, 120 dpi) and close a one-panel figure."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

