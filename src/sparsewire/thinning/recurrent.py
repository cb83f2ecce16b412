"""Thinning the recurrent layers of a :class:`~sparsewire.models.recurrent.RecurrentClassifier`.

Hidden unit ``u`` of a (stacked) ``nn.RNN``/``nn.GRU``/``nn.LSTM`` is removed when nothing reads it: no
non-zero weight in any gate's column ``u`` of the recurrent matrix of another kept unit, of the next layer's
input matrix, or of the read-out. Reading works from the top down to a fixpoint (a unit read only by
removed units goes too).

A unit can also become a constant first. With all its rows zero in every gate (input and recurrent
weights, its own loop included) its state depends only on its biases and the step, and it is constant
from the first step on in three cases: a plain RNN (``act(b_ih + b_hh)``), a GRU whose candidate
``tanh(b_in + r·b_hn)`` is 0, and an LSTM whose cell input ``tanh(b_ig + b_hg)`` is 0 (both stay at 0,
the initial state). The next layer (through ``b_ih``, which lies outside the GRU's reset gate) and the
read-out fold the constant into their biases. Units of the same layer read the zero initial state at the
first step, so they can fold only a constant 0.

Layers of one ``nn.GRU`` share a width, so a thinned stack becomes :class:`StackedRNN`, a list of
one-layer modules (the dropout between layers is inactive in eval mode, which thinning assumes).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from sparsewire.thinning.common import UnsupportedModelError, keep_index, plain_copy

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


class StackedRNN(nn.Module):
    """One-layer batch-first recurrent modules applied in turn; returns ``(output, None)`` like the top layer."""

    def __init__(self, layers: list[nn.RNNBase]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        for layer in self.layers:
            x, _ = layer(x)
        return x, None


def _rows(units: torch.Tensor, hidden: int, gates: int) -> torch.Tensor:
    return (torch.arange(gates).unsqueeze(1) * hidden + units.unsqueeze(0)).flatten()


def _constants(rnn: nn.RNNBase, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor | None,
               b_hh: torch.Tensor | None) -> torch.Tensor:
    """Per unit: its constant output at every step, or NaN (see the module doc)."""
    hidden, gates = rnn.hidden_size, GATES[rnn.mode]
    dead = ~torch.cat([w_ih, w_hh], 1).ne(0).any(1).reshape(gates, hidden).any(0)
    zeros = torch.zeros(gates * hidden, dtype=torch.float64)
    bi = b_ih if b_ih is not None else zeros
    bh = b_hh if b_hh is not None else zeros
    if rnn.mode == "RNN_TANH":
        value = torch.tanh(bi + bh)
    elif rnn.mode == "RNN_RELU":
        value = torch.relu(bi + bh)
    elif rnn.mode == "GRU":
        r = torch.sigmoid(bi[:hidden] + bh[:hidden])
        n = torch.tanh(bi[2 * hidden:] + r * bh[2 * hidden:])
        value = torch.where(n == 0, torch.zeros_like(n), torch.full_like(n, float("nan")))
    else:
        g = torch.tanh(bi[2 * hidden:3 * hidden] + bh[2 * hidden:3 * hidden])
        value = torch.where(g == 0, torch.zeros_like(g), torch.full_like(g, float("nan")))
    return torch.where(dead, value, torch.full_like(value, float("nan")))


def _layer(rnn: nn.RNNBase, input_size: int, hidden: int, params: dict[str, torch.Tensor]) -> nn.RNNBase:
    first = rnn.get_parameter("weight_ih_l0")
    # keyword arguments of nn.RNN / nn.GRU / nn.LSTM (type(rnn) is typed as nn.RNNBase, which also wants `mode`)
    kwargs: dict[str, Any] = {"input_size": input_size, "hidden_size": hidden, "num_layers": 1, "bias": rnn.bias,
                              "batch_first": rnn.batch_first, "dtype": first.dtype}
    if isinstance(rnn, nn.RNN):
        kwargs["nonlinearity"] = rnn.nonlinearity
    with torch.device("meta"):  # no random init (the global RNG stays untouched); filled below
        new = type(rnn)(**kwargs)
    new = new.to_empty(device=first.device)
    with torch.no_grad():
        for name, value in params.items():
            getattr(new, name).copy_(value)
    return new


@torch.no_grad()
def thin_recurrent(model: nn.Module) -> nn.Module:
    """A copy of a RecurrentClassifier whose recurrent layers keep only units that can affect the output."""
    from sparsewire.models.recurrent import RecurrentClassifier

    if not isinstance(model, RecurrentClassifier):
        raise UnsupportedModelError(f"recurrent thinning needs a RecurrentClassifier (a read-out decides which units "
                                    f"matter), got {type(model).__name__}")
    model = plain_copy(model)
    rnn, head = model.rnn, model.head
    if not isinstance(rnn, nn.RNNBase):
        raise UnsupportedModelError(f"recurrent thinning needs an nn.RNN/GRU/LSTM, got {type(rnn).__name__}")
    if rnn.bidirectional or rnn.proj_size:
        raise UnsupportedModelError("bidirectional and projected recurrent layers are not supported by thinning")
    hidden, gates, depth = rnn.hidden_size, GATES[rnn.mode], rnn.num_layers
    p = {name: t.detach().double().clone() for name, t in rnn.named_parameters()}
    w_head, b_head = head.weight.detach().double().clone(), head.bias.detach().double().clone()

    def fold(const: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        known = ~torch.isnan(const)
        weight[:, known & (const == 0)] = 0
        if bias is not None:
            nonzero = known & (const != 0)
            bias += weight[:, nonzero] @ const[nonzero]
            weight[:, nonzero] = 0

    for layer in range(depth):  # forward: constant units, folded upwards
        w_ih, w_hh = p[f"weight_ih_l{layer}"], p[f"weight_hh_l{layer}"]
        b_ih, b_hh = p.get(f"bias_ih_l{layer}"), p.get(f"bias_hh_l{layer}")
        while True:  # a unit constant at 0 can be dropped from the recurrence, which may free another
            const = _constants(rnn, w_ih, w_hh, b_ih, b_hh)
            zero = ~torch.isnan(const) & (const == 0)
            if not bool(w_hh[:, zero].ne(0).any()):
                break
            w_hh[:, zero] = 0
        above = (p[f"weight_ih_l{layer + 1}"], p.get(f"bias_ih_l{layer + 1}")) if layer + 1 < depth else (w_head, b_head)
        fold(const, *above)

    keep: list[torch.Tensor] = [torch.empty(0)] * depth
    reader = w_head
    for layer in reversed(range(depth)):  # backward: what the layer above, the read-out or a kept unit reads
        need = reader.ne(0).any(0)
        w_hh = p[f"weight_hh_l{layer}"]
        while True:
            rows = _rows(need.nonzero().flatten(), hidden, gates)
            more = need | w_hh[rows].ne(0).any(0)
            if bool((more == need).all()):
                break
            need = more
        keep[layer] = keep_index(need)
        reader = p[f"weight_ih_l{layer}"][_rows(keep[layer], hidden, gates)]

    layers = []
    for layer in range(depth):
        rows = _rows(keep[layer], hidden, gates)
        w_ih = p[f"weight_ih_l{layer}"][rows]
        if layer:
            w_ih = w_ih[:, keep[layer - 1]]
        params = {"weight_ih_l0": w_ih, "weight_hh_l0": p[f"weight_hh_l{layer}"][rows][:, keep[layer]]}
        if rnn.bias:
            params |= {"bias_ih_l0": p[f"bias_ih_l{layer}"][rows], "bias_hh_l0": p[f"bias_hh_l{layer}"][rows]}
        layers.append(_layer(rnn, w_ih.shape[1], len(keep[layer]), params))
    model.rnn = layers[0] if depth == 1 else StackedRNN(layers)
    new_head = copy.deepcopy(head)
    new_head.weight = nn.Parameter(w_head[:, keep[-1]].to(head.weight.dtype))
    new_head.bias = nn.Parameter(b_head.to(head.bias.dtype))
    new_head.in_features = len(keep[-1])
    model.head = new_head
    return model.eval()
