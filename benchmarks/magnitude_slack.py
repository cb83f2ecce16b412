"""Why some sparse networks shrug off further magnitude pruning: how much of their weight is near zero.

Companion to benchmarks/further_pruning.py. Trains the 784-100-10 MLP at density 0.1 (uniform per layer,
10 epochs of Adam, the further-pruning-dynamic recipe) with a static random mask, SET and RigL, and
reports per layer, mean ± std over seeds: the share of the surviving weights' |w| mass held by their
smaller half, the fraction of surviving weights with |w| < 0.01, and hidden units that receive any input.

    python benchmarks/magnitude_slack.py [--seeds 0 1 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import pandas as pd
import torch

from sparsewire.dynamic import DynamicSparsity, sparse_init, steps_per_epoch
from sparsewire.masks import Masks
from sparsewire.studies.common import DatasetConfig, ModelConfig, build, load_splits
from sparsewire.training import TrainConfig, evaluate, train

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "further-pruning" / "magnitude_slack.md"


def trained(algorithm: str, density: float, seed: int, splits, cfg: TrainConfig) -> tuple[torch.nn.Module, Masks]:
    torch.manual_seed(seed)
    model = build(ModelConfig(name="mlp-100"), splits)
    masks = Masks(model)
    sparse_init(masks, density, "uniform", torch.Generator().manual_seed(seed))
    static = algorithm == "static"
    dyn = DynamicSparsity(masks, "set" if static else algorithm,
                          total_steps=cfg.epochs * steps_per_epoch(len(splits.train[0]), cfg.batch_size),
                          update_every=100, drop_fraction=0.3, schedule="cosine", freeze_epoch=0 if static else None,
                          seed=seed + 1)
    train(model, splits.train, cfg, val_data=splits.val, seed=seed, masks=masks, **dyn.hooks(), progress=False)
    return model, masks


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
    for algorithm in ["static", "set", "rigl"]:
        for seed in args.seeds:
            model, masks = trained(algorithm, args.density, seed, splits, cfg)
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
        f"Machine: {platform.machine()} CPU, {args.threads} torch thread(s). 784-100-10 MLP, density {args.density} "
        "(uniform per layer), 10 epochs of Adam; L0 = input→hidden, L1 = hidden→output; mean ± std over seeds. "
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
