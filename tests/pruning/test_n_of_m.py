"""N:M allocation: N of every M consecutive weights along the input dimension, any score, presets and checks."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import sparsewire
from sparsewire.inference.semi_structured import is_n_of_m, to_semi_structured
from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.models.conv import LeNet5
from sparsewire.pruning import resolve_method
from sparsewire.pruning.allocation import n_of_m


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 6), groups=st.integers(1, 5), nm=st.sampled_from([(2, 4), (1, 4), (4, 8), (1, 2)]),
       seed=st.integers(0, 1000))
def test_keeps_top_n_of_every_group(rows, groups, nm, seed):
    n, m = nm
    model = nn.Linear(groups * m, rows)
    masks = Masks(model)
    scores = {"weight": torch.rand(rows, groups * m, generator=torch.Generator().manual_seed(seed))}
    kept = n_of_m(scores, masks, n=n, m=m)["weight"]
    grouped = kept.reshape(rows, groups, m)
    assert bool((grouped.sum(-1) == n).all())
    s = scores["weight"].reshape(rows, groups, m)
    lowest_kept = torch.where(grouped, s, torch.inf).amin(-1)
    highest_dropped = torch.where(grouped, -torch.inf, s).amax(-1)
    assert bool((lowest_kept > highest_dropped).all()) or n == m


def test_pruned_weights_stay_pruned_and_partial_groups():
    model = nn.Linear(6, 2)
    masks = Masks(model)
    masks.update({"weight": torch.tensor([[0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)})
    kept = n_of_m({"weight": torch.arange(12.0).reshape(2, 6)}, masks, n=2, m=4)["weight"]
    assert kept.tolist() == [[False, False, False, True, True, True], [False, False, True, True, True, True]]


@pytest.mark.parametrize("method", ["2:4", "magnitude/2:4", "random/2:4", "1:4", "magnitude/4:8"])
def test_prune_methods(method):
    torch.manual_seed(0)
    model = MLP([16, 8, 4])
    density = resolve_method(method).fixed_density
    masks = sparsewire.prune(model, 1 - density, method)
    assert masks.density() == pytest.approx(density)
    n, m = method.rpartition("/")[2].split(":")
    assert all(is_n_of_m(layer.weight, int(n), int(m)) for layer in model.layers)


def test_conv_groups_along_flattened_input():
    model = LeNet5()
    masks = sparsewire.prune(model, 0.5, "2:4")
    conv = masks["features.3.weight"].reshape(16, 150)  # groups over in × kernel = 6·5·5 = 150 = 37·4 + 2
    assert bool((conv[:, :148].reshape(16, 37, 4).sum(-1) == 2).all())
    assert bool(conv[:, 148:].all())  # the trailing partial group keeps (at most) 2
    assert is_n_of_m(model.classifier[1].weight)


def test_errors():
    model = MLP([8, 4])
    with pytest.raises(ValueError, match="compression 0.5"):
        sparsewire.prune(model, 0.9, "2:4")
    with pytest.raises(ValueError, match="N:M"):
        resolve_method("magnitude/5:4")
    with pytest.raises(ValueError, match="N:M"):
        resolve_method("magnitude/3-4")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_semi_structured_needs_cuda():
    with pytest.raises(RuntimeError, match="CUDA"):
        to_semi_structured(MLP([8, 4]))
