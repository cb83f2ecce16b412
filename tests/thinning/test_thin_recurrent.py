"""thin() on RecurrentClassifier: unread and constant hidden units go, outputs stay (1e-5); plus the cost report."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from sparsewire.models import MLP
from sparsewire.models.recurrent import RecurrentClassifier
from sparsewire.thinning import UnsupportedModelError, count_flops, count_parameters, thin, thinning_report
from sparsewire.thinning.recurrent import GATES, StackedRNN

CELLS = ["rnn-tanh", "rnn-relu", "gru", "lstm"]


def rows(rnn, layer, unit):
    return [g * rnn.hidden_size + unit for g in range(GATES[rnn.mode])]


def cut_units(model, seed, p=0.3):
    """Zero, at random, whole rows (no input), recurrent/next-layer/read-out columns (unread) and single weights."""
    g = torch.Generator().manual_seed(seed)
    rnn = model.rnn
    with torch.no_grad():
        for layer in range(rnn.num_layers):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
            reader = getattr(rnn, f"weight_ih_l{layer + 1}") if layer + 1 < rnn.num_layers else model.head.weight
            for unit in range(rnn.hidden_size):
                if torch.rand(1, generator=g) < p:  # dead in every gate
                    w_ih[rows(rnn, layer, unit)] = 0
                    w_hh[rows(rnn, layer, unit)] = 0
                if torch.rand(1, generator=g) < p:  # unread
                    w_hh[:, unit] = 0
                    reader[:, unit] = 0
            w_hh.mul_(torch.rand(w_hh.shape, generator=g) < 0.7)
            if rnn.mode in ("GRU", "LSTM") and torch.rand(1, generator=g) < 0.5:  # candidate / cell input 0
                h = rnn.hidden_size
                getattr(rnn, f"bias_ih_l{layer}")[2 * h:3 * h] = 0
                getattr(rnn, f"bias_hh_l{layer}")[2 * h:3 * h] = 0


def assert_same(model, thinned, tokens):
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(thinned(tokens), model(tokens), atol=1e-5, rtol=1e-5)
    assert count_parameters(thinned) <= count_parameters(model)


@settings(max_examples=25, deadline=None)
@given(cell=st.sampled_from(CELLS), layers=st.integers(1, 3), hidden=st.integers(1, 8), seed=st.integers(0, 10_000),
       per_step=st.booleans())
def test_recurrent_property(cell, layers, hidden, seed, per_step):
    torch.manual_seed(seed)
    model = RecurrentClassifier(cell, hidden_size=hidden, num_layers=layers, embedding_dim=4, per_step=per_step)
    cut_units(model, seed)
    tokens = torch.randint(1, 27, (5, 7), generator=torch.Generator().manual_seed(seed))
    assert_same(model, thin(model), tokens)


@pytest.mark.parametrize("cell", CELLS)
def test_unread_and_constant_units_removed(cell):
    torch.manual_seed(0)
    model = RecurrentClassifier(cell, hidden_size=6, num_layers=2, embedding_dim=4)
    rnn, h = model.rnn, 6
    with torch.no_grad():
        rnn.weight_hh_l0[:, 0] = 0  # unit 0 of layer 0: unread
        rnn.weight_ih_l1[:, 0] = 0
        model.head.weight[:, 1] = 0  # unit 1 of layer 1: unread
        rnn.weight_hh_l1[:, 1] = 0
        for w in (rnn.weight_ih_l1, rnn.weight_hh_l1):  # unit 2 of layer 1: dead in every gate...
            w[[g * h + 2 for g in range(GATES[rnn.mode])]] = 0
        rnn.weight_hh_l1[:, 2] = 0  # ...read only by the read-out (folded into its bias)
        if rnn.mode in ("GRU", "LSTM"):  # ...and constant only with a zero candidate / cell input
            rnn.bias_ih_l1[2 * h + 2] = 0
            rnn.bias_hh_l1[2 * h + 2] = 0
    thinned = thin(model)
    assert isinstance(thinned.rnn, StackedRNN)
    assert [layer.hidden_size for layer in thinned.rnn.layers] == [5, 4]
    assert_same(model, thinned, torch.randint(1, 27, (4, 9)))


def test_bare_rnn_is_refused():
    with pytest.raises(UnsupportedModelError):
        thin(nn.GRU(3, 4))


def test_report_counts_parameters_and_flops():
    model = MLP([10, 8, 3])
    with torch.no_grad():
        model.layers[1].weight[:, :4] = 0
    thinned = thin(model)
    assert count_flops(model, torch.rand(2, 10)) == 2 * 10 * 8 + 8 + 2 * 8 * 3 + 3
    report = thinning_report(model, thinned, (10,), batch_sizes=(1,), rounds=3)
    assert (report.parameters, report.thinned_parameters) == (10 * 8 + 8 + 8 * 3 + 3, 10 * 4 + 4 + 4 * 3 + 3)
    assert report.thinned_flops == 2 * 10 * 4 + 4 + 2 * 4 * 3 + 3
    assert report.speedup(1) > 0
    rnn = RecurrentClassifier("gru", hidden_size=4, embedding_dim=3, num_classes=2)
    assert count_flops(rnn, torch.randint(1, 27, (2, 5))) == 5 * (2 * 3 * 4 * (3 + 4) + 2 * 3 * 4) + 2 * 4 * 2 + 2
