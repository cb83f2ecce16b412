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


class BasicBlock(nn.Module):
    """Two 3×3 (conv, batch norm) pairs with an identity shortcut, or a 1×1 projection (conv, batch norm) where
    the stride or width changes (He et al. 2016, "Deep Residual Learning", Sec. 3.3, option B)."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class ResNet20(nn.Module):
    """ResNet-20 for small images (He et al. 2016, Sec. 4.2): a 3×3 stem, three stages of ``blocks`` basic
    blocks (6n + 2 layers, n = 3) at widths 16 / 32 / 64 times ``width`` with stride 2 at the second and third
    stage, global average pooling and one linear layer. ``width`` < 1 gives the narrow variants used for sparse
    training on a CPU (``width=0.5``: 8 / 16 / 32 channels); each width is rounded and at least 1.

    Shortcuts that change shape are 1×1 projections (option B), so every layer is a Conv2d, BatchNorm2d or
    Linear that masks, pruning and thinning understand; at ``width=1`` on CIFAR-10 the network has 0.27 M
    parameters like the paper's.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: float = 1.0, blocks: int = 3) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        if blocks < 1:
            raise ValueError(f"blocks must be >= 1, got {blocks}")
        widths = [max(1, round(w * width)) for w in (16, 32, 64)]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        stages = []
        previous = widths[0]
        for stage, channels in enumerate(widths):
            layers = [BasicBlock(previous if i == 0 else channels, channels, stride=2 if stage and i == 0 else 1)
                      for i in range(blocks)]
            stages.append(nn.Sequential(*layers))
            previous = channels
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))
