"""Pruning schedules: the sequence of compression targets, one per prune → retrain round."""

from __future__ import annotations

from sparsewire.masks.fractions import check_fraction
from sparsewire.pruning.prune import check_compression


def one_shot(target: float) -> list[float]:
    """Prune once, straight to ``target`` compression."""
    return [check_compression(target)]


def iterative(target: float, rate: float) -> list[float]:
    """Remove ``rate`` of the *remaining* weights each round until ``target`` compression is reached.

    Round k reaches compression 1 - (1 - rate)^k; the last round is clipped to exactly ``target``
    (Han et al. 2015; Frankle & Carbin 2019).
    """
    target = check_compression(target)
    rate = check_fraction(rate, "(0, 1)", "iterative pruning rate", "fraction of remaining weights per round")
    steps: list[float] = []
    density = 1.0
    while 1.0 - density < target - 1e-12:
        density *= 1.0 - rate
        steps.append(min(1.0 - density, target))
    return steps or [target]


def gradual(target: float, rounds: int) -> list[float]:
    """Zhu & Gupta (2017, Eq. 1): compression ``s_k = s_f (1 − (1 − k/n)³)`` for rounds ``k = 1 … n`` —
    fast at first, when many redundant weights remain, then slower; the last round is exactly ``target``."""
    target = check_compression(target)
    if rounds < 1:
        raise ValueError(f"gradual pruning needs at least one round, got {rounds}")
    return [target * (1.0 - (1.0 - k / rounds) ** 3) for k in range(1, rounds + 1)]


SCHEDULES = ("one-shot", "iterative", "gradual")


def schedule(kind: str, target: float, rate: float = 0.2, rounds: int = 5) -> list[float]:
    """``"one-shot"``, ``"iterative"`` (``rate`` of the remaining weights per round) or ``"gradual"``
    (``rounds`` rounds of the cubic schedule)."""
    if kind == "one-shot":
        return one_shot(target)
    if kind == "iterative":
        return iterative(target, rate)
    if kind == "gradual":
        return gradual(target, rounds)
    raise ValueError(f"unknown pruning schedule {kind!r}; choose from {list(SCHEDULES)}")
