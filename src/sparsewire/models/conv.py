"""Small convolutional networks (channels are the nodes of their structure graph)."""

from __future__ import annotations

import torch
from torch import nn


class LeNet5(nn.Module):
    """LeNet-5-style CNN: conv(6,5×5) → pool → conv(16,5×5) → pool → 120 → 84 → classes, ReLU.

    Works for 28×28 (MNIST) and 32×32 (CIFAR-10) inputs with any channel count. ``width`` scales every
    layer's width (6, 16, 120, 84; each rounded, at least 1), e.g. to match another network's parameter count.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, width: float = 1.0) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        c1, c2, h1, h2 = (max(1, round(n * width)) for n in (6, 16, 120, 84))
        pad = 2 if image_size == 28 else 0
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=pad),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * 5 * 5, h1),
            nn.ReLU(),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Linear(h2, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
