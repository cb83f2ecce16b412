"""Layer sparsity (Hebiri & Lederer 2020, arXiv 2006.15604): penalties, proximal steps, detection of
linear (identity-ReLU) layers, collapsing them into a shallower network, refitting, and what it buys.

>>> from sparsewire.layer_sparsity import LayerPenalty, train_penalized, collapse, refit   # doctest: +SKIP
>>> train_penalized(model, data, cfg, LayerPenalty(lam=0.1))                        # doctest: +SKIP
>>> shallow = collapse(model)          # same outputs, fewer layers                 # doctest: +SKIP
>>> refit(shallow, data, cfg)                                                       # doctest: +SKIP
"""

from sparsewire.layer_sparsity.collapse import UnsafeCollapseWarning, collapse, groups
from sparsewire.layer_sparsity.cost import (
    Latency,
    flops,
    measure_latency,
    nonzero_parameter_count,
    parameter_count,
)
from sparsewire.layer_sparsity.detect import (
    HiddenLayerReport,
    identity_layers,
    inputs_nonnegative,
    is_nonnegative,
    layer_report,
    negative_preactivation_fractions,
)
from sparsewire.layer_sparsity.penalties import (
    ConnectionPenalty,
    LayerPenalty,
    NodePenalty,
    Penalties,
    Penalty,
)
from sparsewire.layer_sparsity.refit import refit
from sparsewire.layer_sparsity.stack import LinearStack, UnsupportedNetworkError, linear_stack
from sparsewire.layer_sparsity.train import train_penalized

__all__ = [
    "ConnectionPenalty",
    "HiddenLayerReport",
    "Latency",
    "LayerPenalty",
    "LinearStack",
    "NodePenalty",
    "Penalties",
    "Penalty",
    "UnsafeCollapseWarning",
    "UnsupportedNetworkError",
    "collapse",
    "flops",
    "groups",
    "identity_layers",
    "inputs_nonnegative",
    "is_nonnegative",
    "layer_report",
    "linear_stack",
    "measure_latency",
    "negative_preactivation_fractions",
    "nonzero_parameter_count",
    "parameter_count",
    "refit",
    "train_penalized",
]
