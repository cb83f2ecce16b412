"""Shared helpers of the dynamic-sparsity tests: a tiny MLP, a toy task and a random sparse start."""

import torch
from torch import nn

from sparsewire.dynamic import sparse_init
from sparsewire.masks import Masks


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 4))


def toy_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 20, generator=g)
    y = (x[:, :4].argmax(1)).long()
    return [x, y]


def sparse(density=0.2, seed=0):
    model = mlp(seed)
    masks = sparse_init(Masks(model), density, generator=torch.Generator().manual_seed(seed))
    return model, masks
