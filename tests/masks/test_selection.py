"""The selection toolkit shared by pruning and dynamic sparse training: which positions (masks.select), how
many per layer (masks.quotas: ERK, capped proportional splits) and fraction checks (masks.fractions)."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.dynamic import DynamicSparsityError, check_density, random_masks
from sparsewire.masks import Masks
from sparsewire.masks.fractions import check_fraction
from sparsewire.masks.quotas import apportion, erk_counts, erk_shares
from sparsewire.masks.select import SelectionError, highest, lowest
from sparsewire.models.conv import LeNet5


# ---------------------------------------------------------------------------- which positions
def test_lowest_and_highest_pick_among_the_allowed_positions():
    score = torch.tensor([[5.0, 1.0, 3.0], [0.5, 4.0, 2.0]])
    among = torch.tensor([[True, True, True], [False, True, True]])
    assert lowest(score, among, 2).tolist() == [[False, True, False], [False, False, True]]
    assert highest(score, among, 2).tolist() == [[True, False, False], [False, True, False]]
    assert not highest(score, among, 0).any()
    with pytest.raises(SelectionError):
        lowest(score, among, 6)


def test_a_position_outside_the_allowed_ones_is_never_chosen():
    # an allowed score of -inf ties with the fill of the disallowed positions: those must still not be chosen
    score = torch.tensor([-math.inf, -math.inf, 1.0, 2.0])
    among = torch.tensor([True, True, False, False])
    assert not (highest(score, among, 2) & ~among).any()
    assert not (lowest(-score, among, 2) & ~among).any()


# ---------------------------------------------------------------------------- how many per layer
def test_apportion_sums_exactly_respects_caps_and_follows_the_weights():
    assert apportion(10, {"a": 1.0, "b": 1.0, "c": 2.0}, {"a": 10, "b": 10, "c": 10}) in (
        {"a": 3, "b": 2, "c": 5}, {"a": 2, "b": 3, "c": 5})
    capped = apportion(10, {"a": 9.0, "b": 1.0}, {"a": 4, "b": 100})
    assert capped == {"a": 4, "b": 6}
    assert apportion(5, {"a": 0.0, "b": 0.0}, {"a": 2, "b": 8}) == {"a": 1, "b": 4}  # no signal: by room
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        weights = {str(i): float(w) for i, w in enumerate(torch.rand(4, generator=g))}
        caps = {str(i): int(c) for i, c in enumerate(torch.randint(0, 50, (4,), generator=g))}
        total = int(torch.randint(0, sum(caps.values()) + 1, (1,), generator=g))
        out = apportion(total, weights, caps)
        assert sum(out.values()) == total and all(0 <= out[n] <= caps[n] for n in out)
    with pytest.raises(SelectionError):
        apportion(11, {"a": 1.0}, {"a": 10})


@settings(max_examples=40, deadline=None)
@given(alive=st.lists(st.integers(0, 400), min_size=1, max_size=4), frac=st.floats(0, 1))
def test_erk_counts_are_exact_and_capped(alive, frac):
    shapes = {f"l{i}": (20 + 7 * i, 30) for i in range(len(alive))}
    alive_map = {f"l{i}": a for i, a in enumerate(alive)}
    keep = round(frac * sum(alive))
    counts = erk_counts(shapes, keep, alive_map)
    assert sum(counts.values()) == keep
    assert all(0 <= counts[n] <= alive_map[n] for n in shapes)


def exact_erk_shares(shapes, total, caps):
    """ERK water-filling in exact rational arithmetic (the reference for the float version)."""
    fixed = {}
    while True:
        free = [n for n in shapes if n not in fixed]
        budget = Fraction(total) - sum(fixed.values(), Fraction(0))
        weight = sum(sum(shapes[n]) for n in free)
        share = {n: budget * sum(shapes[n]) / weight for n in free}
        over = [n for n in free if share[n] > caps[n]]
        if not over:
            return {**share, **fixed}
        fixed.update({n: Fraction(caps[n]) for n in over})


@pytest.mark.parametrize("density", [0.05, 0.1, 0.3, 0.5, 0.8, 0.95])
def test_erk_shares_are_the_exact_water_filling(density):
    shapes = {n: tuple(m.shape) for n, m in Masks(LeNet5()).items()}
    sizes = {n: math.prod(s) for n, s in shapes.items()}
    total = density * sum(sizes.values())
    shares, exact = erk_shares(shapes, total, sizes), exact_erk_shares(shapes, total, sizes)
    assert sum(shares.values()) == pytest.approx(total, rel=1e-12)
    for n in shapes:
        assert shares[n] == pytest.approx(float(exact[n]), rel=1e-12, abs=1e-9)
        assert shares[n] <= sizes[n]


def test_erk_initial_counts_are_the_exact_shares_rounded():
    """Why sparse_init's ERK counts changed in issue 18 (only in half-way cases): they are now ``round(share)``
    of the shares pruning's ERK allocation uses. Before, each layer's density was ``scale · sum(shape) /
    prod(shape)`` and multiplying it back by ``prod(shape)`` added float noise that decided half-way cases:
    LeNet-5 at density 0.95 kept 44927 weights in its first linear layer, whose exact share is 44926.5
    (round half to even: 44926). Away from exact halves the counts are the same as before."""
    masks = Masks(LeNet5())
    shapes = {n: tuple(m.shape) for n, m in masks.items()}
    sizes = {n: math.prod(s) for n, s in shapes.items()}
    total = 0.95 * sum(sizes.values())
    exact = exact_erk_shares(shapes, total, sizes)
    assert exact["classifier.1.weight"] == Fraction(89853, 2)
    kept = {n: int(m.sum()) for n, m in random_masks(masks, 0.95, "erk", torch.Generator().manual_seed(0)).items()}
    assert kept == {n: min(sizes[n], max(1, round(exact[n]))) for n in shapes}
    assert kept["classifier.1.weight"] == 44926


def test_erk_init_and_erk_pruning_split_alike():
    """From dense, prune(…, "erk") and sparse_init(…, "erk") give each layer the same count up to rounding."""
    from sparsewire.pruning import prune

    model = LeNet5()
    pruned = {n: int(m.sum()) for n, m in prune(model, 0.9, "erk").items()}
    init = {n: int(m.sum()) for n, m in random_masks(Masks(LeNet5()), 0.1, "erk").items()}
    assert all(abs(pruned[n] - init[n]) <= 1 for n in pruned)


# ---------------------------------------------------------------------------- fractions
@pytest.mark.parametrize(("interval", "inside", "outside"), [
    ("[0, 1]", [0, 0.5, 1], [-0.1, 1.1]),
    ("[0, 1)", [0, 0.999], [1, -1e-9]),
    ("(0, 1]", [1e-9, 1], [0, 1.5]),
    ("(0, 1)", [0.5], [0, 1]),
])
def test_check_fraction_follows_its_interval(interval, inside, outside):
    for x in inside:
        assert check_fraction(x, interval, "x") == float(x)
    for x in outside:
        with pytest.raises(ValueError, match=rf"x must be in \{interval[0]}0, 1\{interval[-1]} \(a share\), got"):
            check_fraction(x, interval, "x", "a share")


def test_check_fraction_refuses_what_is_not_a_number_and_keeps_the_error_class():
    assert check_fraction(np.float32(0.25), "[0, 1]", "x") == 0.25
    for bad in (True, "0.5", float("nan"), None):
        with pytest.raises(ValueError, match="x must be in"):
            check_fraction(bad, "[0, 1]", "x")
    with pytest.raises(DynamicSparsityError, match="density must be in"):
        check_density(0.0)
