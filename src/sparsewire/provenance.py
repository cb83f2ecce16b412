"""What produced a study's numbers: library versions and the project's git commit.

:func:`environment` is recorded in every study folder's store meta (key ``environment``) when a run starts,
and appended to ``environment_history`` when it differs from the last recorded one, so a study resumed with
other versions or code says so.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparsewire.results.store import ResultsStore

#: Distributions whose versions are recorded (those installed; the optional ones may be absent).
PACKAGES = ("sparsewire", "torch", "numpy", "scipy", "pandas", "networkx", "scikit-learn", "pydantic", "PyYAML",
            "matplotlib", "tqdm", "python-igraph", "rustworkx", "ray", "onnx", "onnxruntime", "mlflow", "tensorboard")


def versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` (absent ones left out)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def git_commit(path: str | Path | None = None) -> dict[str, Any] | None:
    """The git commit of the checkout holding ``path`` (default: this package's source) and whether the
    working tree had uncommitted changes; None outside a git checkout (e.g. installed from a wheel)."""
    folder = Path(path) if path is not None else Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10,
                                  check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def environment() -> dict[str, Any]:
    """Python, platform, library versions, torch's CUDA build and the git commit of this source."""
    info: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform(),
                            "packages": versions(), "git": git_commit()}
    try:
        import torch

        info["torch_cuda"] = torch.version.cuda
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    return info


def record_environment(store: ResultsStore) -> dict[str, Any]:
    """Write :func:`environment` to ``store``'s meta (``environment``; a change is kept in
    ``environment_history``); returns it."""
    info = environment()
    previous = store.meta("environment")
    if previous != info:
        history = store.meta("environment_history", [])
        store.set_meta("environment_history", [*history, info])
    store.set_meta("environment", info)
    return info
