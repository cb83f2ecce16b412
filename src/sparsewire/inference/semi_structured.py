"""2:4 (semi-structured) sparsity on GPU: linear weights pruned 2:4 as ``torch.sparse`` semi-structured tensors.

Sparse tensor cores (NVIDIA Ampere and later) multiply a matrix with at most 2 non-zeros in every 4
consecutive entries of a row at up to twice the dense rate. Prune with ``sparsewire.prune(model, 0.5, "2:4")``
(see :func:`sparsewire.pruning.allocation.n_of_m`), then :func:`to_semi_structured` returns a CUDA copy in
half precision whose eligible ``nn.Linear`` weights are ``torch.sparse.to_sparse_semi_structured`` tensors.
A layer is skipped (and named in ``model.semi_structured_skipped``) when its weight is not 2:4 or its shape is
not one the backend accepts (both dimensions multiples of its minimum tile, e.g. 32 × 64 for fp16).
"""

from __future__ import annotations

import torch
from torch import nn

from sparsewire.thinning.common import plain_copy


def is_n_of_m(weight: torch.Tensor, n: int = 2, m: int = 4) -> bool:
    """Whether every group of ``m`` consecutive entries along the flattened input dimension has ≤ ``n`` non-zeros."""
    flat = weight.reshape(weight.shape[0], -1)
    if flat.shape[1] % m:
        return False
    return bool((flat.reshape(flat.shape[0], -1, m).ne(0).sum(-1) <= n).all())


@torch.no_grad()
def to_semi_structured(model: nn.Module, dtype: torch.dtype = torch.float16, device: str | torch.device = "cuda"
                       ) -> nn.Module:
    """A copy of ``model`` on ``device`` in ``dtype`` whose 2:4 linear weights are semi-structured sparse tensors.

    The copy is in eval mode, without masks. ``model.semi_structured`` lists the converted layers and
    ``model.semi_structured_skipped`` maps the others to the reason. Needs CUDA (a ``RuntimeError`` says so).
    """
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        raise RuntimeError("semi-structured (2:4) sparse tensors need a CUDA device; none is available here")
    from torch.sparse import to_sparse_semi_structured

    out = plain_copy(model).to(device=device, dtype=dtype)
    converted, skipped = [], {}
    for name, module in out.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if not is_n_of_m(module.weight):
            skipped[name] = "weight is not 2:4 sparse"
            continue
        try:
            module.weight = nn.Parameter(to_sparse_semi_structured(module.weight), requires_grad=False)
        except (RuntimeError, ValueError) as error:
            skipped[name] = str(error).splitlines()[0]
            continue
        converted.append(name)
    # plain attributes, which torch's typing of nn.Module.__setattr__ (tensors and modules only) cannot express
    out.semi_structured = converted  # type: ignore[assignment]
    out.semi_structured_skipped = skipped  # type: ignore[assignment]
    return out
