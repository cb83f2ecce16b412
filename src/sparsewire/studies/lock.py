"""One writer per study folder: an exclusive lock held for the whole run.

The lock is an OS file lock (``flock`` via the `filelock` package) on ``DIR/.sparsewire.lock``: the kernel
drops it when its holder exits, however it dies (SIGKILL included), so a crashed run never blocks the next
one. Who holds it (pid, host, start time, command) is written to ``DIR/.sparsewire.lock.json`` so a second
run can say so. If the lock is held but the recorded holder is a pid on this host that no longer runs
(e.g. a child process inherited the lock, or the file system only offers the lock-file fallback), the lock
is stale: it is broken and taken over.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import filelock

from sparsewire.atomic import write_text
from sparsewire.errors import StudyLocked

LOCK_NAME = ".sparsewire.lock"
HOLDER_NAME = ".sparsewire.lock.json"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class StudyLock:
    """``with StudyLock(folder, wait=False):`` — the folder's exclusive lock, or :class:`StudyLocked`.

    Args:
        folder: the study folder (created if missing).
        wait: wait for the holder to finish instead of failing at once.
        timeout: seconds to wait at most (``None``: forever); only with ``wait``.
        poll: seconds between attempts while waiting.
    """

    def __init__(self, folder: str | Path, *, wait: bool = False, timeout: float | None = None,
                 poll: float = 0.5) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.holder_path = self.folder / HOLDER_NAME
        self.wait = wait
        self.timeout = timeout
        self.poll = poll
        self._lock: filelock.BaseFileLock | None = None
        self._notified = False

    def holder(self) -> dict[str, Any] | None:
        """The recorded holder (``pid``, ``host``, ``started``, ``command``), if readable."""
        try:
            data = json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def describe_holder(self) -> str:
        info = self.holder()
        if info is None:
            return "another process (no holder recorded)"
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("started", 0))))
        return f"pid {info.get('pid')} on {info.get('host')}, started {started} ({info.get('command', '?')})"

    def _stale(self) -> bool:
        info = self.holder()
        if info is None or info.get("host") != socket.gethostname():
            return False  # a holder on another host cannot be checked: never broken
        try:
            return not pid_alive(int(info.get("pid", 0)))
        except (TypeError, ValueError):
            return False

    def _try(self) -> bool:
        lock = filelock.FileLock(self.path, timeout=0, thread_local=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            return False
        # The path may have been replaced (a stale lock broken by another process) between open and lock.
        try:
            same = os.path.samestat(os.stat(self.path), os.fstat(lock._context.lock_file_fd))  # type: ignore[arg-type]
        except (OSError, AttributeError, TypeError):
            same = True
        if not same:
            lock.release()
            return False
        self._lock = lock
        return True

    def acquire(self) -> StudyLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while not self._try():
            if self._stale():
                stale = self.describe_holder()
                self.path.unlink(missing_ok=True)  # the dead holder's lock file; a fresh one is made
                self.holder_path.unlink(missing_ok=True)
                print(f"sparsewire: broke the stale lock of {self.folder} ({stale} is not running)", file=sys.stderr)
                continue
            if not self.wait:
                raise StudyLocked(f"{self.folder} is in use by {self.describe_holder()}; wait for it to finish, "
                                  "rerun with --wait to wait, or use another --out")
            if deadline is not None and time.monotonic() > deadline:
                raise StudyLocked(f"{self.folder} still in use by {self.describe_holder()} after {self.timeout:g} s")
            if not self._notified:
                print(f"sparsewire: waiting for {self.describe_holder()} to release {self.folder}", file=sys.stderr)
                self._notified = True
            time.sleep(self.poll)
        write_text(self.holder_path, json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
            "command": " ".join(sys.argv)[:300],
        }))
        return self

    def release(self) -> None:
        if self._lock is None:
            return
        if (self.holder() or {}).get("pid") == os.getpid():
            self.holder_path.unlink(missing_ok=True)
        self._lock.release()
        self._lock = None

    def __enter__(self) -> StudyLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
