import copy
import io
import pickle

import pytest
import torch
from torch import nn

from sparsewire.masks import EmptyLayerWarning, MaskError, Masks, strip_masks
from sparsewire.models import LeNet5, lenet_300_100


def random_masks(masks: Masks, density: float = 0.3, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {n: torch.rand(m.shape, generator=g) < density for n, m in masks.items()}


def pruned_model(density: float = 0.3):
    model = lenet_300_100()
    masks = Masks(model)
    masks.update(random_masks(masks, density))
    return model, masks


def test_default_selection_masks_weights_not_biases():
    model = lenet_300_100()
    masks = Masks(model)
    assert list(masks) == ["layers.0.weight", "layers.1.weight", "layers.2.weight"]
    assert all(m.dtype == torch.bool and bool(m.all()) for m in masks.values())


@pytest.mark.parametrize(
    "module, expected",
    [
        (nn.LSTM(4, 6, num_layers=2), {"weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"}),
        (nn.GRU(4, 6), {"weight_ih_l0", "weight_hh_l0"}),
        (nn.RNN(4, 6, bidirectional=True), {"weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse"}),
        (nn.Embedding(10, 3), {"weight"}),
        (nn.Conv1d(2, 3, 3), {"weight"}),
    ],
)
def test_other_layer_types(module, expected):
    masks = Masks(module)
    assert set(masks) == expected
    masks.update(random_masks(masks))
    for _, param, mask in masks.parameters():
        assert bool((param[~mask] == 0).all())


def test_custom_selection_by_regex_and_names():
    model = lenet_300_100()
    assert list(Masks(copy.deepcopy(model), prunable=r"layers\.[01]\.weight")) == ["layers.0.weight", "layers.1.weight"]
    assert list(Masks(copy.deepcopy(model), prunable=["layers.2.bias"])) == ["layers.2.bias"]


def test_nothing_prunable_is_an_error():
    with pytest.raises(MaskError, match="no prunable parameter"):
        Masks(nn.Sequential(nn.ReLU(), nn.Flatten()))


def test_existing_masks_are_read_back_not_reset():
    model, masks = pruned_model()
    again = Masks(model)
    assert all(torch.equal(again[n], masks[n]) for n in masks)
    with pytest.raises(MaskError):
        Masks(model, prunable=["layers.0.weight"])


def test_bad_mask_shape():
    model, masks = pruned_model()
    with pytest.raises(MaskError, match="shape"):
        masks.update({"layers.0.weight": torch.ones(3, 3, dtype=torch.bool)})


def test_density_and_sparsity_are_complements():
    model, masks = pruned_model(0.3)
    assert masks.density() + masks.sparsity() == pytest.approx(1.0)
    kept = sum(int(m.sum()) for m in masks.values())
    assert masks.remaining() == kept
    assert masks.density() == pytest.approx(kept / masks.total())
    assert 0.25 < masks.density() < 0.35


def test_empty_layer_is_reported():
    model = lenet_300_100()
    masks = Masks(model)
    with pytest.warns(EmptyLayerWarning, match="layers.1.weight"):
        masks.update({"layers.1.weight": torch.zeros(100, 300, dtype=torch.bool)})
    assert masks.empty_layers() == ["layers.1.weight"]


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda p: torch.optim.Adam(p, lr=1e-2),
        lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
        lambda p: torch.optim.RMSprop(p, lr=1e-2, momentum=0.5),
    ],
    ids=["sgd-momentum-wd", "nesterov", "adam", "adamw", "rmsprop"],
)
def test_pruned_weights_stay_exactly_zero_under_optimizers(make_opt):
    model, masks = pruned_model(0.3)
    opt = make_opt(model.parameters())
    masks.bind(opt)
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
    for _ in range(50):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for name, param, mask in masks.parameters():
        assert bool((param[~mask] == 0).all()), name
        assert bool((param[mask] != 0).any()), name  # survivors still train


def test_gradients_stay_dense():
    model, masks = pruned_model(0.3)
    x, y = torch.randn(16, 784), torch.randint(0, 10, (16,))
    nn.functional.cross_entropy(model(x), y).backward()
    grad = model.layers[0].weight.grad
    assert bool((grad[~masks["layers.0.weight"]] != 0).any())
    masks.mask_gradients()
    assert bool((grad[~masks["layers.0.weight"]] == 0).all())


def test_state_dict_roundtrip_is_strict():
    model, masks = pruned_model()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    fresh = lenet_300_100()
    Masks(fresh)
    fresh.load_state_dict(torch.load(buf), strict=True)
    restored = Masks.of(fresh)
    for name in masks:
        assert torch.equal(restored[name], masks[name])
        assert torch.equal(restored.parameter(name), masks.parameter(name))


def test_deepcopy_and_pickle_keep_masks_and_function():
    model, masks = pruned_model()
    x = torch.randn(5, 784)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert torch.equal(clone(x), model(x))
        cm = Masks.of(clone)
        assert all(torch.equal(cm[n], masks[n]) for n in masks)
        assert cm[next(iter(cm))].data_ptr() != masks[next(iter(masks))].data_ptr()


def test_export_plain_module_with_zeros():
    model, masks = pruned_model()
    plain = strip_masks(model)
    assert not Masks.is_masked(plain)
    assert set(plain.state_dict()) == set(lenet_300_100().state_dict())
    x = torch.randn(5, 784)
    assert torch.equal(plain(x), model(x))
    assert bool((plain.layers[0].weight[~masks["layers.0.weight"]] == 0).all())


def test_masks_move_with_the_model_dtype():
    model, masks = pruned_model()
    model.double()
    assert masks["layers.0.weight"].dtype == torch.bool
    masks.apply()


def test_conv_masks():
    model = LeNet5()
    masks = Masks(model)
    assert len(masks) == 5
    masks.update(random_masks(masks, 0.5))
    out = model(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)


def _fill(masks: Masks, value: float = 1.0) -> None:
    with torch.no_grad():
        for _, param, _ in masks.parameters():
            param.fill_(value)


def _zeros_where_pruned(masks: Masks) -> bool:
    return all(bool((p[~m] == 0).all()) and bool((p[m] != 0).all()) for _, p, m in masks.parameters())


def test_apply_follows_every_change_of_masks_and_parameters():
    """apply() caches (parameter, multiplier) pairs; each way a mask or parameter can change rebuilds them."""
    model, masks = pruned_model()
    masks.apply()  # builds the cache
    name = "layers.0.weight"

    masks.update(random_masks(masks, 0.5, seed=1))  # through the API
    _fill(masks)
    masks.apply()
    assert _zeros_where_pruned(masks)

    with torch.no_grad():
        masks[name][0, :] = False  # in place, behind the API's back
    _fill(masks)
    masks.apply()
    assert bool((model.layers[0].weight[0] == 0).all()) and _zeros_where_pruned(masks)

    other, other_masks = pruned_model(0.7)
    model.load_state_dict(other.state_dict())  # copies masks and weights in place
    _fill(masks)
    masks.apply()
    assert torch.equal(masks[name], other_masks[name]) and _zeros_where_pruned(masks)

    with torch.no_grad():
        model.layers[0].weight.data = torch.ones_like(model.layers[0].weight)  # new storage
    masks.apply()
    assert _zeros_where_pruned(masks)

    replacement = nn.Linear(784, 300)  # a swapped submodule with its own mask
    replacement.register_buffer("weight_mask", torch.rand(300, 784, generator=torch.Generator().manual_seed(3)) < 0.2)
    model.layers[0] = replacement
    _fill(masks)
    masks.apply()
    assert masks[name] is replacement.weight_mask and _zeros_where_pruned(masks)

    model.double()  # dtype (and storage) change
    _fill(masks)
    masks.apply()
    assert model.layers[0].weight.dtype == torch.float64 and _zeros_where_pruned(masks)


def test_pickled_masks_object_drops_its_cache():
    model, masks = pruned_model()
    masks.apply()
    clone = pickle.loads(pickle.dumps(masks))
    _fill(clone)
    clone.apply()
    assert _zeros_where_pruned(clone)
    assert clone.model is not masks.model and all(torch.equal(clone[n], masks[n]) for n in masks)
