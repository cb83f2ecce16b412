"""Named pruning methods: a score paired with an allocation.

The paper's names map to (score, allocation) pairs; any pair can be named ``"score/allocation"``,
e.g. ``"obd/class-uniform"`` or ``"magnitude/class-distributed"``. N:M allocations are named by their
pattern: ``"magnitude/2:4"``, ``"saliency/1:4"``, or a bare ``"2:4"`` (magnitude).
"""

from __future__ import annotations

from dataclasses import dataclass

from sparsewire.pruning.allocation import ALLOCATIONS, NM_PATTERN, Allocation, NOfM, nm_allocation
from sparsewire.pruning.score import Score
from sparsewire.pruning.scores import SCORES

PRESETS: dict[str, tuple[str, str]] = {
    "class-blinded": ("magnitude", "class-blinded"),
    "class-uniform": ("magnitude", "class-uniform"),
    "class-distributed": ("magnitude", "class-distributed"),
    "random": ("random", "class-blinded"),
    "obd": ("obd", "class-blinded"),
    "obs": ("obs", "class-uniform"),
    "snip": ("saliency", "class-blinded"),
    "erk": ("magnitude", "erk"),
    "2:4": ("magnitude", "2:4"),
}


@dataclass(frozen=True)
class Method:
    """A resolved pruning method."""

    name: str
    score_name: str
    allocation_name: str

    @property
    def score(self) -> Score:
        return SCORES[self.score_name]

    @property
    def allocation(self) -> Allocation:
        return nm_allocation(self.allocation_name) or ALLOCATIONS[self.allocation_name]

    @property
    def fixed_density(self) -> float | None:
        """The density an N:M allocation always gives (``None`` for allocations that follow the compression)."""
        allocation = self.allocation
        return allocation.density if isinstance(allocation, NOfM) else None

    @property
    def needs_data(self) -> bool:
        """Whether the score reads training batches."""
        return self.score.needs_data

    def check(self, compression: float) -> None:
        """Refuse a compression the allocation cannot reach (N:M: anything but ``1 − N/M``)."""
        allocation = self.allocation
        if isinstance(allocation, NOfM):
            allocation.check(compression)


def known_methods() -> list[str]:
    """All preset names (``score/allocation`` pairs are accepted too)."""
    return sorted(PRESETS)


def resolve_method(name: str) -> Method:
    """Turn a preset name or ``"score/allocation"`` into a :class:`Method`; clear error if unknown."""
    if name in PRESETS:
        score, allocation = PRESETS[name]
    elif NM_PATTERN.match(name):
        score, allocation = "magnitude", name
    elif "/" in name:
        score, _, allocation = name.partition("/")
    else:
        raise ValueError(
            f"unknown pruning method {name!r}; use one of {known_methods()} or 'score/allocation' with "
            f"score in {sorted(SCORES)} and allocation in {sorted(ALLOCATIONS)} or 'N:M' (e.g. 2:4)"
        )
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r} in method {name!r}; choose from {sorted(SCORES)}")
    if allocation not in ALLOCATIONS and nm_allocation(allocation) is None:
        raise ValueError(f"unknown allocation {allocation!r} in method {name!r}; choose from {sorted(ALLOCATIONS)} "
                         "or 'N:M' (e.g. 2:4)")
    return Method(name, score, allocation)
