"""Ends the processes a study driver started (a local Ray instance) when the driver dies without cleaning up.

A driver stopped by Ctrl-C or SIGTERM shuts Ray down itself (``finally`` blocks, ``atexit``). A driver
killed with SIGKILL cannot: Ray's own daemons die with it, but some of their children (the dashboard and
runtime-env agents, busy workers) would live on. :func:`start` launches this file as a small separate
process (standard library only; it does not import sparsewire or torch) that keeps a list of the driver's
descendants and, once the driver is gone, terminates those still running (SIGTERM, then SIGKILL).
It learns that the driver is gone when the pipe the driver holds closes; :func:`stop` ends it quietly.
Linux only (it reads ``/proc``); elsewhere :func:`start` does nothing.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 1.0


def start() -> int | None:
    """Start the reaper for this process; returns the write end of its pipe (pass it to :func:`stop`)."""
    if not Path("/proc/self/stat").exists():
        return None
    read, write = os.pipe()  # non-inheritable: only this process holds the write end
    try:
        subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(os.getpid()), str(read)],
                         pass_fds=(read,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        os.close(write)
        return None
    finally:
        os.close(read)
    return write


def stop(handle: int | None) -> None:
    """The driver cleaned up itself: tell the reaper to exit without terminating anything."""
    if handle is None:
        return
    try:
        os.write(handle, b"q")
        os.close(handle)
    except OSError:
        pass


def _stat(pid: int) -> tuple[int, int] | None:
    """``(parent pid, start time)`` of ``pid`` from ``/proc``, or ``None`` if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """``pid -> start time`` of every process below ``root``."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None:
                children.setdefault(info[0], []).append((int(entry), info[1]))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            if pid not in found:
                found[pid] = started
                todo.append(pid)
    return found


def _terminate(known: dict[int, int], grace: float = 3.0) -> None:
    def alive() -> list[int]:
        return [pid for pid, started in known.items() if (_stat(pid) or (0, -1))[1] == started]

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        for pid in alive():
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while alive() and time.monotonic() < deadline:
            time.sleep(0.1)


def _main(driver: int, fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is for the driver
    known: dict[int, int] = {}
    while True:
        ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        if ready:
            if os.read(fd, 1) == b"q":
                return
            break  # end of file: the driver is gone
        known.update(_descendants(driver))
    known.pop(os.getpid(), None)
    _terminate(known)


if __name__ == "__main__":
    _main(int(sys.argv[1]), int(sys.argv[2]))
