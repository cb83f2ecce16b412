"""Why some sparse networks shrug off further magnitude pruning: how much of their weight is near zero.

Companion to benchmarks/further_pruning.py. Makes the 784-100-10 MLP sparse at density 0.1 with the recipes
of configs/further-pruning-*.yaml — a static random mask, SET and RigL (uniform per layer, 10 epochs of
Adam), and class-blinded magnitude pruning of a dense network (10 epochs) either fine-tuned or rewound to
its initial weights (lottery ticket) and re-trained 5 epochs — and reports per layer, mean ± std over seeds: the share of the surviving weights' |w| mass held by their
smaller half, the fraction of surviving weights with |w| < 0.01, and hidden units that receive any input.

    python benchmarks/magnitude_slack.py [--seeds 0 1 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import pandas as pd
import torch

from sparsewire.dynamic import train_sparse
from sparsewire.masks import Masks
from sparsewire.pruning import prune, rewind, snapshot
from sparsewire.studies import load_config
from sparsewire.studies.common import DatasetConfig, ModelConfig, build, load_splits
from sparsewire.studies.runner import expand
from sparsewire.training import TrainConfig, evaluate, train

DYNAMIC_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "further-pruning-dynamic.yaml"
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "further-pruning" / "magnitude_slack.md"


def trained(algorithm: str, density: float, seed: int, splits, cfg: TrainConfig) -> tuple[torch.nn.Module, Masks]:
    """The never-frozen (or static) network of configs/further-pruning-dynamic.yaml, trained as that study does."""
    study_type, config = load_config(DYNAMIC_CONFIG)
    freeze = 0 if algorithm == "static" else None
    trial = next(t.config for t in expand(study_type, config)
                 if (t.config["algorithm"], t.config["density"], t.config["seed"], t.config["freeze_epoch"])
                 == (algorithm, density, seed, freeze))
    torch.manual_seed(seed)
    model = build(ModelConfig(**trial["model"]), splits)
    run = train_sparse(model, splits.train, TrainConfig(**trial["train"]), val_data=splits.val, algorithm=algorithm,
                       density=density, seed=seed, distribution=trial["distribution"], freeze_epoch=freeze,
                       update_every=trial["update_every"], drop_fraction=trial["drop_fraction"],
                       drop_schedule=trial["drop_schedule"])
    return run.model, run.masks


def pruned(rewound: bool, density: float, seed: int, splits, cfg: TrainConfig) -> tuple[torch.nn.Module, Masks]:
    torch.manual_seed(seed)
    model = build(ModelConfig(name="mlp-100"), splits)
    masks = Masks(model)
    init = snapshot(model)
    train(model, splits.train, TrainConfig(**{**cfg.model_dump(), "restore_best": True}), val_data=splits.val,
          seed=seed, progress=False)
    prune(model, 1 - density, "class-blinded", masks=masks)
    if rewound:
        rewind(model, init, masks)
    retrain = TrainConfig(epochs=5, batch_size=64, optimizer="adam", lr=0.0005)
    train(model, splits.train, retrain, val_data=splits.val, seed=seed + 1000, masks=masks, progress=False)
    return model, masks


MAKERS = {
    "static random mask": lambda d, s, splits, cfg: trained("static", d, s, splits, cfg),
    "SET": lambda d, s, splits, cfg: trained("set", d, s, splits, cfg),
    "RigL": lambda d, s, splits, cfg: trained("rigl", d, s, splits, cfg),
    "magnitude, one-shot, fine-tuned": lambda d, s, splits, cfg: pruned(False, d, s, splits, cfg),
    "magnitude, one-shot, rewound to init (lottery ticket)": lambda d, s, splits, cfg: pruned(True, d, s, splits, cfg),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--density", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_splits(DatasetConfig(name="mnist"))
    cfg = TrainConfig(epochs=10, batch_size=64, optimizer="adam", lr=0.001, restore_best=False)
    rows = []
    for algorithm, make in MAKERS.items():
        for seed in args.seeds:
            model, masks = make(args.density, seed, splits, cfg)
            row = {"algorithm": algorithm, "seed": seed, "test_accuracy": evaluate(model, splits.test)["accuracy"]}
            for i, (_name, param, mask) in enumerate(masks.parameters()):
                w = param.detach()[mask.bool()].abs().sort().values
                row[f"L{i} smaller-half mass share"] = float(w[: len(w) // 2].sum() / w.sum())
                row[f"L{i} share below 0.01"] = float((w < 0.01).float().mean())
            row["hidden units with input"] = int((masks["layers.0.weight"].sum(1) > 0).sum())
            rows.append(row)
            print(row, flush=True)
    table = pd.DataFrame(rows)
    stats = table.drop(columns="seed").groupby("algorithm", sort=False)
    fmt = stats.mean().round(3).astype(str) + " ± " + stats.std(ddof=1).round(3).astype(str)
    lines = [
        "# Magnitude slack of sparse networks (why further pruning hurts some more than others)",
        "",
        f"Command: `python benchmarks/magnitude_slack.py --seeds {' '.join(map(str, args.seeds))} --threads "
        f"{args.threads}`",
        f"Machine: {platform.machine()} CPU, {args.threads} torch thread(s). 784-100-10 MLP, density {args.density}; "
        "recipes of `configs/further-pruning-*.yaml`; L0 = input→hidden, L1 = hidden→output; mean ± std over seeds. "
        "*smaller-half mass share*: fraction of the surviving weights' total |w| held by the smaller half of them "
        "(0.5 = all equal; small = many near-zero survivors that magnitude pruning can remove for free); *share below 0.01*: fraction of surviving weights with magnitude below 0.01.",
        "",
        fmt.reset_index().to_markdown(index=False),
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
