"""Thinning: a pruned network as a smaller *dense* network with the same function.

Pruning leaves zeros in dense tensors, which cost as much as any other number. Whole units that no
longer matter can be cut out instead: :func:`thin` removes

- units with no path from the input (their constant output is folded into the biases they feed) or to the
  output (``chain.py`` for MLPs, ``nn.Sequential`` and LeNet-5, including conv channels whose filters are all
  zero; ``graph.py`` for :class:`~sparsewire.graphs.feedforward.GraphNetwork`);
- recurrent hidden units that nothing reads, or that are constant in every gate (``recurrent.py``);
- zero or unread channels of a torchvision-style ResNet, removed only where removable on both sides of
  every residual add (``residual.py``);
- identity-ReLU layers, by collapsing them (:func:`sparsewire.layer_sparsity.collapse`), when that saves parameters.

What it buys is in ``cost.py`` (:func:`thinning_report`: parameters, FLOPs, latency before and after).
"""

from __future__ import annotations

from torch import nn

from sparsewire.thinning.chain import thin_chain
from sparsewire.thinning.common import UnsupportedModelError
from sparsewire.thinning.cost import ThinningReport, count_flops, count_parameters, thinning_report
from sparsewire.thinning.graph import ThinnedGraphNetwork, thin_graph_network
from sparsewire.thinning.recurrent import thin_recurrent
from sparsewire.thinning.residual import is_resnet, thin_resnet


def _collapse_if_smaller(model: nn.Module, input_nonnegative: bool) -> nn.Module:
    from sparsewire.layer_sparsity import UnsupportedNetworkError, collapse, identity_layers, parameter_count

    try:
        if not identity_layers(model, input_nonnegative=input_nonnegative):
            return model
    except UnsupportedNetworkError:
        return model
    collapsed = collapse(model, input_nonnegative=input_nonnegative)
    return collapsed.eval() if parameter_count(collapsed) < parameter_count(model) else model


def thin(model: nn.Module, *, collapse_identity: bool = True, input_nonnegative: bool = False) -> nn.Module:
    """A smaller dense copy of ``model`` with the same outputs (to float rounding) in eval mode.

    Args:
        model: a (masked or plain) MLP, ``nn.Sequential`` chain, LeNet5, GraphNetwork,
            :class:`~sparsewire.models.recurrent.RecurrentClassifier` (RNN/GRU/LSTM) or torchvision-style ResNet.
            It is not modified.
        collapse_identity: also collapse hidden layers whose ReLU is provably the identity (ReLU chains only),
            when that lowers the parameter count.
        input_nonnegative: the caller guarantees non-negative inputs (lets the first layer collapse too).

    Returns:
        A new module without masks, in eval mode. Its parameter count never exceeds the original's.
    """
    from sparsewire.graphs.feedforward import GraphNetwork
    from sparsewire.models.recurrent import RecurrentClassifier

    if isinstance(model, GraphNetwork):
        return thin_graph_network(model)
    if isinstance(model, RecurrentClassifier | nn.RNNBase):
        return thin_recurrent(model)
    if is_resnet(model):
        return thin_resnet(model)
    thinned = thin_chain(model)
    return _collapse_if_smaller(thinned, input_nonnegative) if collapse_identity else thinned


__all__ = [
    "ThinnedGraphNetwork",
    "ThinningReport",
    "UnsupportedModelError",
    "count_flops",
    "count_parameters",
    "thin",
    "thin_chain",
    "thin_graph_network",
    "thin_recurrent",
    "thin_resnet",
    "thinning_report",
]
