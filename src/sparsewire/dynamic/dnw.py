"""DNW, Discovering Neural Wirings (Wortsman, Farhadi & Rastegari 2019, NeurIPS, Sec. 3).

Every candidate connection ``(u, v)`` has a real weight ``w_uv``; the forward pass uses only the ``k``
connections of largest ``|w_uv|`` (per layer here, each layer keeping its initial count, as the paper does
for its large networks), ``I_v = Σ_{(u,v) ∈ E} w_uv Z_u`` with ``E`` = the top-k edges. The backward pass
is *straight-through*: every weight, used or not, is updated as if it had been used,
``w_uv ← w_uv + ⟨Z_u, −α ∂L/∂I_v⟩`` — the gradient of the effective (masked) weight, which is dense. An
unused connection whose magnitude grows past the smallest used one therefore swaps in at the next step.

In sparsewire the masked parameter holds the effective weights (exact zeros off the mask); DNW keeps the
*latent* dense weights. After ``loss.backward()`` a per-parameter hook writes the latent weights into the
parameter and opens its mask, so the optimizer step updates every latent weight with the straight-through
gradient (and keeps optimizer state for all of them); :meth:`DNW.observe` then stores the new latent
weights and the shared update re-selects the top-k by ``|w|`` (drop score = grow score = latent ``|w|``;
the same number dropped and grown per layer). New connections keep their latent weight. Frozen (or at the
end of training) the hooks are removed and the network trains as a plain sparse one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch.utils.hooks import RemovableHandle

from sparsewire.dynamic.base import Driver, MaskUpdater
from sparsewire.masks.select import highest


class DNW(MaskUpdater):
    """Top-k |w| forward, straight-through gradient to every weight (see the module doc).

    Args:
        initial: latent weights to start from (e.g. the dense initialisation before ``sparse_init`` zeroed
            it); default: the parameters as they are. The initial mask is their per-layer top-k by ``|w|``,
            with each layer's current number of kept weights.
    """

    name = "dnw"
    drop_score = "|w| of the latent dense weight"
    grow_score = "|w| of the latent dense weight (trained by the straight-through gradient)"
    schedule = "every optimizer step: the forward uses each layer's top-k |w|"
    cadence = "every-step"
    dense_gradient = "every-step"
    regrow_at_zero = False

    def __init__(self, initial: Mapping[str, torch.Tensor] | None = None) -> None:
        self.initial = initial
        self.latent: dict[str, torch.Tensor] = {}
        self._forward_mask: dict[str, torch.Tensor] = {}
        self._handles: list[RemovableHandle] = []

    @torch.no_grad()
    def attach(self, dyn: Driver) -> None:
        masks = dyn.masks
        new = {}
        for name, param, mask in masks.parameters():
            start = self.initial[name] if self.initial is not None else param
            self.latent[name] = start.detach().to(device=param.device, dtype=param.dtype).clone()
            param.copy_(self.latent[name])
            new[name] = highest(self.latent[name].abs(), torch.ones_like(mask), int(mask.sum()))
        masks.update(new)
        if not dyn.frozen:
            for name, param, _ in masks.parameters():
                hook = self._opener(dyn, name)  # torch leaves this registration untyped:
                self._handles.append(param.register_post_accumulate_grad_hook(hook))  # type: ignore[no-untyped-call, unused-ignore]

    def _opener(self, dyn: Driver, name: str) -> Callable[[torch.Tensor], None]:
        """Hook run once the parameter's gradient is accumulated: hand the optimizer the latent weights."""

        @torch.no_grad()
        def hook(param: torch.Tensor) -> None:
            if not self._handles or dyn.frozen or dyn.finished:
                return
            mask = dyn.masks[name]
            if name not in self._forward_mask:
                self._forward_mask[name] = mask.clone()
                mask.fill_(True)
                param.copy_(self.latent[name])

        return hook

    @torch.no_grad()
    def observe(self, dyn: Driver) -> None:
        for name, param, mask in dyn.masks.parameters():
            if name in self._forward_mask:
                self.latent[name].copy_(param)
                mask.copy_(self._forward_mask.pop(name))  # no apply: the parameter keeps the latent weights

    def counts(self, dyn: Driver, fraction: float) -> dict[str, tuple[int, int]]:
        """Connections that leave / enter the top-k of ``|latent w|`` (the same number in every layer)."""
        out = {}
        for name, mask in dyn.masks.items():
            top = highest(self.latent[name].abs(), torch.ones_like(mask), int(mask.sum()))
            k = int((top & ~mask).sum())
            out[name] = (k, k)
        return out

    def drop_scores(self, name: str, weight: torch.nn.Parameter, kept: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
        return self.latent[name].abs()

    def grow_scores(self, name: str, weight: torch.nn.Parameter, candidates: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
        return self.latent[name].abs()

    @torch.no_grad()
    def detach(self, dyn: Driver) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        for name, _param, mask in dyn.masks.parameters():  # a step cut short: back to the forward mask
            if name in self._forward_mask:
                mask.copy_(self._forward_mask.pop(name))
        dyn.masks.apply()
        self.latent = {}
