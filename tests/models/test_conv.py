import copy
import warnings

import pytest
import torch

from sparsewire.graphs.extract import structure_of
from sparsewire.masks import Masks
from sparsewire.models import ResNet20, build_model


def test_resnet20_has_the_papers_size_and_depth():
    model = ResNet20(in_channels=3, num_classes=10)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(0.27e6, rel=0.02)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) + len(linears) == 20  # 6n + 2 weighted layers, n = 3 (projections are 1×1 and not counted)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_narrow_resnet20_halves_every_width(shape):
    narrow = build_model("resnet20-narrow", shape, 10)
    assert narrow.conv1.out_channels == 8 and narrow.layer3[0].conv1.out_channels == 32
    assert narrow(torch.randn(2, *shape)).shape == (2, 10)
    spec = build_model("resnet20", shape, 10, width=0.5)
    assert [p.shape for p in spec.parameters()] == [p.shape for p in narrow.parameters()]


def test_bad_width_is_a_clear_error():
    with pytest.raises(ValueError, match="width must be positive"):
        ResNet20(width=0)
    with pytest.raises(ValueError, match="bad options for model 'resnet20'"):
        build_model("resnet20", (1, 28, 28), 10, depth=56)


def test_masked_resnet20_keeps_pruned_weights_zero_and_survives_copies():
    torch.manual_seed(0)
    model = build_model("resnet20-narrow", (1, 28, 28), 10)
    masks = Masks(model)
    assert all(name.endswith("weight") and masks[name].dim() in (2, 4) for name in masks)  # convs and fc, not norms
    generator = torch.Generator().manual_seed(1)
    masks.update({name: torch.rand(m.shape, generator=generator) < 0.2 for name, m in masks.items()})
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    masks.bind(optimizer)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    for _, param, mask in masks.parameters():
        assert bool((param[~mask] == 0).all())
    clone = copy.deepcopy(model).eval()
    model.eval()
    assert torch.equal(clone(x), model(x))
    fresh = build_model("resnet20-narrow", (1, 28, 28), 10)
    Masks(fresh)
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(fresh.eval()(x), model(x))


def test_resnet20_structure_is_traced_through_the_residual_adds():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to reading the layers as a chain
        structure = structure_of(build_model("resnet20-narrow", (1, 28, 28), 10))
    # 21 weighted layers (incl. two 1×1 projections); identity shortcuts add blocks that skip layers
    assert len(structure.blocks) > 21
    assert any(block.target - block.source > 1 for block in structure.blocks)
