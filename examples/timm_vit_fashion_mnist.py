"""Prune a timm Vision Transformer (built without weights) on Fashion-MNIST slices.

A 2-block ViT-Tiny for 28×28 single-channel images (7×7 patches) from ``timm.create_model`` with
``pretrained=False``, trained, pruned and fine-tuned as in ``resnet18_fashion_mnist.py`` (same code).

What is masked (the default rule): the patch-embedding convolution, the fused ``qkv`` and output
projections of every attention block, the MLP layers and the head (all ``nn.Linear``/``nn.Conv2d``);
LayerNorm, the class token and the position embedding (bare parameters) and every bias stay dense.

timm must import next to the installed torch (it does not on the project's CPU machines, see
ENVIRONMENT.md); otherwise the example says so and exits 0.

    python examples/timm_vit_fashion_mnist.py [--train-limit 1024] [--compression 0.8]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resnet18_fashion_mnist import cli, run, unavailable  # noqa: E402


def skip_reason() -> str | None:
    """Why this example cannot run here (``None``: it can)."""
    return unavailable("timm")


def vit_for_fashion_mnist(seed: int = 0) -> nn.Module:
    import timm

    torch.manual_seed(seed)
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=28, patch_size=7, in_chans=1,
                             num_classes=10, depth=2)


def main(train_limit: int = 1024, test_size: int = 1000, compression: float = 0.8,
         data_dir: str | None = None) -> dict[str, dict[str, Any]]:
    return run(vit_for_fashion_mnist, skip_reason(), train_limit, test_size, compression, data_dir)


if __name__ == "__main__":
    cli(main, __doc__)
