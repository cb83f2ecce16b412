"""SNFS and DNW behind the shared mask-updater contract, the shared selection code, early freezing and its
cost accounting (sparsewire.dynamic)."""

import pytest
import torch
from torch import nn

from sparsewire.dynamic import (
    ALGORITHMS,
    DNW,
    SNFS,
    DynamicSparsity,
    Phase,
    phases_cost,
    steps_per_epoch,
    training_cost,
    weight_uses,
)
from sparsewire.masks import Masks
from sparsewire.masks.select import highest
from sparsewire.training import TrainConfig, train
from tests.dynamic.conftest import mlp, sparse, toy_data

ALL = sorted(ALGORITHMS)


def run(algorithm, *, epochs=3, density=0.2, optimizer="adam", lr=0.01, check=None, **options):
    """Train the toy MLP with ``algorithm``; ``check(dyn, optimizer)`` runs after every step's update."""
    model, masks = sparse(density)
    steps = epochs * steps_per_epoch(256, 32)
    dyn = DynamicSparsity(masks, algorithm, total_steps=steps, **{"update_every": 2, "drop_fraction": 0.3, **options})

    def post_step(opt):
        dyn.post_step(opt)
        if check is not None:
            check(dyn, opt)

    cfg = TrainConfig(epochs=epochs, batch_size=32, optimizer=optimizer, lr=lr)
    train(model, toy_data(), cfg, masks=masks, post_step=post_step, on_epoch=dyn.on_epoch, progress=False)
    return model, masks, dyn


def test_every_algorithm_names_its_scores_and_schedule():
    for name, cls in ALGORITHMS.items():
        assert cls.name == name
        assert cls.drop_score and cls.grow_score and cls.schedule
        assert cls.cadence in ("steps", "epoch", "every-step")
    assert [ALGORITHMS[n].dense_gradient for n in ("set", "rigl", "snfs", "dnw")] == [
        "never", "at-updates", "every-step", "every-step"]
    grow = {cls.grow_scores for cls in ALGORITHMS.values()}
    assert len(grow) == len(ALGORITHMS)  # no algorithm is another's copy


# ---------------------------------------------------------------------------- invariants in training
@pytest.mark.parametrize("algorithm", ALL)
def test_density_counts_and_masks_enforced_after_every_step(algorithm):
    model, masks = sparse(0.2)
    per_layer, total = masks.counts(), masks.remaining()

    def check(dyn, opt):
        for _, param, mask in dyn.masks.parameters():
            assert torch.all(param[~mask] == 0)  # masks enforced after each step
        assert dyn.masks.remaining() == total  # density kept exactly (all algorithms: the total)
        if algorithm != "snfs":
            assert dyn.masks.counts() == per_layer  # and per layer, except SNFS which redistributes

    _, masks, dyn = run(algorithm, check=check)
    updates = [u for u in dyn.updates if u.dropped]
    assert updates and sum(u.replaced for u in dyn.updates) > 0
    for u in updates:
        assert sum(u.dropped.values()) == sum(u.grown.values())  # dropped = grown over the network
        if algorithm != "snfs":
            assert u.dropped == u.grown  # and per layer
    assert masks.counts() == per_layer or algorithm == "snfs"


def test_snfs_redistributes_by_mean_momentum_of_the_kept_weights_and_grows_at_the_largest_momentum():
    model, masks = sparse(0.2)
    algo = SNFS()
    dyn = DynamicSparsity(masks, algo, total_steps=100, drop_fraction=0.5, schedule="constant")
    first, second = "0.weight", "2.weight"
    g = torch.Generator().manual_seed(3)
    for name in masks:
        algo.momentum[name] = 0.01 * torch.rand(masks[name].shape, generator=g)
    algo.momentum[first][masks[first]] *= 10.0  # layer 0's kept weights carry 10x the momentum
    free = ~masks[first]
    target = free.flatten().nonzero().flatten()[:40]
    algo.momentum[first].view(-1)[target] = 1.0 + torch.arange(40, dtype=torch.float32)  # known largest free
    shares = algo.contributions(dyn)
    assert sum(shares.values()) == pytest.approx(1.0) and shares[first] > shares[second]
    before, total = masks.state(), masks.remaining()
    counts = algo.counts(dyn, 0.5)
    update = dyn.update(0.5)
    assert masks.remaining() == total  # redistribution conserves the total
    assert update.dropped == {n: round(0.5 * int(before[n].sum())) for n in masks}
    assert sum(update.grown.values()) == sum(update.dropped.values())
    assert update.grown == {n: c[1] for n, c in counts.items()}
    expected_first = round(sum(update.dropped.values()) * shares[first])
    assert abs(update.grown[first] - expected_first) <= 1  # shares by momentum contribution
    assert update.grown[first] > update.dropped[first] and update.grown[second] < update.dropped[second]
    grown_first = masks[first] & ~before[first]
    top = masks[first].view(-1)[target[-min(40, update.grown[first]):]]
    assert top.all()  # grown where |momentum| is largest
    assert int(grown_first.sum()) <= update.grown[first]


def test_snfs_updates_at_epoch_ends_with_the_cosine_prune_rate_and_needs_momentum():
    _, _, dyn = run("snfs", epochs=4, drop_fraction=0.5)
    spe = steps_per_epoch(256, 32)
    assert [u.step for u in dyn.updates] == [spe, 2 * spe, 3 * spe]  # not after the last epoch
    for u in dyn.updates:
        assert u.drop_fraction == pytest.approx(0.25 * (1 + torch.cos(torch.tensor(torch.pi * u.step / (4 * spe)))).item())
    assert dyn.dense_gradient_steps == 4 * spe and dyn.algorithm.momentum == {}  # dropped at the end
    model, masks = sparse()
    with pytest.raises(Exception, match="dense gradient"):
        DynamicSparsity(masks, "snfs", total_steps=10).post_step()


def test_dnw_forward_uses_the_top_k_latent_weights_and_the_gradient_reaches_pruned_weights():
    model = mlp(0)
    masks = Masks(model)
    dense_init = {n: masks.parameter(n).detach().clone() for n in masks}  # before sparse_init zeroes it
    counts = {n: int(0.2 * m.numel()) for n, m in masks.items()}
    masks.update({n: highest(torch.rand(m.shape), torch.ones_like(m), counts[n]) for n, m in masks.items()})
    algo = DNW(dense_init)
    dyn = DynamicSparsity(masks, algo, total_steps=100)
    for name, param, mask in masks.parameters():  # initial mask: top-k |w| of the dense initialisation
        assert torch.equal(mask, highest(dense_init[name].abs(), torch.ones_like(mask), counts[name]))
        assert torch.equal(param, dense_init[name] * mask)
    x, y = toy_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    masks.bind(opt)
    for _ in range(5):
        latent = {n: t.clone() for n, t in algo.latent.items()}
        effective = {n: masks.parameter(n).detach().clone() for n in masks}
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        # the straight-through gradient is the gradient of the loss w.r.t. the effective (masked) weights
        w0 = effective["0.weight"].requires_grad_()
        w2 = effective["2.weight"].requires_grad_()
        h = torch.relu(x @ w0.T + model[0].bias.detach())
        ref = torch.autograd.grad(nn.functional.cross_entropy(h @ w2.T + model[2].bias.detach(), y), [w0, w2])
        loss.backward()
        opt.step()
        dyn.post_step(opt)
        for (name, param, mask), grad in zip(masks.parameters(), ref, strict=True):
            expected = latent[name] - 0.5 * grad
            assert torch.allclose(algo.latent[name], expected, atol=1e-6)  # every weight moved, pruned ones too
            assert (algo.latent[name][~dyn.initial[name]] != latent[name][~dyn.initial[name]]).any()
            assert torch.equal(mask, highest(algo.latent[name].abs(), torch.ones_like(mask), counts[name]))
            assert torch.equal(param, algo.latent[name] * mask)  # forward: the top-k latent weights
    assert sum(u.replaced for u in dyn.updates) > 0 and dyn.dense_gradient_steps == 5
    dyn.close()
    before = {n: masks.parameter(n).detach().clone() for n in masks}
    nn.functional.cross_entropy(model(x), y).backward()  # closed: a backward leaves the weights alone
    assert all(torch.equal(masks.parameter(n), before[n]) for n in masks)


def test_dnw_enforces_the_mask_when_no_connection_swaps():
    def check(dyn, opt):
        assert all(torch.all(param[~mask] == 0) for _, param, mask in dyn.masks.parameters())

    _, _, dyn = run("dnw", epochs=1, optimizer="sgd", lr=1e-12, check=check)  # weights barely move: no swap
    assert dyn.updates and sum(u.replaced for u in dyn.updates) == 0


# ---------------------------------------------------------------------------- early freeze and its cost
@pytest.mark.parametrize("algorithm", ALL)
def test_freezing_stops_updates_and_dense_gradients(algorithm):
    spe = steps_per_epoch(256, 32)
    _, _, never = run(algorithm, epochs=3)
    _, masks, frozen = run(algorithm, epochs=3, freeze_epoch=1)
    assert all(u.epoch == 0 for u in frozen.updates if u.dropped)
    for name in masks:
        assert torch.equal(frozen.snapshots[0][name], frozen.snapshots[2][name])
    expected = {"set": 0, "rigl": spe // 2, "snfs": spe, "dnw": spe}[algorithm]
    assert frozen.dense_gradient_steps == expected
    assert never.dense_gradient_steps == never.dense_gradient_steps_unfrozen() == frozen.dense_gradient_steps_unfrozen()
    if algorithm in ("snfs", "dnw"):
        assert never.dense_gradient_steps == 3 * spe
    if algorithm == "snfs":
        assert [u.step for u in frozen.updates] == [spe]  # the epoch-1 update, then frozen


def test_training_cost_counts_flops_saved():
    model, masks = sparse(0.25)
    uses = weight_uses(masks, toy_data()[0][:8])
    assert uses == {"0.weight": 1, "2.weight": 1}
    n = {k: int(m.sum()) for k, m in masks.items()}
    cost = training_cost(masks, uses, examples=1000, steps=10, dense_steps=2, dense_steps_unfrozen=10)
    extra = sum(m.numel() - n[k] for k, m in masks.items()) * 2
    assert cost.train_flops == pytest.approx(1000 * 6 * sum(n.values()) + 2 * 100 * extra)
    assert cost.flops_saved == pytest.approx(8 * 100 * extra) and cost.dense_gradient_steps_saved == 8
    assert 0 < cost.flops_saved_fraction < 1
    conv = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    assert weight_uses(Masks(conv), torch.zeros(2, 1, 8, 8)) == {"0.weight": 36, "2.weight": 1}


def test_a_run_of_several_phases_costs_each_at_its_own_density():
    model, masks = sparse(0.25)
    uses = weight_uses(masks, toy_data()[0][:8])
    kept = {k: int(m.sum()) for k, m in masks.items()}
    sizes = {k: m.numel() for k, m in masks.items()}
    sparse_only = phases_cost([Phase(kept, 1000, 10, dense_gradient=False)], kept, sizes, uses)
    alone = training_cost(masks, uses, examples=1000, steps=10, dense_steps=0, dense_steps_unfrozen=0)
    assert sparse_only == alone  # one sparse training: the same count as a static run
    dense = Phase(sizes, 1000, 10, dense_gradient=True)
    imp = phases_cost([dense, Phase(kept, 1000, 10, dense_gradient=False)], kept, sizes, uses)
    assert imp.train_flops == pytest.approx(1000 * 6 * (sum(sizes.values()) + sum(kept.values())))
    assert imp.dense_gradient_steps == 10
    assert imp.dense_gradient_flops == pytest.approx(1000 * 2 * (sum(sizes.values()) - sum(kept.values())))
    shorter = phases_cost([Phase(sizes, 300, 3, dense_gradient=True), Phase(kept, 1000, 10, dense_gradient=False)],
                          kept, sizes, uses, unfrozen=[dense, Phase(kept, 1000, 10, dense_gradient=False)])
    assert shorter.flops_saved == pytest.approx(imp.train_flops - shorter.train_flops)
    assert shorter.flops_saved > 0
    assert shorter.flops_saved_fraction == pytest.approx(shorter.flops_saved / imp.train_flops)
    assert shorter.dense_gradient_steps_saved == 7
