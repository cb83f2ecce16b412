"""How trials are executed: sequentially in this process, or in parallel on Ray.

``make_executor(1)`` runs trials one after another here. ``make_executor(N)`` (N > 1) starts a local Ray
instance with N CPUs — no set-up needed — and keeps N trials in flight; ``make_executor(N, address)``
joins an existing cluster instead (``"auto"`` or ``"ray://host:10001"``; the workers must have sparsewire
installed and see the study folder, e.g. on a shared file system). Either way each trial runs
:func:`~sparsewire.studies.runner.execute_trial` in a worker process with one CPU, and outcomes are
yielded the moment they finish, so the runner writes every row to the results store at once and a
killed sweep loses only the trials in flight.

A local Ray instance never outlives its driver: it is shut down when the sweep ends, fails or is
interrupted (``finally``, and ``atexit`` as a backstop; the CLI turns SIGTERM/SIGHUP into a normal exit),
and a driver killed with SIGKILL leaves a small reaper process (:mod:`sparsewire.studies.reaper`) that
ends the Ray processes left behind.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sparsewire.studies import reaper
from sparsewire.studies.runner import Executor, Group, Outcome, Work, execute_work, sequential


def make_executor(workers: int = 1, ray_address: str | None = None) -> Executor:
    """Sequential for ``workers == 1`` without a cluster address; :class:`RayExecutor` otherwise."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if workers == 1 and ray_address is None:
        return sequential
    if ray_address is None and not have_ray():
        warnings.warn(f"--workers {workers} runs trials on Ray, which is not installed (pip install "
                      "'sparsewire[ray]'); running them one after another in this process", stacklevel=2)
        return sequential
    return RayExecutor(workers, ray_address)


def have_ray() -> bool:
    """Whether the optional ``ray`` package (extra ``[ray]``) is installed."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


class RayExecutor:
    """Run trials as Ray tasks (one CPU each), at most ``workers`` at a time, yielding outcomes as they end.

    Args:
        workers: trials in flight (and, for a local instance, its number of CPUs).
        address: an existing cluster's address; ``None`` starts a local instance that is shut down again
            when the sweep ends (or is interrupted).
        object_store_memory: bytes of shared memory for a local instance (trials exchange only small rows).
    """

    def __init__(self, workers: int, address: str | None = None, object_store_memory: int = 256 * 1024**2) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.address = address
        self.object_store_memory = object_store_memory

    def __repr__(self) -> str:
        return f"RayExecutor(workers={self.workers}, address={self.address!r})"

    def _init(self) -> tuple[Any, bool]:
        """The ray module (untyped: an optional extra) and whether this call started Ray."""
        try:
            import ray
        except ImportError as err:  # the optional extra
            raise ValueError("a Ray cluster needs the [ray] extra: pip install 'sparsewire[ray]' "
                             "(or drop --ray-address to run trials one after another)") from err
        if ray.is_initialized():
            return ray, False
        if self.address is not None:
            _check_reachable(self.address)
            try:
                ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
            except (ConnectionError, RuntimeError) as err:
                raise ValueError(
                    f"could not connect to the Ray cluster at {self.address!r} ({type(err).__name__}: "
                    f"{str(err).splitlines()[0]}). Check the address with `ray status`; a cluster started with "
                    "`ray start` may require token authentication: export RAY_AUTH_MODE=token (the token is "
                    "read from ~/.ray/auth_token or RAY_AUTH_TOKEN). Or drop --ray-address to run a local cluster."
                ) from err
        else:
            # Ray renices its workers (+15 by default), which starves them on a busy machine; keep the
            # driver's priority instead (run the driver under `nice` to be polite).
            os.environ.setdefault("RAY_worker_niceness", "0")
            handle = reaper.start()  # ends what Ray leaves behind if this process is SIGKILLed
            try:
                ray.init(num_cpus=self.workers, include_dashboard=False, logging_level=logging.WARNING,
                         log_to_driver=False, object_store_memory=self.object_store_memory)
            except BaseException:
                reaper.stop(handle)
                raise
            self._reaper = handle
            atexit.register(self._shutdown)
        return ray, True

    def _shutdown(self) -> None:
        """Shut down the local Ray instance this executor started (idempotent)."""
        import ray

        if ray.is_initialized():
            ray.shutdown()
        reaper.stop(getattr(self, "_reaper", None))
        self._reaper = None
        atexit.unregister(self._shutdown)

    def __call__(self, trials: list[Work], out_dir: Path, progress: bool) -> Iterator[Outcome]:
        if not trials:
            return
        ray, started = self._init()
        remote = ray.remote(num_cpus=1, max_retries=0)(execute_work)
        folder = str(Path(out_dir).resolve())
        queue = list(trials)
        pending: dict[object, Work] = {}
        try:
            while queue or pending:
                while queue and len(pending) < self.workers:
                    trial = queue.pop(0)
                    pending[remote.remote(trial, folder, False)] = trial
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    trial = pending.pop(ref)
                    try:
                        outcomes = ray.get(ref)
                    except Exception as err:  # noqa: BLE001 - a dead worker fails its trials, the sweep goes on
                        members = trial.trials if isinstance(trial, Group) else (trial,)
                        outcomes = [Outcome(t, None, f"ray task failed: {type(err).__name__}: {err}") for t in members]
                    yield from outcomes
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started:
                self._shutdown()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a ``host:port`` / ``ray://host:port`` nobody listens on (``ray.init`` retries for minutes).

    ``"auto"`` and other forms are left to Ray.
    """
    match = re.fullmatch(r"(?:ray://)?(\[[^\]]+\]|[^:/\s]+):(\d+)", address.strip())
    if match is None:
        return
    host, port = match.group(1).strip("[]"), int(match.group(2))
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise ValueError(
            f"no Ray cluster answers at {address!r} ({err}). Start one with `ray start --head` (its address is "
            "printed, or use --ray-address auto on that machine), or drop --ray-address to run a local cluster."
        ) from err
