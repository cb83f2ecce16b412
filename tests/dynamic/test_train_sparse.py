"""``train_sparse``: one network trained with dynamic sparsity from a seeded random mask, as the
dynamic-sparsity study and the benchmarks train it."""

import pytest
import torch

from sparsewire.dynamic import STATIC, SparseRun, train_sparse
from sparsewire.training import TrainConfig
from tests.dynamic.conftest import mlp, toy_data

CONFIG = TrainConfig(epochs=2, batch_size=32, optimizer="adam", lr=0.01)


def _run(algorithm, seed=3, **options):
    return train_sparse(mlp(0), toy_data(), CONFIG, algorithm=algorithm, density=0.2, seed=seed, update_every=3,
                        progress=False, **options)


def test_static_never_changes_its_random_mask():
    run = _run(STATIC)
    assert isinstance(run, SparseRun)
    assert sum(u.replaced for u in run.dynamic.updates) == 0
    assert all(torch.equal(run.masks.state()[name], run.dynamic.initial[name]) for name in run.masks)
    assert run.masks.density() == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("algorithm", ["set", "rigl", "snfs", "dnw"])
def test_same_arguments_same_network_and_the_mask_moves(algorithm):
    first, second = _run(algorithm), _run(algorithm)
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert first.result.history == second.result.history
    assert sum(u.replaced for u in first.dynamic.updates) > 0
    assert first.masks.density() == pytest.approx(0.2, abs=0.01)


def test_freezing_stops_updates_after_the_epoch():
    run = _run("set", freeze_epoch=1)
    per_epoch = run.dynamic.replaced_per_epoch()
    assert per_epoch[0] > 0 and sum(per_epoch[1:]) == 0


def test_the_mask_is_drawn_from_the_seed_not_the_global_generator():
    torch.manual_seed(123)
    a = _run(STATIC).dynamic.initial
    torch.manual_seed(456)
    b = _run(STATIC).dynamic.initial
    assert all(torch.equal(a[name], b[name]) for name in a)
    c = _run(STATIC, seed=4).dynamic.initial
    assert not all(torch.equal(a[name], c[name]) for name in a)
