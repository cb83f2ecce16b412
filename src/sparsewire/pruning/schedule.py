"""Pruning schedules: the sequence of compression targets, one per prune → retrain round."""

from __future__ import annotations

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
    if not 0.0 < rate < 1.0:
        raise ValueError(f"iterative pruning rate (fraction of remaining weights per round) must be in (0, 1), got {rate}")
    steps, density = [], 1.0
    while 1.0 - density < target - 1e-12:
        density *= 1.0 - rate
        steps.append(min(1.0 - density, target))
    return steps or [target]


def schedule(kind: str, target: float, rate: float = 0.2) -> list[float]:
    """``"one-shot"`` or ``"iterative"`` (with ``rate``)."""
    if kind == "one-shot":
        return one_shot(target)
    if kind == "iterative":
        return iterative(target, rate)
    raise ValueError(f"unknown pruning schedule {kind!r}; choose 'one-shot' or 'iterative'")
