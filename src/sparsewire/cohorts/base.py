"""The cohort: N networks packed into one module, one forward pass, one row of results per network.

A :class:`Cohort` holds copies of its members' parameters in packed tensors (see
:mod:`sparsewire.cohorts.layout`); its forward pass maps a batch to ``(N, B, C)`` outputs, one slice per
member, computed as if each member ran alone on that batch. Gradients never mix: every packed row belongs
to one member, and the training loss is the sum of the members' own losses
(:func:`member_losses`), so the gradient of row ``r`` is the gradient of its member's loss alone.

Members stay ordinary ``nn.Module``\\ s: :meth:`Cohort.write_back` copies the packed parameters back
into them (to save, evaluate, extract graphs or prune them as usual), and :meth:`Cohort.subset`
rebuilds a smaller cohort when members finish, so a finished network stops costing compute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.cohorts.layout import Layout
from sparsewire.masks import Masks


def member_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{parameter name: bool mask}`` of a model's masked parameters (empty if it carries no masks)."""
    return dict(Masks.of(model).items()) if Masks.is_masked(model) else {}


class Cohort(nn.Module):
    """Base class of packed cohorts (subclasses define the layout and the forward pass).

    Packed parameter ``k`` is registered as ``k`` with a float mask buffer ``k_mask`` that is 1 exactly
    where a member's parameter is present and unmasked; :meth:`apply_masks` re-zeroes padding and pruned
    weights after each optimizer step. ``owner(k)`` gives the member of each packed row.
    """

    def __init__(self, members: Sequence[nn.Module], layout: Layout) -> None:
        super().__init__()
        if not members:
            raise ValueError("a cohort needs at least one member network")
        self._members = list(members)
        self.layout = layout
        device = next(members[0].parameters()).device
        params = layout.pack([dict(m.named_parameters()) for m in members], device=device)
        presence = layout.pack([{n: torch.ones_like(p) for n, p in m.named_parameters()} for m in members], device=device)
        masks = [member_masks(m) for m in members]
        masked = layout.pack([{n: masks[i].get(n, torch.ones(())).expand_as(p).float() for n, p in m.named_parameters()}
                              for i, m in enumerate(members)], device=device)
        for name, value in params.items():
            self.register_parameter(name, nn.Parameter(value))
            self.register_buffer(f"{name}_mask", presence[name] * masked[name], persistent=False)
            self.register_buffer(f"{name}_owner", layout.owners[name].to(device), persistent=False)

    # ------------------------------------------------------------------ members
    @property
    def members(self) -> list[nn.Module]:
        """The member networks (their parameters are updated by :meth:`write_back`)."""
        return list(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def packed_names(self) -> list[str]:
        return list(self.layout.shapes)

    def owner(self, name: str) -> torch.Tensor:
        return getattr(self, f"{name}_owner")

    def mask(self, name: str) -> torch.Tensor:
        return getattr(self, f"{name}_mask")

    def unpack(self, packed: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Per-member ``{parameter name: tensor}`` views of packed tensors shaped like the parameters."""
        shapes = [{n: p.shape for n, p in m.named_parameters()} for m in self._members]
        return self.layout.unpack(packed, shapes)

    @torch.no_grad()
    def write_back(self) -> None:
        """Copy the packed parameters into the member modules."""
        values = self.unpack({name: getattr(self, name) for name in self.layout.shapes})
        for member, state in zip(self._members, values, strict=True):
            for name, param in member.named_parameters():
                param.copy_(state[name])

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero padding and masked weights in every packed parameter (after each optimizer step)."""
        for name in self.layout.shapes:
            getattr(self, name).mul_(self.mask(name))

    def subset(self, keep: Sequence[int]) -> Cohort:
        """A cohort of the members ``keep`` (in that order) with their current parameters."""
        self.write_back()
        return self.rebuild([self._members[i] for i in keep])

    def rebuild(self, members: Sequence[nn.Module]) -> Cohort:
        """A cohort of the same kind and options over ``members``."""
        raise NotImplementedError

    def forward(self, *inputs: Any, **options: Any) -> torch.Tensor:  # pragma: no cover - abstract
        """``(N, B, C)`` outputs: member ``n``'s output for the batch at ``[n]``."""
        raise NotImplementedError


def member_losses(outputs: torch.Tensor, target: torch.Tensor,
                  loss_fn: Callable[..., torch.Tensor] = F.cross_entropy) -> torch.Tensor:
    """Each member's mean loss ``(N,)`` from cohort outputs ``(N, B, C)`` and shared targets ``(B,)``.

    ``loss_fn`` must accept ``reduction="none"``; the per-member mean equals the member's own mean loss.
    """
    n, b = outputs.shape[:2]
    per_example = loss_fn(outputs.reshape(n * b, -1), target.repeat(n), reduction="none")
    return per_example.view(n, b).mean(1)
