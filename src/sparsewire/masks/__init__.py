"""Boolean masks of prunable parameters, kept on the model (see :class:`Masks`)."""

from sparsewire.masks.masks import (
    MASK_SUFFIX,
    EmptyLayerWarning,
    MaskError,
    Masks,
    default_selector,
    strip_masks,
)
from sparsewire.masks.torch_prune import from_torch_prune, to_torch_prune

__all__ = ["MASK_SUFFIX", "EmptyLayerWarning", "MaskError", "Masks", "default_selector", "from_torch_prune", "strip_masks",
           "to_torch_prune"]
