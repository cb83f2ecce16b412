"""Boolean masks of prunable parameters, kept on the model (see :class:`Masks`)."""

from sparsewire.masks.masks import (
    MASK_SUFFIX,
    EmptyLayerWarning,
    MaskError,
    Masks,
    default_selector,
    strip_masks,
)

__all__ = ["MASK_SUFFIX", "EmptyLayerWarning", "MaskError", "Masks", "default_selector", "strip_masks"]
