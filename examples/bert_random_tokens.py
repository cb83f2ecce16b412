"""Prune a small Hugging Face BERT built from a config (nothing downloaded) on random token batches.

The task is made up so that it can be learnt in a few steps: a sequence is positive when its first token
(where BERT's pooler reads) is in the lower half of the vocabulary; the classes are balanced. Batches are dicts as a Hugging Face pipeline yields them (``input_ids``, ``attention_mask``,
``labels``), read through a ``DataLoader``; sparsewire calls ``model(input_ids=..., attention_mask=...)``
and takes ``labels`` as the target (:mod:`sparsewire.batch`).

What is masked (the default rule, :func:`sparsewire.masks.masks.default_selector`): the query, key,
value and output projections and the feed-forward layers (all ``nn.Linear``), the pooler and classifier,
and the three embedding tables; LayerNorm weights and every bias stay dense.
OBD (Hutchinson estimate of the Hessian's diagonal) differentiates twice, which PyTorch's fused
scaled-dot-product attention does not support: the model is built with ``attn_implementation="eager"``.

    python examples/bert_random_tokens.py [--compression 0.7] [--steps 30]

Prints one line per pruning method; :func:`main` returns the same numbers (tests check them).
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch.utils.data import DataLoader, Dataset

VOCAB, LENGTH = 64, 16


def skip_reason() -> str | None:
    """Why this example cannot run here (``None``: it can)."""
    try:
        import transformers  # noqa: F401
    except Exception as err:  # noqa: BLE001 - any import failure means: not here
        return f"transformers does not import here ({type(err).__name__}: {err})"
    return None


class RandomTokens(Dataset):
    """``n`` random sequences of token ids; label 1 when the first token is below ``VOCAB // 2``."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, VOCAB, (n, LENGTH), generator=g)
        self.labels = (self.ids[:, 0] < VOCAB // 2).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(LENGTH, dtype=torch.long),
                "labels": self.labels[i]}


def build(seed: int = 0) -> torch.nn.Module:
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=LENGTH, num_labels=2,
                        attn_implementation="eager")  # OBD's Hessian needs second derivatives: the fused
    # scaled-dot-product attention kernels have no double backward, the eager attention has
    return BertForSequenceClassification(config)


def accuracy(model: torch.nn.Module, loader: DataLoader) -> float:
    from sparsewire.batch import forward, logits

    model.eval()
    correct = n = 0
    with torch.no_grad():
        for batch in loader:
            correct += int((logits(forward(model, batch)).argmax(-1) == batch["labels"]).sum())
            n += len(batch["labels"])
    return correct / n


def main(compression: float = 0.7, steps: int = 30, examples: int = 256, seed: int = 0) -> dict[str, dict]:
    """Train the dense BERT for ``steps`` steps, then prune a copy with each method and fine-tune it as long."""
    import copy

    from sparsewire import Masks, prune
    from sparsewire.batch import batch_loss, model_loss

    reason = skip_reason()
    if reason is not None:
        print(f"skipped: {reason}")
        return {}
    train = DataLoader(RandomTokens(examples, seed), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    test = DataLoader(RandomTokens(examples, seed + 1), batch_size=64)

    def fit(model: torch.nn.Module, masks: Masks | None) -> None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        handle = masks.bind(optimizer) if masks is not None else None  # re-zero pruned weights after each step
        model.train()
        done = 0
        while done < steps:
            for batch in train:
                optimizer.zero_grad()
                batch_loss(model, batch).backward()  # cross-entropy of the logits against batch["labels"]
                optimizer.step()
                done += 1
                if done == steps:
                    break
        if handle is not None:
            handle.remove()

    dense = build(seed)
    fit(dense, None)
    results = {"dense": {"accuracy": accuracy(dense, test)}}
    methods = {
        "class-blinded": {},
        "magnitude/erk": {},
        "snip": {"batches": train, "max_batches": 2},  # saliency from the DataLoader's dict batches
        # OBD with a loss the model computes itself (labels passed in): a (model, batch) loss
        "obd": {"batches": train, "max_batches": 1, "loss_fn": model_loss(lambda m, b: m(**b).loss)},
    }
    for method, options in methods.items():
        model = copy.deepcopy(dense)
        masks = prune(model, compression, method, **options)
        before = accuracy(model, test)
        fit(model, masks)
        counts = masks.counts()
        results[method] = {
            "density": masks.density(),
            "accuracy_pruned": before,
            "accuracy": accuracy(model, test),
            "masked": sorted(counts),
            "pruned_weights_zero": all(not p[~m].any() for _, p, m in masks.parameters()),
            "layernorm_dense": all(bool((p != 0).all()) for n, p in model.named_parameters() if "LayerNorm" in n),
        }
    for name, row in results.items():
        shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items() if k != "masked"}
        print(name, shown, f"({len(row.get('masked', []))} masked tensors)" if "masked" in row else "")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compression", type=float, default=0.7)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    main(args.compression, args.steps)
    sys.exit(0)
