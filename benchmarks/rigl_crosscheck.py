"""Cross-check sparsewire's RigL against rigl-torch 0.5.2 (PyPI ``rigl-torch``) on the 784-100-10 MLP / MNIST.

Both runs of a seed start from the same weights and the same random masks (sparsewire's ``sparse_init``,
uniform density in both layers; rigl-torch receives them through its ``state_dict`` argument, because its
own ``uniform`` distribution keeps the first layer dense), see the same batches in the same order and use
the same schedule: an update every ``delta`` steps until ``T_end`` with drop fraction
``alpha/2 (1 + cos(pi t / T_end))``; sparsewire counts ``floor(f · kept)`` per layer as rigl-torch does
(``rounding="floor"``). rigl-torch is driven as its README says (``if scheduler(): optimizer.step()``: no
optimizer step at an update step); sparsewire through ``train(..., **dyn.hooks())`` (the update follows the
step). Recorded per update and layer: the count dropped (= grown) and the connections that changed.
rigl-torch does not expose its count; it is read as its ``_rigl_step`` computes it, ``int(n_ones · f)``
with ``f = scheduler.cosine_annealing()`` at the update and ``n_ones`` its mask's sum.

rigl-torch imports torchvision for two ``isinstance`` checks on ResNet blocks; the CPU torch here cannot
load the PyPI torchvision, so a stub module stands in (docs ENVIRONMENT.md).

    OMP_NUM_THREADS=1 python benchmarks/rigl_crosscheck.py --seeds 0 1 2 --epochs 10 --out benchmarks/results/rigl-crosscheck.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F

from sparsewire.dynamic import DynamicSparsity, sparse_init, steps_per_epoch
from sparsewire.masks import Masks
from sparsewire.studies.common import DatasetConfig, ModelConfig, build, load_splits
from sparsewire.training import TrainConfig, evaluate, train
from sparsewire.training.loop import batches


def import_rigl_torch():
    try:
        import torchvision  # noqa: F401
    except Exception:  # the PyPI torchvision needs the CUDA torch; a stub is enough for rigl-torch's isinstance checks
        resnet = types.ModuleType("torchvision.models.resnet")
        resnet.Bottleneck = type("Bottleneck", (), {})
        resnet.BasicBlock = type("BasicBlock", (), {})
        models = types.ModuleType("torchvision.models")
        models.resnet = resnet
        tv = types.ModuleType("torchvision")
        tv.models = models
        sys.modules.update({"torchvision": tv, "torchvision.models": models, "torchvision.models.resnet": resnet})
    from rigl_torch.RigL import RigLScheduler

    return RigLScheduler


def start(seed: int, splits, density: float):
    """The model, its initial (masked) weights and the initial masks of one seed, as the study makes them."""
    torch.manual_seed(seed)
    model = build(ModelConfig(name="mlp-100"), splits)
    masks = sparse_init(Masks(model), density, generator=torch.Generator().manual_seed(seed))
    return model, masks


def run_ours(seed, splits, args, total, t_end):
    model, masks = start(seed, splits, args.density)
    dyn = DynamicSparsity(masks, "rigl", total_steps=total, update_every=args.delta, drop_fraction=args.alpha,
                          anneal_steps=t_end, stop_step=t_end - 1, rounding="floor", seed=seed + 1)
    changed = []

    def post_step(optimizer):
        before = masks.state()
        n = len(dyn.updates)
        dyn.post_step(optimizer)
        if len(dyn.updates) > n:
            changed.append([int((masks[k] & ~before[k]).sum()) for k in masks])

    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                      momentum=0.9, restore_best=False)
    t0 = time.perf_counter()
    train(model, splits.train, cfg, seed=seed, masks=masks, post_step=post_step, on_epoch=dyn.on_epoch, progress=False)
    return {"test_accuracy": evaluate(model, splits.test)["accuracy"], "seconds": time.perf_counter() - t0,
            "update_steps": [u.step for u in dyn.updates],
            "dropped": [[u.dropped.get(k, 0) for k in masks] for u in dyn.updates],
            "grown": [[u.grown.get(k, 0) for k in masks] for u in dyn.updates],
            "changed": changed, "kept": [int(m.sum()) for m in masks.values()]}


def run_rigl_torch(seed, splits, args, total, t_end, RigLScheduler):
    sw_model, masks = start(seed, splits, args.density)
    torch.manual_seed(seed)
    model = build(ModelConfig(name="mlp-100"), splits)  # a plain module with the same weights
    model.load_state_dict({k: v for k, v in sw_model.state_dict().items() if not k.endswith("_mask")})
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr, momentum=0.9)
    from sparsewire.training.loop import make_optimizer

    optimizer = make_optimizer(model, cfg)
    initial = [masks[k].clone() for k in masks]
    state = {"dense_allocation": args.density, "S": [1 - float(m.float().mean()) for m in initial],
             "N": [m.numel() for m in initial], "step": 0, "rigl_steps": 0, "backward_masks": initial,
             "_linear_layers_mask": [1] * len(initial),
             "hyperparams": {"delta_T": args.delta, "alpha": args.alpha, "T_end": t_end, "ignore_linear_layers": False,
                             "static_topo": False, "sparsity_distribution": "uniform", "grad_accumulation_n": 1}}
    scheduler = RigLScheduler(model, optimizer, state_dict=state)
    generator = torch.Generator().manual_seed(seed)
    steps, dropped, changed = [], [], []
    t0 = time.perf_counter()
    model.train()
    for _epoch in range(args.epochs):
        for *inputs, target in batches(splits.train, args.batch_size, generator):
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(*inputs), target).backward()
            before = [m.clone() for m in scheduler.backward_masks]
            if scheduler():
                optimizer.step()
            elif not scheduler.static_topo:  # a RigL update happened at this step
                fraction = scheduler.cosine_annealing()
                steps.append(scheduler.step)
                dropped.append([int(int(b.sum().item()) * fraction) for b in before])
                changed.append([int((m & ~b).sum()) for m, b in zip(scheduler.backward_masks, before, strict=True)])
    return {"test_accuracy": evaluate(model, splits.test)["accuracy"], "seconds": time.perf_counter() - t0,
            "update_steps": steps, "dropped": dropped, "changed": changed,
            "kept": [int(m.sum()) for m in scheduler.backward_masks]}


def summary(results: dict) -> str:
    lines = []
    for impl in ("sparsewire", "rigl-torch"):
        acc = [r[impl]["test_accuracy"] * 100 for r in results.values()]
        lines.append(f"{impl}: test accuracy {statistics.mean(acc):.2f} ± {statistics.stdev(acc) if len(acc) > 1 else 0:.2f} "
                     f"({', '.join(f'{a:.2f}' for a in acc)})")
    for seed, r in results.items():
        ours, theirs = r["sparsewire"], r["rigl-torch"]
        lines.append(f"seed {seed}: update steps equal {ours['update_steps'] == theirs['update_steps']} "
                     f"({len(ours['update_steps'])}); per-layer dropped counts equal {ours['dropped'] == theirs['dropped']}; "
                     f"grown = dropped {ours['grown'] == ours['dropped']}; final kept {ours['kept']} vs {theirs['kept']}; "
                     f"changed per update (sum over layers, mean) {statistics.mean(map(sum, ours['changed'])):.1f} vs "
                     f"{statistics.mean(map(sum, theirs['changed'])):.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--density", type=float, default=0.1)
    parser.add_argument("--delta", type=int, default=100)
    parser.add_argument("--alpha", type=float, default=0.3)
    parser.add_argument("--t-end", type=float, default=0.75, help="fraction of the run after which updates stop")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    RigLScheduler = import_rigl_torch()
    splits = load_splits(DatasetConfig(name="mnist", train_limit=args.train_limit))
    total = args.epochs * steps_per_epoch(len(splits.train[0]), args.batch_size)
    t_end = math.floor(args.t_end * total)
    results = {}
    for seed in args.seeds:
        results[seed] = {"sparsewire": run_ours(seed, splits, args, total, t_end),
                         "rigl-torch": run_rigl_torch(seed, splits, args, total, t_end, RigLScheduler)}
        print(f"seed {seed}: sparsewire {results[seed]['sparsewire']['test_accuracy']:.4f} "
              f"({results[seed]['sparsewire']['seconds']:.0f} s), rigl-torch {results[seed]['rigl-torch']['test_accuracy']:.4f} "
              f"({results[seed]['rigl-torch']['seconds']:.0f} s)", flush=True)
    print(summary(results))
    if args.out is not None:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "total_steps": total,
                                        "t_end": t_end, "results": results}, indent=1))


if __name__ == "__main__":
    main()
