"""Interop with torch.nn.utils.prune: import its *_orig/*_mask pairs into Masks and export them back, losslessly."""

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from sparsewire import Masks, prune
from sparsewire.masks import MaskError, from_torch_prune, to_torch_prune


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 16), nn.ReLU(),
                         nn.Linear(16, 3))


def _pruned_by_torch():
    model = _model()
    torch_prune.global_unstructured([(model[0], "weight"), (model[3], "weight")],
                                    pruning_method=torch_prune.L1Unstructured, amount=0.6)
    torch_prune.random_unstructured(model[5], "weight", amount=0.5)
    torch_prune.l1_unstructured(model[5], "weight", amount=0.2)  # a PruningContainer: two masks combined
    return model


def test_import_from_torch_pruning_keeps_masks_weights_and_function():
    model = _pruned_by_torch()
    x = torch.randn(5, 1, 8, 8)
    expected = model(x)
    torch_masks = {f"{i}.weight": model[i].weight_mask.clone() for i in (0, 3, 5)}
    effective = {f"{i}.weight": model[i].weight.detach().clone() for i in (0, 3, 5)}
    masks = from_torch_prune(model)
    assert sorted(masks) == sorted(torch_masks)
    for name, mask in masks.items():
        assert mask.dtype == torch.bool and torch.equal(mask, torch_masks[name].bool()), name
        assert torch.equal(masks.parameter(name), effective[name]), name
    assert not any(n.endswith("_orig") for n, _ in model.named_parameters())
    assert all(not m._forward_pre_hooks for m in model.modules())
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    masks.bind(optimizer)
    for _ in range(2):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
    for name, param, mask in masks.parameters():  # sparsewire keeps them pruned under training
        assert not param[~mask].any(), name


def test_export_to_torch_pruning_and_back_is_lossless():
    model = _model()
    masks = prune(model, 0.7, "class-uniform")
    state = {n: m.clone() for n, m in masks.items()}
    weights = {n: masks.parameter(n).detach().clone() for n in masks}
    x = torch.randn(5, 1, 8, 8)
    expected = model(x)
    to_torch_prune(masks)
    for name in state:
        module = model.get_submodule(name.rpartition(".")[0])
        assert torch_prune.is_pruned(module)
        assert torch.equal(module.weight_mask.bool(), state[name])
        assert torch.equal(module.weight, weights[name])
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)
    back = from_torch_prune(model)
    assert all(torch.equal(back[n], state[n]) for n in state)
    assert all(torch.equal(back.parameter(n), weights[n]) for n in state)
    assert Masks.of(model).density() == pytest.approx(0.3, abs=0.01)


def test_state_dicts_round_trip_through_torch_pruning():
    model = _pruned_by_torch()
    torch_state = {k: v.clone() for k, v in model.state_dict().items()}
    from_torch_prune(model)
    to_torch_prune(Masks.of(model))
    again = model.state_dict()
    assert sorted(again) == sorted(torch_state)
    for key, value in torch_state.items():
        if key.endswith("_orig"):  # under a zero mask sparsewire keeps zeros, not the unread original values
            mask = torch_state[key.replace("_orig", "_mask")].bool()
            assert torch.equal(again[key][mask], value[mask]) and not again[key][~mask].any()
        else:
            assert torch.equal(again[key], value), key


def test_clear_errors():
    with pytest.raises(MaskError, match="has not pruned"):
        from_torch_prune(_model())
    masked = _model()
    Masks(masked)
    with pytest.raises(MaskError, match="already carries"):
        from_torch_prune(masked)
    model = _pruned_by_torch()
    masks = from_torch_prune(model)
    torch_prune.l1_unstructured(model[3], "bias", amount=0.5)  # torch prunes another tensor meanwhile: fine
    to_torch_prune(masks)
    assert torch_prune.is_pruned(model[3]) and hasattr(model[3], "bias_orig") and hasattr(model[3], "weight_orig")
