"""Lottery tickets: IMP with rewinding (Frankle & Carbin 2019) and early-bird tickets (You et al. 2020)."""

import copy

import pytest
import torch

import sparsewire.pruning.lottery as lottery
from sparsewire.masks import Masks
from sparsewire.pruning import prune
from sparsewire.pruning.lottery import (
    early_bird_ticket,
    find_ticket,
    magnitude_mask,
    round_counts,
    round_densities,
)
from sparsewire.training import TrainConfig, train
from tests.dynamic.conftest import mlp, toy_data

RECIPE = TrainConfig(epochs=3, batch_size=32, lr=1e-2, restore_best=False)


def test_round_densities_keep_the_same_fraction_each_round_and_end_exactly_at_the_density():
    steps = round_densities(0.1, 4)
    assert len(steps) == 4 and steps[-1] == 0.1
    ratios = [b / a for a, b in zip([1.0, *steps], steps, strict=False)]
    assert ratios == pytest.approx([0.1 ** 0.25] * 4)
    assert round_densities(0.3, 1) == [0.3]
    with pytest.raises(ValueError, match="at least one round"):
        round_densities(0.1, 0)


def test_imp_rounds_nest_reach_the_density_and_rewind_the_survivors(monkeypatch):
    starts = []  # the weights every training starts from, seen by a wrapper around train()

    def recording_train(model, *args, **kwargs):
        starts.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return train(model, *args, **kwargs)

    monkeypatch.setattr(lottery, "train", recording_train)
    model = mlp()
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ticket = find_ticket(model, toy_data(), RECIPE, density=0.1, rounds=3, seed=0, progress=False)
    assert len(ticket.results) == len(ticket.states) == len(starts) == 4  # dense + 3 rounds
    assert ticket.densities[0] == 1.0 and ticket.densities[1:] == pytest.approx(round_densities(0.1, 3), abs=0.01)
    for mask in ticket.masks.values():
        assert int(mask.sum()) == mask.numel() - round(0.9 * mask.numel())  # uniform: exactly, in every layer
    for before, after in zip(ticket.states, ticket.states[1:], strict=False):
        assert all(not (after[n] & ~before[n]).any() for n in after)  # never revives a pruned weight
        assert sum(int(m.sum()) for m in after.values()) < sum(int(m.sum()) for m in before.values())
    for state, start in zip(ticket.states[1:], starts[1:], strict=True):
        for name, mask in state.items():
            assert torch.equal(start[name][mask], init[name][mask])  # rewound to the initial weights
            assert not start[name][~mask].any()
        assert torch.equal(start["0.bias"], init["0.bias"])
    assert ticket.kept == round_counts(mlp(), 0.1, 3)  # the counts follow from the allocation alone


def test_imp_is_deterministic_by_seed():
    a, b = mlp(), mlp()
    ta = find_ticket(a, toy_data(), RECIPE, density=0.2, rounds=2, seed=1, progress=False)
    tb = find_ticket(b, toy_data(), RECIPE, density=0.2, rounds=2, seed=1, progress=False)
    assert all(torch.equal(ta.masks[n], tb.masks[n]) for n in ta.masks)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    other = find_ticket(mlp(), toy_data(), RECIPE, density=0.2, rounds=2, seed=2, progress=False)
    assert any(not torch.equal(ta.masks[n], other.masks[n]) for n in ta.masks)  # another batch order


def test_the_last_early_bird_is_the_one_shot_magnitude_mask_of_the_trained_dense_network():
    ticket = find_ticket(mlp(), toy_data(), RECIPE, density=0.15, rounds=2, seed=0, progress=False)
    assert len(ticket.early_birds) == RECIPE.epochs + 1
    dense = mlp()
    train(dense, toy_data(), RECIPE, seed=0, progress=False)
    one_shot = prune(dense, 0.85, "magnitude/class-uniform")
    assert all(torch.equal(ticket.early_birds[-1][n], one_shot[n]) for n in one_shot)
    one_round = find_ticket(mlp(), toy_data(), RECIPE, density=0.15, rounds=1, seed=0, progress=False)
    assert all(torch.equal(one_round.masks[n], one_shot[n]) for n in one_shot)  # one round = one-shot pruning


def test_an_early_bird_ticket_follows_the_dense_training_up_to_its_epoch_and_trains_that_mask():
    full = find_ticket(mlp(), toy_data(), RECIPE, density=0.15, rounds=2, seed=0, progress=False)
    model = mlp()
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    bird = early_bird_ticket(model, toy_data(), RECIPE, epoch=1, density=0.15, seed=0, progress=False)
    assert len(bird.early_birds) == 2 and len(bird.results) == 2
    assert all(torch.equal(x[n], y[n]) for x, y in zip(bird.early_birds, full.early_birds[:2], strict=True) for n in x)
    assert all(torch.equal(bird.masks[n], full.early_birds[1][n]) for n in bird.masks)
    assert [r.epochs for r in bird.results] == [1, RECIPE.epochs]
    assert not torch.equal(model[0].weight, init["0.weight"] * bird.masks["0.weight"])  # trained after the rewind
    with pytest.raises(ValueError, match="early-bird epoch"):
        early_bird_ticket(mlp(), toy_data(), RECIPE, epoch=0, density=0.15)


def test_erk_tickets_and_the_magnitude_mask_leave_the_masks_alone():
    model = mlp()
    masks = Masks(model)
    before = copy.deepcopy(masks.state())
    mask = magnitude_mask(masks, 0.2, "erk")
    assert all(torch.equal(masks[n], before[n]) for n in masks)
    assert sum(int(m.sum()) for m in mask.values()) == round(0.2 * masks.total())
    ticket = find_ticket(mlp(), toy_data(), RECIPE, density=0.2, rounds=2, distribution="erk", seed=0, progress=False)
    assert ticket.masks.remaining() == round(0.2 * ticket.masks.total())
    assert ticket.kept == round_counts(mlp(), 0.2, 2, "erk")
    pruned = mlp()
    prune(pruned, 0.5)
    with pytest.raises(ValueError, match="already pruned"):
        find_ticket(pruned, toy_data(), RECIPE, density=0.2, seed=0, progress=False)
