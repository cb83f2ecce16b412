import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.layer_sparsity.proximal import (
    negative_group_threshold_,
    row_group_threshold_,
    soft_threshold_,
)


def _objective_neg(u, v, t):
    return 0.5 * (u - v).pow(2).sum() + t * u.clamp(max=0).norm()


def _objective_l1(u, v, t):
    return 0.5 * (u - v).pow(2).sum() + t * u.abs().sum()


def _objective_rows(u, v, t):
    return 0.5 * (u - v).pow(2).sum() + t * u.norm(dim=1).sum()


vectors = st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=1, max_size=12)
steps = st.floats(0, 4, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(values=vectors, step=steps, seed=st.integers(0, 10_000))
def test_negative_prox_minimises_its_objective(values, step, seed):
    v = torch.tensor(values, dtype=torch.float64)
    u = v.clone()
    negative_group_threshold_([u], step)
    best = _objective_neg(u, v, step)
    gen = torch.Generator().manual_seed(seed)
    for scale in (1e-3, 1e-1, 1.0):
        for _ in range(10):
            other = u + scale * torch.randn(u.shape, generator=gen, dtype=torch.float64)
            assert best <= _objective_neg(other, v, step) + 1e-9
    assert torch.equal(u[v >= 0], v[v >= 0])  # positive parts untouched
    assert bool((u[v < 0] <= 0).all())


@settings(max_examples=60, deadline=None)
@given(values=vectors, step=steps, seed=st.integers(0, 10_000))
def test_soft_threshold_minimises_l1_objective(values, step, seed):
    v = torch.tensor(values, dtype=torch.float64)
    u = v.clone()
    soft_threshold_(u, step)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(20):
        other = u + 0.1 * torch.randn(u.shape, generator=gen, dtype=torch.float64)
        assert _objective_l1(u, v, step) <= _objective_l1(other, v, step) + 1e-9
    assert torch.equal(u == 0, v.abs() <= step)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), step=steps, seed=st.integers(0, 10_000))
def test_row_group_prox_minimises_group_objective(rows, cols, step, seed):
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(rows, cols + 1, generator=gen, dtype=torch.float64)
    w, b = v[:, :cols].clone(), v[:, cols].clone()
    row_group_threshold_(w, b, step)
    u = torch.cat([w, b[:, None]], 1)
    for _ in range(20):
        other = u + 0.1 * torch.randn(u.shape, generator=gen, dtype=torch.float64)
        assert _objective_rows(u, v, step) <= _objective_rows(other, v, step) + 1e-9
    assert torch.equal((u == 0).all(1), v.norm(dim=1) <= step)


def test_negative_prox_gives_exact_zeros_across_tensors():
    w = torch.tensor([[1.0, -0.3], [-0.4, 2.0]])
    b = torch.tensor([-0.0, 0.5])
    negative_group_threshold_([w, b], 0.5)  # ‖neg‖ = 0.5 <= step: whole negative part goes
    assert torch.equal(w, torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    assert bool((w >= 0).all()) and bool((b >= 0).all())
    w2 = torch.tensor([-3.0, -4.0, 1.0])
    negative_group_threshold_([w2], 2.5)  # norm 5 -> scaled by 1 - 2.5/5
    assert torch.allclose(w2, torch.tensor([-1.5, -2.0, 1.0]))


def test_negative_step_refused():
    with pytest.raises(ValueError, match="non-negative"):
        soft_threshold_(torch.ones(2), -1.0)
