import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.pruning import further_pruning, further_pruning_with_recalibration, prune, pruned_further
from sparsewire.training import evaluate


def data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 20, generator=g), torch.randint(0, 5, (n,), generator=g)


def sparse_model(compression=0.5, seed=0):
    torch.manual_seed(seed)
    model = MLP([20, 30, 10, 5])
    prune(model, compression, "random", generator=torch.Generator().manual_seed(seed))
    return model


@settings(max_examples=20, deadline=None)
@given(compression=st.floats(0.0, 0.9), fraction=st.floats(0.01, 0.99))
def test_removes_the_fraction_of_what_remains(compression, fraction):
    model = sparse_model(compression)
    masks = Masks.of(model)
    kept, total = masks.remaining(), masks.total()
    clone = Masks.of(pruned_further(model, fraction))
    target = masks.sparsity() + fraction * (1 - masks.sparsity())
    assert clone.remaining() == total - round(target * total)
    assert clone.remaining() <= kept
    for name, m in clone.items():  # survivors are a subset: nothing revives
        assert not (m.bool() & ~masks[name].bool()).any(), name


def test_class_blinded_keeps_the_largest_survivors():
    model = sparse_model(0.5)
    masks = Masks.of(model)
    clone = pruned_further(model, 0.4)
    cmasks = Masks.of(clone)
    kept = torch.cat([p.detach().abs()[cmasks[n].bool()] for n, p, _ in cmasks.parameters()])
    removed = torch.cat([p.detach().abs()[masks[n].bool() & ~cmasks[n].bool()]
                         for n, p, _ in Masks.of(model).parameters()])
    assert removed.numel() > 0 and kept.min() >= removed.max()


def test_model_is_left_unchanged():
    model = sparse_model(0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    further_pruning(model, data(), [0.3, 0.9, 1.0])
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_curve_matches_pruned_copies_and_full_removal_leaves_biases():
    model, d = sparse_model(0.5), data()
    curve = further_pruning(model, d, [0.8, 0.2, 1.0])  # returned in sorted order
    expected = [evaluate(pruned_further(model, f), d)["accuracy"] for f in (0.2, 0.8, 1.0)]
    assert curve == expected
    empty = pruned_further(model, 1.0)
    assert Masks.of(empty).remaining() == 0
    with torch.no_grad():  # no weight left: every input gets the same output (the biases' path)
        out = empty(d[0])
    assert torch.allclose(out, out[:1].expand_as(out))


def test_unmasked_model_counts_as_dense():
    torch.manual_seed(0)
    model = MLP([20, 30, 5])
    clone = pruned_further(model, 0.5)
    assert Masks.of(clone).sparsity() == pytest.approx(0.5, abs=1e-3)
    assert not Masks.is_masked(model)


@pytest.mark.parametrize("bad", [[0.0], [-0.1], [1.5], [float("nan")]])
def test_bad_fractions_refused(bad):
    with pytest.raises(ValueError, match="fractions of the remaining weights"):
        further_pruning(sparse_model(), data(), bad)


def test_data_driven_methods_refused():
    with pytest.raises(ValueError, match="no training data"):
        further_pruning(sparse_model(), data(), [0.5], method="obd")


def test_recalibrated_points_re_estimate_batch_norm_on_each_pruned_copy_only():
    from torch import nn

    from sparsewire.training import recalibrate_norms

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 30), nn.BatchNorm1d(30), nn.ReLU(), nn.Linear(30, 4))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 20, generator=g)  # one batch of 256: the cumulative average is the plain mean
    data = (x, x[:, :4].argmax(1))
    recalibrate_norms(model, data)
    Masks(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    got = further_pruning(model, data, [0.5, 0.9], recalibrate_on=data)
    want = []
    for f in (0.5, 0.9):
        copy = pruned_further(model, f)
        recalibrate_norms(copy, data)
        want.append(evaluate(copy, data)["accuracy"])
    assert got == want
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # the model is untouched
    both = further_pruning_with_recalibration(model, data, [0.9, 0.5], data)  # one copy per fraction, both curves
    assert both == (further_pruning(model, data, [0.5, 0.9]), want)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    stale = further_pruning(model, data, [0.9])
    copy = pruned_further(model, 0.9)
    with torch.no_grad():
        hidden = copy[0](x)
    recalibrate_norms(copy, data)
    assert torch.allclose(copy[1].running_mean, hidden.mean(0), atol=1e-5)  # statistics of the pruned network
    assert isinstance(stale[0], float)
