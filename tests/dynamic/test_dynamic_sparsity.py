"""SET and RigL drop/grow updates, mask freezing and per-epoch snapshots (sparsewire.dynamic)."""

import pytest
import torch

from sparsewire.dynamic import (
    DynamicSparsity,
    DynamicSparsityError,
    drop_smallest,
    layer_densities,
    random_masks,
    sparse_init,
    steps_per_epoch,
)
from sparsewire.training import TrainConfig, train
from tests.dynamic.conftest import sparse, toy_data


def set_grads(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g)


@pytest.mark.parametrize("algorithm", ["set", "rigl"])
def test_layer_densities_constant_after_many_updates(algorithm):
    model, masks = sparse(0.2)
    before = masks.counts()
    dyn = DynamicSparsity(masks, algorithm, total_steps=1000, update_every=1, drop_fraction=0.5, schedule="constant")
    changed = 0
    for i in range(50):
        set_grads(model, seed=i)
        old = masks.state()
        dyn.post_step()
        changed += sum(int((old[n] != masks[n]).sum()) for n in masks)
        with torch.no_grad():  # the weights move, as in training
            for p in model.parameters():
                p.add_(0.01 * torch.randn_like(p))
            masks.apply()
    assert masks.counts() == before
    assert len(dyn.updates) == 50 and changed > 0


@pytest.mark.parametrize("algorithm", ["set", "rigl"])
def test_pruned_weights_stay_zero_and_regrown_start_at_zero_in_training(algorithm):
    model, masks = sparse(0.2)
    data = toy_data()
    cfg = TrainConfig(epochs=2, batch_size=32, optimizer="adam", lr=0.01)
    dyn = DynamicSparsity(masks, algorithm, total_steps=2 * steps_per_epoch(256, 32), update_every=3)
    seen_new = []

    def post_step(optimizer):
        old = masks.state()
        dyn.post_step(optimizer)
        for name, param, mask in masks.parameters():
            assert torch.all(param[~mask] == 0)  # pruned weights are exact zeros after every step
            new = mask & ~old[name]
            if new.any():
                seen_new.append(name)
                assert torch.all(param[new] == 0)  # regrown weights start at zero
                for value in optimizer.state[param].values():  # and with no optimizer history
                    if value.shape == param.shape:
                        assert torch.all(value[new] == 0)

    train(model, data, cfg, masks=masks, post_step=post_step, progress=False)
    assert seen_new
    for _, param, mask in masks.parameters():
        assert torch.all(param[~mask] == 0)
        assert param[mask].ne(0).float().mean() > 0.9  # and they have been trained since


def test_drop_smallest_removes_the_smallest_kept_weights():
    weight = torch.tensor([[0.5, -0.1, 3.0], [-0.05, 2.0, 0.01]])
    mask = torch.tensor([[True, True, True], [True, True, False]])  # 0.01 is not kept: cannot be dropped
    out = drop_smallest(weight, mask, 2)
    assert out.tolist() == [[True, False, True], [False, True, False]]


def test_set_update_drops_smallest_magnitude_and_grows_randomly():
    model, masks = sparse(0.3)
    name = "0.weight"
    param, old = masks.parameter(name), masks[name].clone()
    with torch.no_grad():
        param.copy_(torch.arange(param.numel(), dtype=torch.float32).view_as(param).flip(0) * old + 0)
        param[old] += 0.5  # distinct, nonzero magnitudes on the kept weights
    magnitudes = param.detach().abs().clone()
    kept = int(old.sum())
    k = round(0.25 * kept)
    dyn = DynamicSparsity(masks, "set", total_steps=10, drop_fraction=0.25, schedule="constant", seed=3)
    dyn.update(0.25)
    new = masks[name]
    survivors = old & new & (param != 0)  # kept and not re-grown (regrown weights are 0)
    threshold = torch.sort(magnitudes[old]).values[k]  # the (k+1)-th smallest kept magnitude
    assert int(survivors.sum()) == kept - k
    assert torch.all(magnitudes[survivors] >= threshold)
    assert torch.all(magnitudes[old & ~survivors] < threshold)
    # growth is random: two seeds grow different sets
    other_model, other_masks = sparse(0.3)
    with torch.no_grad():
        other_masks.parameter(name).copy_(magnitudes)
    DynamicSparsity(other_masks, "set", total_steps=10, drop_fraction=0.25, schedule="constant", seed=4).update(0.25)
    assert not torch.equal(other_masks[name], new)


def test_rigl_grows_at_the_largest_gradients():
    model, masks = sparse(0.3)
    set_grads(model)
    targets = {}
    for name, param, mask in masks.parameters():
        k = round(0.2 * int(mask.sum()))
        free = (~mask).nonzero()
        chosen = free[torch.randperm(len(free), generator=torch.Generator().manual_seed(7))[:k]]
        grad = torch.full_like(param, 1e-3) * torch.rand(param.shape)  # small everywhere
        grad[tuple(chosen.T)] = 10.0 + torch.arange(k, dtype=torch.float32)  # known largest among free
        param.grad = grad
        expected = torch.zeros_like(mask)
        expected[tuple(chosen.T)] = True
        targets[name] = expected
    old = masks.state()
    DynamicSparsity(masks, "rigl", total_steps=10, drop_fraction=0.2, schedule="constant").update(0.2)
    for name in masks:
        grown = masks[name] & ~old[name]
        assert torch.equal(grown, targets[name])


def test_no_update_after_freeze_epoch_and_stop_step():
    model, masks = sparse(0.2)
    data = toy_data()
    cfg = TrainConfig(epochs=3, batch_size=32)
    steps = steps_per_epoch(256, 32)
    dyn = DynamicSparsity(masks, "set", total_steps=3 * steps, update_every=2, freeze_epoch=1, schedule="constant")
    train(model, data, cfg, masks=masks, **dyn.hooks(), progress=False)
    assert dyn.updates and all(u.step <= steps and u.epoch == 0 for u in dyn.updates)
    assert len(dyn.updates) == steps // 2
    for name in masks:
        assert torch.equal(dyn.snapshots[0][name], dyn.snapshots[2][name])
        assert not torch.equal(dyn.initial[name], dyn.snapshots[0][name])

    model, masks = sparse(0.2)
    dyn = DynamicSparsity(masks, "set", total_steps=100, update_every=5, stop_step=12)
    for _ in range(40):
        dyn.post_step()
    assert [u.step for u in dyn.updates] == [5, 10]

    model, masks = sparse(0.2)
    static = DynamicSparsity(masks, "rigl", total_steps=100, update_every=1, freeze_epoch=0)
    for _ in range(10):
        static.post_step()
    assert static.updates == [] and torch.equal(masks["0.weight"], static.initial["0.weight"])


def test_snapshots_per_epoch_record_the_masks_then():
    model, masks = sparse(0.2)
    data = toy_data()
    cfg = TrainConfig(epochs=4, batch_size=64)
    dyn = DynamicSparsity(masks, "rigl", total_steps=4 * steps_per_epoch(256, 64), update_every=2)
    live = []
    train(model, data, cfg, masks=masks, post_step=dyn.post_step, progress=False,
          on_epoch=lambda e, m: (dyn.on_epoch(e, m), live.append(masks.state())))
    assert len(dyn.snapshots) == 4 == len(dyn.replaced_per_epoch())
    for snap, now in zip(dyn.snapshots, live, strict=True):
        assert all(snap[n].dtype == torch.bool and torch.equal(snap[n], now[n]) for n in masks)
    assert not torch.equal(dyn.snapshots[0]["0.weight"], dyn.snapshots[1]["0.weight"])  # copies, not views
    assert dyn.replaced_per_epoch()[0] > dyn.replaced_per_epoch()[-1]  # cosine-annealed drop fraction


def test_cosine_schedule():
    _, masks = sparse(0.2)
    dyn = DynamicSparsity(masks, "set", total_steps=100, drop_fraction=0.4)
    assert dyn.fraction_at(0) == pytest.approx(0.4)
    assert dyn.fraction_at(50) == pytest.approx(0.2)
    assert dyn.fraction_at(100) == 0.0


def test_initial_masks_uniform_and_erk():
    _, masks = sparse(1.0)
    uniform = random_masks(masks, 0.1, generator=torch.Generator().manual_seed(0))
    assert [int(m.sum()) for m in uniform.values()] == [60, 12]
    shapes = {"a": (100, 784), "b": (10, 100)}
    erk = layer_densities(shapes, 0.1, "erk")
    total = sum(d * torch.tensor(s).prod().item() for d, s in zip(erk.values(), shapes.values(), strict=True))
    assert total == pytest.approx(0.1 * (78400 + 1000))
    assert erk["b"] > erk["a"]
    capped = layer_densities(shapes, 0.5, "erk")
    assert capped["b"] == 1.0 and 0 < capped["a"] < 0.5


@pytest.mark.parametrize("density", [0, -0.1, 1.5, float("nan")])
def test_bad_density(density):
    _, masks = sparse(1.0)
    with pytest.raises(DynamicSparsityError, match="density must be in"):
        sparse_init(masks, density)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 2])
def test_bad_drop_fraction(fraction):
    _, masks = sparse(0.2)
    with pytest.raises(DynamicSparsityError, match="drop_fraction must be in"):
        DynamicSparsity(masks, "set", total_steps=10, drop_fraction=fraction)


def test_bad_algorithm_and_settings():
    _, masks = sparse(0.2)
    with pytest.raises(DynamicSparsityError, match="unknown dynamic sparse algorithm 'snip'"):
        DynamicSparsity(masks, "snip", total_steps=10)
    with pytest.raises(DynamicSparsityError, match="update_every"):
        DynamicSparsity(masks, "set", total_steps=10, update_every=0)
    with pytest.raises(DynamicSparsityError, match="unknown distribution"):
        random_masks(masks, 0.1, "lognormal")
    model, masks = sparse(0.2)
    with pytest.raises(DynamicSparsityError, match="dense gradient"):
        DynamicSparsity(masks, "rigl", total_steps=10).update(0.3)  # no backward pass yet
