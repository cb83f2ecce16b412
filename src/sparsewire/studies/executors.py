"""How trials are executed: sequentially in this process, or in parallel on Ray."""

from __future__ import annotations

from sparsewire.studies.runner import Executor, sequential


def make_executor(workers: int = 1, ray_address: str | None = None) -> Executor:
    """Sequential for ``workers == 1`` without a cluster address; Ray otherwise."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if workers == 1 and ray_address is None:
        return sequential
    raise ValueError("parallel trials need Ray, which is not available yet; use --workers 1")
