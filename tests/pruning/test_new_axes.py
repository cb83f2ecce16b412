"""The saliency (SNIP) score, the ERK allocation and the gradual (Zhu & Gupta) schedule."""

import pytest
import torch

from sparsewire.masks import Masks
from sparsewire.models import MLP, lenet_300_100
from sparsewire.pruning import gradual, prune, resolve_method, schedule
from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.scores import saliency


def batches(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(32, 20, generator=g), torch.randint(0, 5, (32,), generator=g)) for _ in range(n)]


def test_saliency_is_gradient_times_weight_summed_over_batches():
    torch.manual_seed(0)
    model = MLP([20, 16, 5])
    masks = Masks(model)
    data = batches()
    scores = saliency(PruneContext(model, masks, data))
    model.zero_grad()
    for x, y in data:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    for name, param, _ in masks.parameters():
        torch.testing.assert_close(scores[name], (param.grad * param.detach()).abs())


def test_snip_method_needs_data_and_prunes_the_least_salient():
    assert resolve_method("snip").needs_data and not resolve_method("erk").needs_data
    with pytest.raises(ValueError, match="needs data"):
        prune(MLP([20, 16, 5]), 0.5, "snip")
    torch.manual_seed(1)
    model = MLP([20, 16, 5])
    masks = Masks(model)
    scores = saliency(PruneContext(model, masks, batches()))
    prune(model, 0.6, "snip", masks=masks, batches=batches())
    kept = torch.cat([scores[n][m] for n, m in masks.items()])
    dropped = torch.cat([scores[n][~m] for n, m in masks.items()])
    assert float(dropped.max()) <= float(kept.min())
    assert masks.sparsity() == pytest.approx(0.6, abs=1e-3)


def test_erk_densities_follow_sum_over_product_of_shape():
    model = lenet_300_100()  # 784-300-100-10: the small last layer would exceed density 1 and stays dense
    masks = prune(model, 0.9, "erk")
    shapes = {n: tuple(m.shape) for n, m in masks.items()}
    d = masks.densities()
    assert d["layers.2.weight"] == 1.0
    ratio = d["layers.0.weight"] / d["layers.1.weight"]
    expected = (sum(shapes["layers.0.weight"]) / (784 * 300)) / (sum(shapes["layers.1.weight"]) / (300 * 100))
    assert ratio == pytest.approx(expected, rel=1e-3)
    assert masks.sparsity() == pytest.approx(0.9, abs=1e-6)
    magnitudes = {n: p.detach().abs() for n, p, _ in masks.parameters()}
    for n, m in masks.items():  # within each layer the largest magnitudes are kept
        if (~m).any():
            assert float(magnitudes[n][~m].max()) <= float(magnitudes[n][m].min())


def test_erk_never_revives_after_other_pruning():
    model = lenet_300_100()
    masks = prune(model, 0.5, "random", generator=torch.Generator().manual_seed(3))
    before = masks.state()
    prune(model, 0.95, "erk", masks=masks)
    assert all(not (masks[n] & ~before[n]).any() for n in masks)
    assert masks.sparsity() == pytest.approx(0.95, abs=1e-6)


def test_gradual_schedule_is_cubic_and_ends_at_target():
    steps = gradual(0.9, 4)
    assert steps == pytest.approx([0.9 * (1 - (1 - k / 4) ** 3) for k in range(1, 5)])
    assert steps[-1] == pytest.approx(0.9) and steps == sorted(steps)
    gains = [b - a for a, b in zip([0.0, *steps], steps, strict=False)]
    assert gains == sorted(gains, reverse=True)  # fast first, then slower
    assert schedule("gradual", 0.9, rounds=4) == steps
    with pytest.raises(ValueError, match="at least one round"):
        gradual(0.9, 0)
    with pytest.raises(ValueError, match="unknown pruning schedule"):
        schedule("cubic", 0.9)
