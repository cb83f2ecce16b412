"""``recalibrate_norms``: batch-norm running statistics re-estimated for the network as it is now."""

import copy

import pytest
import torch
from torch import nn

from sparsewire.dynamic import train_sparse
from sparsewire.masks import Masks
from sparsewire.training import TrainConfig, recalibrate_norms, running_norms


def bn_mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 30), nn.BatchNorm1d(30), nn.ReLU(), nn.Linear(30, 4))


def data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 20, generator=g)
    return [x, x[:, :4].argmax(1)]


def test_running_statistics_become_the_average_over_the_data_and_nothing_else_changes():
    model = bn_mlp()
    norm = model[1]
    norm.running_mean.fill_(5.0)
    norm.running_var.fill_(9.0)
    params = copy.deepcopy(dict(model.named_parameters()))
    model.eval()
    x, y = data()
    assert recalibrate_norms(model, [x, y], batch_size=64) == 1
    with torch.no_grad():
        hidden = model[0](x)
    batch_vars = torch.stack([hidden[i:i + 64].var(0, unbiased=True) for i in range(0, 256, 64)])
    assert torch.allclose(norm.running_mean, hidden.mean(0), atol=1e-5)  # equal batches: the overall mean
    assert torch.allclose(norm.running_var, batch_vars.mean(0), atol=1e-5)  # the average batch variance
    assert norm.momentum == 0.1 and not model.training
    assert all(torch.equal(p, params[n]) for n, p in model.named_parameters())


def test_a_model_without_batch_norm_is_left_alone_and_not_run():
    model = nn.Sequential(nn.Linear(20, 4))
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    assert running_norms(model) == [] and recalibrate_norms(model, data()) == 0 and not calls


def test_several_inputs_are_passed_as_the_training_loop_passes_them():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.BatchNorm1d(20)

        def forward(self, a, b):
            return self.norm(a + b)

    model = TwoInputs()
    a, b = data()[0], torch.ones(256, 20)
    recalibrate_norms(model, [a, b, torch.zeros(256)], batch_size=256)
    assert torch.allclose(model.norm.running_mean, (a + b).mean(0), atol=1e-5)


@pytest.mark.parametrize("recalibrate", [True, False])
def test_dnw_with_batch_norm_ends_with_statistics_of_its_final_mask(recalibrate):
    x, y = data()
    run = train_sparse(bn_mlp(), [x, y], TrainConfig(epochs=2, batch_size=32, optimizer="adam", lr=0.05),
                       algorithm="dnw", density=0.2, seed=0, progress=False, recalibrate_norms=recalibrate)
    assert sum(u.replaced for u in run.dynamic.updates) > 0  # the mask moved at every step
    assert Masks.is_masked(run.model)
    with torch.no_grad():
        final_mean = run.model[0](x).mean(0)  # the first layer's output under the final mask
    matches = torch.allclose(run.model[1].running_mean, final_mean, atol=1e-4)
    assert matches == recalibrate
