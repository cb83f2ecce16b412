"""Interop with ``torch.nn.utils.prune``: its ``<name>_orig`` / ``<name>_mask`` pairs into :class:`Masks` and back.

``torch.nn.utils.prune`` keeps the dense tensor as a parameter ``<name>_orig``, the mask as a buffer
``<name>_mask`` and recomputes ``<name> = orig * mask`` in a forward pre-hook. sparsewire keeps the
effective weight itself as the parameter (exact zeros where pruned) and the mask as a bool buffer
``<name>_mask``. Both ways are lossless for what a pruned network is: the masks and the effective weights
(``orig * mask``) are the same bit for bit, and the model computes the same function. The values that
``_orig`` holds *under* a zero mask (which no forward pass reads) are not kept by sparsewire: they come back
as zeros.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from sparsewire.masks.masks import MASK_SUFFIX, MaskError, Masks

# torch.nn.utils.prune is not annotated; these are its signatures
_remove: Callable[[nn.Module, str], nn.Module] = torch_prune.remove
_custom_from_mask: Callable[[nn.Module, str, torch.Tensor], nn.Module] = torch_prune.custom_from_mask


def _pruned_by_torch(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """``(full name, module, tensor name)`` of every tensor ``torch.nn.utils.prune`` has reparametrised."""
    found = []
    for module_name, module in model.named_modules():
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, torch_prune.BasePruningMethod):
                name = hook._tensor_name
                found.append((f"{module_name}.{name}" if module_name else name, module, name))
    return found


@torch.no_grad()
def from_torch_prune(model: nn.Module) -> Masks:
    """Turn every ``torch.nn.utils.prune`` reparametrisation of ``model`` into sparsewire masks (in place).

    For each pruned tensor the effective weight ``orig * mask`` becomes the parameter again (as
    ``torch.nn.utils.prune.remove`` does) and the mask a bool ``<name>_mask`` buffer; the returned
    :class:`Masks` covers exactly the tensors torch had pruned. A model that already carries sparsewire
    masks, or that torch has not pruned, is a :class:`~sparsewire.masks.MaskError`.
    """
    if Masks._find_existing(model):
        raise MaskError("the model already carries sparsewire masks; strip them before importing torch's")
    pruned = _pruned_by_torch(model)
    if not pruned:
        raise MaskError("torch.nn.utils.prune has not pruned any tensor of this model (no *_orig/*_mask pairs)")
    collected = {}
    for full, module, name in pruned:
        collected[full] = getattr(module, name + MASK_SUFFIX).detach().clone() != 0
        _remove(module, name)  # <name> becomes a Parameter holding orig * mask; hook and buffer go
    masks = Masks(model, prunable=list(collected))
    masks.update(collected, warn_empty=False)
    return masks


@torch.no_grad()
def to_torch_prune(masks: Masks) -> nn.Module:
    """Hand ``masks`` over to ``torch.nn.utils.prune`` (in place) and return the model.

    Each masked parameter becomes torch's ``<name>_orig`` (holding the effective weights) with a
    ``<name>_mask`` buffer of the parameter's dtype and a forward pre-hook, exactly as
    ``torch.nn.utils.prune.custom_from_mask`` leaves it; sparsewire's mask buffers are removed (``masks``
    is not usable afterwards). Tensors that torch already prunes are refused.
    """
    model = masks.model
    already = {full for full, _, _ in _pruned_by_torch(model)}
    clash = sorted(already & set(masks))
    if clash:
        raise MaskError(f"torch.nn.utils.prune already prunes {clash}")
    state = {name: mask.detach().clone() for name, mask in masks.items()}
    masks.apply()
    for full, mask in state.items():
        module_name, _, name = full.rpartition(".")
        module = model.get_submodule(module_name)
        delattr(module, name + MASK_SUFFIX)  # torch's buffer takes the same name
        _custom_from_mask(module, name, mask)
    return model
