"""Progress reporting that suits where the output goes.

On a terminal, :func:`progress` is a tqdm bar. When stderr is not a terminal (a log file, a pipe, CI), tqdm's
redrawn bars would write escape codes and nested, half-overwritten lines into the log, so the outer bars
(``leave=True``) print plain lines instead (``trials: 3/16 (19%), 0:41 elapsed, ETA 2:58``) at most every
``interval`` seconds plus the last one, and inner bars (``leave=False``, e.g. a trial's epochs) print nothing.
``TQDM_DISABLE=1`` silences both.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm.auto import tqdm

#: Seconds between two plain progress lines (the last update is always printed).
INTERVAL = 10.0


def _disabled_by_env() -> bool:
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in {"1", "true", "yes"}


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class PlainProgress:
    """A tqdm look-alike (the parts sparsewire uses) that writes one plain line per report."""

    def __init__(self, iterable: Iterable | None = None, *, desc: str = "", total: int | None = None,
                 initial: int = 0, unit: str = "it", disable: bool = False, file: TextIO | None = None,
                 interval: float = INTERVAL, **_: Any) -> None:
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.desc, self.total, self.n, self.unit = desc, total, initial, unit
        self.initial = initial
        self.disable = disable
        self.file = file
        self.interval = interval
        self.postfix = ""
        self._start = time.monotonic()
        self._last = -float("inf")
        self._printed_n: int | None = None

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            return
        for item in self.iterable:
            yield item
            self.update(1)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def line(self) -> str:
        elapsed = time.monotonic() - self._start
        text = f"{self.desc}: {self.n}" if self.desc else f"{self.n}"
        if self.total:
            text += f"/{self.total}"
        if not self.desc.startswith(self.unit):  # "trials: 3/16", not "trials: 3/16 trials"
            text += f" {self.unit}s"
        if self.total:
            text += f" ({100 * self.n / self.total:.0f}%)"
        text += f", {_clock(elapsed)} elapsed"
        done_here = self.n - self.initial
        if self.total and 0 < done_here and self.n < self.total:
            text += f", ETA {_clock(elapsed / done_here * (self.total - self.n))}"
        return text + (f" [{self.postfix}]" if self.postfix else "")

    def _report(self, force: bool = False) -> None:
        if self.disable or self.n == self._printed_n:
            return
        now = time.monotonic()
        if force or now - self._last >= self.interval or (self.total is not None and self.n >= self.total):
            print(self.line(), file=self._stream(), flush=True)
            self._last, self._printed_n = now, self.n

    def update(self, n: int = 1) -> None:
        self.n += n
        self._report()

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        values = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def write(self, text: str) -> None:
        print(text, file=self._stream(), flush=True)

    def close(self) -> None:
        self._report(force=self.n != self.initial)
        self.disable = True


def progress(iterable: Iterable | None = None, *, disable: bool = False, leave: bool = True, **kwargs: Any):
    """A tqdm bar on a terminal; plain lines (outer bars) or nothing (inner bars, ``leave=False``) otherwise.

    Takes tqdm's arguments (``desc``, ``total``, ``initial``, ``unit``, ``file``, ...).
    """
    stream = kwargs.get("file")
    if disable or _disabled_by_env():
        return tqdm(iterable, disable=True, **kwargs)
    if is_terminal(stream):
        return tqdm(iterable, leave=leave, **kwargs)
    return PlainProgress(iterable, disable=not leave, **kwargs)
