"""SNIP (Lee et al. 2019): the mask at initialisation keeps the highest |g·w| at the asked density."""

import pytest
import torch
import torch.nn.functional as F

from sparsewire.masks import Masks
from sparsewire.pruning.snip import snip
from sparsewire.training import batches
from tests.dynamic.conftest import mlp, toy_data


def scored(seed=0):
    return batches(toy_data(), 32, torch.Generator().manual_seed(seed))[:3]


def sensitivity(model, chosen):
    """|Σ_b ∂L/∂w · w| computed here, independently of the library's score."""
    weights = [model[0].weight, model[2].weight]
    total = [torch.zeros_like(w) for w in weights]
    for x, y in chosen:
        for t, g in zip(total, torch.autograd.grad(F.cross_entropy(model(x), y), weights), strict=True):
            t += g
    return [(t * w.detach()).abs() for t, w in zip(total, weights, strict=True)]


@pytest.mark.parametrize("density", [0.1, 0.35])
def test_snip_keeps_the_highest_sensitivities_at_the_density_of_every_layer(density):
    model, chosen = mlp(), scored()
    init = [model[0].weight.detach().clone(), model[2].weight.detach().clone()]
    expected = sensitivity(model, chosen)
    masks = snip(model, density, chosen)
    for (name, mask), score, w0 in zip(masks.items(), expected, init, strict=True):
        assert int(mask.sum()) == mask.numel() - round((1 - density) * mask.numel())  # uniform: every layer
        assert score[mask].min() >= score[~mask].max()
        weight = masks.parameter(name).detach()
        assert torch.equal(weight[mask], w0[mask]) and not weight[~mask].any()  # survivors untouched


def test_snip_with_erk_reaches_the_global_density_and_is_deterministic():
    a, b = snip(mlp(), 0.2, scored(), distribution="erk"), snip(mlp(), 0.2, scored(), distribution="erk")
    assert a.remaining() == round(0.2 * a.total())
    assert a.density("0.weight") != a.density("2.weight")  # ERK: the small layer is denser
    assert all(torch.equal(a[n], b[n]) for n in a)
    other = snip(mlp(), 0.2, scored(seed=1), distribution="erk")
    assert any(not torch.equal(a[n], other[n]) for n in a)  # other batches, another mask


def test_snip_refuses_a_pruned_network_and_an_unknown_distribution():
    model = mlp()
    Masks(model).update({"0.weight": torch.rand(30, 20) > 0.5})
    with pytest.raises(ValueError, match="already pruned"):
        snip(model, 0.1, scored())
    with pytest.raises(ValueError, match="unknown distribution"):
        snip(mlp(), 0.1, scored(), distribution="normal")
