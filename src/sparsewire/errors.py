"""The errors sparsewire raises on purpose, and the exit codes the CLI turns them into.

Every error meant for the user derives from :class:`SparsewireError`: its message names the file or folder
involved and what to do, and ``sparsewire`` prints it as one line (``--debug`` for the traceback). Each
class keeps the builtin it used to be (``ValueError``, ``RuntimeError``), so ``except ValueError`` still
catches it.

Exit codes of the ``sparsewire`` command (also in the README's "Reliability" section):
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_TRIALS = 1  # the study ran, but some trials failed or diverged (their rows are not results)
EXIT_USAGE = 2  # bad input: config, arguments, data, model or graph file, study folder
EXIT_LOCKED = 3  # the study folder is in use by another run
EXIT_INTERNAL = 70  # a bug: an unexpected exception (EX_SOFTWARE)
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT); SIGTERM exits 143

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_TRIALS: "the study ran, but some trials failed or diverged",
    EXIT_USAGE: "invalid input: config, arguments, dataset, model or graph file, study folder, corrupt database",
    EXIT_LOCKED: "the study folder is in use by another run (use --wait to wait for it)",
    EXIT_INTERNAL: "internal error (a bug; rerun with --debug and report the traceback)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); rerun the same command to resume (SIGTERM: 143)",
}

__doc__ += "\n".join(f"\n- ``{code}``: {text}" for code, text in EXIT_CODES.items())


class SparsewireError(Exception):
    """Base of the errors meant for the user; ``exit_code`` is what the CLI exits with."""

    exit_code: int = EXIT_USAGE


class ConfigError(SparsewireError, ValueError):
    """A study config that cannot be run (unreadable YAML, unknown key, bad value, unknown study type)."""


class StoreError(SparsewireError, RuntimeError):
    """A study folder's results store cannot be opened or read (corrupt, not a folder, unreadable)."""


class StudyMismatch(SparsewireError, ValueError):
    """A config names another study than the one a folder records (refused unless ``--force``)."""


class StudyLocked(SparsewireError, RuntimeError):
    """Another run holds the study folder's lock."""

    exit_code = EXIT_LOCKED


class ModelFileError(SparsewireError, ValueError):
    """A model file that cannot be loaded safely (pickled code, unknown format, wrong architecture)."""


class TrainingDiverged(SparsewireError, ArithmeticError):
    """Training produced a non-finite loss or weight; ``epoch`` is the (1-based) epoch it happened in."""

    def __init__(self, epoch: int, what: str, step: int | None = None) -> None:
        self.epoch = epoch
        self.what = what
        self.step = step
        where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
        super().__init__(f"training diverged in {where}: {what}")

    def __reduce__(self):  # keeps epoch and step across processes (Ray)
        return (type(self), (self.epoch, self.what, self.step))

