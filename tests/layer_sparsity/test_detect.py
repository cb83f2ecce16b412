import pytest
import torch
from layer_nets import as_sequential, make_mlp

from sparsewire.layer_sparsity import (
    identity_layers,
    inputs_nonnegative,
    layer_report,
    negative_preactivation_fractions,
)


def test_identity_layers_exact():
    model = make_mlp([4, 6, 6, 6, 2], nonnegative=[0, 2])
    assert identity_layers(model) == [2]
    assert identity_layers(model, input_nonnegative=True) == [0, 2]
    with torch.no_grad():
        model.layers[2].bias[0] = -1e-12  # one tiny negative bias entry breaks the proof
    assert identity_layers(model) == []


def test_negative_preactivation_fraction_matches_manual_count():
    model = make_mlp([4, 6, 5, 2], seed=4)
    x = torch.randn(300, 4)
    pre1 = model.layers[0](x)
    pre2 = model.layers[1](torch.relu(pre1))
    expected = [int((pre1 < 0).sum()) / pre1.numel(), int((pre2 < 0).sum()) / pre2.numel()]
    got = negative_preactivation_fractions(model, x, batch_size=64)
    assert got == pytest.approx(expected, abs=1e-12)
    assert 0 < got[0] < 1
    assert negative_preactivation_fractions(as_sequential(model), x) == got


def test_report_reasons():
    model = make_mlp([4, 6, 6, 6, 2], nonnegative=[0, 1])
    x = torch.randn(100, 4)
    report = layer_report(model, x)
    assert [r.identity for r in report] == [False, True, False]
    assert "input can be negative" in report[0].reason
    assert report[1].negative_preactivation_fraction == 0.0 and report[1].negative_weight_fraction == 0.0
    assert "negative weights" in report[2].reason
    assert report[2].as_dict()["identity"] is False
    assert not inputs_nonnegative(x) and inputs_nonnegative(x.abs())
