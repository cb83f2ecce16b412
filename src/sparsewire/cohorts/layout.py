"""Where each member network's tensors live inside a cohort's packed tensors.

A cohort stores the parameters of N networks in a few *packed* tensors whose first dimension indexes
blocks (one row per layer, path or read-out of one member). A :class:`Slot` says that member ``m``'s
tensor ``name``, viewed as ``view``, occupies ``packed[row][:view[0], :view[1], ...]``; everything outside
the slots is padding, held at exactly zero by the packed masks. The same slots move parameters, masks,
gradients and optimizer state between the packed form and one dict per member, so packing is one
definition used everywhere (and compaction after a member finishes is unpack → repack).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Slot:
    """Member ``member``'s tensor ``name`` (viewed as ``view``) at ``packed_name[row]``, top-left aligned, or
    starting at ``offset`` (one start per dimension of ``view``) so that several tensors of one member can
    share a row (e.g. the weight blocks of one layer side by side).

    Three other placements, for packings that are not one block per row:

    - ``block``: the row is a flat vector whose leading ``prod(block)`` entries are viewed as ``block`` (and
      the slot lies in that view), so blocks of different shapes can share one packed tensor of rows;
    - ``span``: the first dimension of ``view`` runs along the packed rows ``row, row + 1, …`` (e.g. one
      row per unit of a layer);
    - ``entries``: only these entries (flat indices) of the member's tensor are packed, one per packed row
      from ``row`` on (e.g. the present weights of a masked matrix); the others unpack as zeros.
    """

    member: int
    name: str
    packed_name: str
    row: int
    view: tuple[int, ...]
    offset: tuple[int, ...] = ()
    block: tuple[int, ...] = ()
    span: bool = False
    entries: tuple[int, ...] | None = None

    @property
    def rows(self) -> range:
        """The packed rows this slot occupies."""
        if self.entries is not None:
            return range(self.row, self.row + len(self.entries))
        return range(self.row, self.row + (self.view[0] if self.span else 1))

    def index(self) -> tuple:
        starts = self.offset or (0,) * len(self.view)
        if self.entries is not None:
            return (slice(self.row, self.row + len(self.entries)),)
        if self.span:
            return (slice(self.row, self.row + self.view[0]), *(slice(o, o + s) for o, s in zip(starts[1:], self.view[1:], strict=True)))
        return (self.row, *(slice(o, o + s) for o, s in zip(starts, self.view, strict=True)))

    def region(self, packed: torch.Tensor) -> torch.Tensor:
        """The view of ``packed`` this slot occupies."""
        if not self.block:
            return packed[self.index()]
        starts = self.offset or (0,) * len(self.view)
        row = packed[self.row, :math.prod(self.block)].view(self.block)
        return row[tuple(slice(o, o + s) for o, s in zip(starts, self.view, strict=True))]

    def put(self, packed: torch.Tensor, value: torch.Tensor) -> None:
        """Write the member's tensor ``value`` into its place in ``packed``."""
        if self.entries is not None:
            value = value.reshape(-1)[torch.tensor(self.entries, dtype=torch.long, device=value.device)]
        self.region(packed)[...] = value.reshape(self.view).to(device=packed.device, dtype=packed.dtype)

    def take(self, packed: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """The member's tensor (a copy, shaped ``shape``) from its place in ``packed``."""
        if self.entries is None:
            return self.region(packed).reshape(shape).clone()
        out = packed.new_zeros(math.prod(shape))
        out[torch.tensor(self.entries, dtype=torch.long, device=packed.device)] = self.region(packed)
        return out.view(shape)


@dataclass(frozen=True)
class Layout:
    """The slots of every packed tensor plus each packed tensor's shape.

    ``owners[packed_name]`` is a long tensor of length ``rows`` giving the member of every row (each row
    belongs to exactly one member, which is what keeps per-network gradient norms, learning rates and
    optimizer state separate).
    """

    slots: tuple[Slot, ...]
    shapes: Mapping[str, tuple[int, ...]]

    def __post_init__(self) -> None:
        owners: dict[str, list[int]] = {name: [-1] * shape[0] for name, shape in self.shapes.items()}
        for slot in self.slots:
            for row in slot.rows:
                row_owner = owners[slot.packed_name][row]
                if row_owner not in (-1, slot.member):
                    raise ValueError(f"row {row} of {slot.packed_name} is shared by members {row_owner} and {slot.member}")
                owners[slot.packed_name][row] = slot.member
        for name, rows in owners.items():
            if -1 in rows:
                raise ValueError(f"{name} has rows that belong to no member")
        object.__setattr__(self, "_owners", {k: torch.tensor(v, dtype=torch.long) for k, v in owners.items()})

    @property
    def owners(self) -> dict[str, torch.Tensor]:
        return self._owners  # type: ignore[attr-defined]

    @property
    def members(self) -> int:
        return 1 + max(slot.member for slot in self.slots)

    def pack(self, tensors: Sequence[Mapping[str, torch.Tensor]], *, dtype: torch.dtype | None = None,
             device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
        """Packed tensors (zero padding) from one ``{name: tensor}`` dict per member."""
        sample = next(iter(tensors[0].values()))
        dtype = dtype or sample.dtype
        out = {name: torch.zeros(shape, dtype=dtype, device=device) for name, shape in self.shapes.items()}
        for slot in self.slots:
            slot.put(out[slot.packed_name], tensors[slot.member][slot.name])
        return out

    def unpack(self, packed: Mapping[str, torch.Tensor], shapes: Sequence[Mapping[str, torch.Size]]) -> list[dict[str, torch.Tensor]]:
        """One ``{name: tensor}`` dict per member (copies, shaped as in ``shapes``) from packed tensors."""
        out: list[dict[str, torch.Tensor]] = [{} for _ in shapes]
        for slot in self.slots:
            out[slot.member][slot.name] = slot.take(packed[slot.packed_name], shapes[slot.member][slot.name])
        return out
