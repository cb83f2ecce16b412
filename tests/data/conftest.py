"""Fixtures for sparsewire.data tests: isolated search paths, no network, shared data."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# tests/data/conftest.py -> <repo>/../shared/data
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _have(name: str) -> bool:
    return all((SHARED_DATA / name / f).is_file() for f in IDX_FILES)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run each test in an empty cwd with its own cache dir, no SPARSEWIRE_DATA and no network."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("SPARSEWIRE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_network(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return work


def _shared(name: str) -> Path:
    if not _have(name):
        pytest.skip(
            f"{name} idx files not found in {SHARED_DATA} (the ../shared/data checkout beside the repo)"
        )
    return SHARED_DATA


@pytest.fixture
def shared_data() -> Path:
    """Root holding mnist/ and fashion-mnist/ (skips if absent)."""
    _shared("mnist")
    return _shared("fashion-mnist")


@pytest.fixture
def mnist_dir() -> Path:
    """Folder with the four official MNIST files (skips if absent)."""
    return _shared("mnist") / "mnist"


@pytest.fixture
def mnist_copy(tmp_path: Path, mnist_dir: Path) -> Path:
    """A writable copy of the MNIST files in tmp_path/copy/mnist."""
    dest = tmp_path / "copy" / "mnist"
    dest.mkdir(parents=True)
    for f in IDX_FILES:
        shutil.copyfile(mnist_dir / f, dest / f)
    return dest
