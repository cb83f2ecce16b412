import torch
from torch import nn

from sparsewire.models import MLP


def make_mlp(sizes, nonnegative=(), seed=0, bias=True):
    """A ReLU MLP whose hidden layers ``nonnegative`` have |W| and |b| (so their ReLU is the identity)."""
    torch.manual_seed(seed)
    model = MLP(sizes, bias=bias)
    with torch.no_grad():
        for j in nonnegative:
            model.layers[j].weight.abs_()
            if model.layers[j].bias is not None:
                model.layers[j].bias.abs_()
    return model


def as_sequential(model: MLP) -> nn.Sequential:
    modules: list[nn.Module] = [nn.Flatten()]
    for i, layer in enumerate(model.layers):
        modules.append(layer)
        if i < len(model.layers) - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)
