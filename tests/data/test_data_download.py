"""Download path, with urllib.request.urlopen monkeypatched (never real network)."""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sparsewire.data import DataError, cache_dir, load_dataset, search_paths
from sparsewire.data.sources import MNIST_FILES

PRIMARY = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FALLBACK = "http://yann.lecun.com/exdb/mnist/"


class FakeWeb:
    """Serves ``pages`` (url -> bytes); any other URL fails like an unreachable host."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.requested: list[str] = []

    def __call__(self, request: urllib.request.Request | str, timeout: float | None = None) -> io.BytesIO:
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        assert timeout is not None and timeout > 0, "downloads must use a timeout"
        self.requested.append(url)
        if url not in self.pages:
            raise urllib.error.URLError(f"cannot reach {url}")
        return io.BytesIO(self.pages[url])


def _install(monkeypatch: pytest.MonkeyPatch, pages: dict[str, bytes]) -> FakeWeb:
    web = FakeWeb(pages)
    monkeypatch.setattr(urllib.request, "urlopen", web)
    return web


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_from_fallback_mirror(monkeypatch: pytest.MonkeyPatch, mnist_dir: Path) -> None:
    pages = {FALLBACK + s.name: (mnist_dir / s.name).read_bytes() for s in MNIST_FILES}
    web = _install(monkeypatch, pages)
    s = load_dataset("mnist", train_limit=50, val_size=100)
    dest = cache_dir() / "mnist"
    assert s.source == dest and s.train[0].shape == (50, 1, 28, 28) and s.test[0].shape == (10_000, 1, 28, 28)
    assert web.requested == [
        url for spec in MNIST_FILES for url in (PRIMARY + spec.name, FALLBACK + spec.name)
    ]
    assert _leftovers(dest) == sorted(spec.name for spec in MNIST_FILES)  # no temp files left behind
    # the cache is found offline next time: no further requests
    load_dataset("mnist", train_limit=50, val_size=100)
    assert len(web.requested) == 8


def test_download_only_missing_files(monkeypatch: pytest.MonkeyPatch, mnist_dir: Path) -> None:
    dest = cache_dir() / "mnist"
    dest.mkdir(parents=True)
    for spec in MNIST_FILES[:3]:
        os.symlink(mnist_dir / spec.name, dest / spec.name)
    missing = MNIST_FILES[3].name
    web = _install(monkeypatch, {PRIMARY + missing: (mnist_dir / missing).read_bytes()})
    s = load_dataset("mnist", train_limit=10)
    assert web.requested == [PRIMARY + missing] and s.source == dest


def test_download_bad_bytes_is_checksum_error(monkeypatch: pytest.MonkeyPatch, mnist_dir: Path) -> None:
    good = {spec.name: (mnist_dir / spec.name).read_bytes() for spec in MNIST_FILES}
    pages = {
        mirror + name: data[: len(data) // 2] for name, data in good.items() for mirror in (PRIMARY, FALLBACK)
    }
    _install(monkeypatch, pages)
    with pytest.raises(DataError) as err:
        load_dataset("mnist")
    msg = str(err.value)
    first = MNIST_FILES[0]
    assert f"{PRIMARY}{first.name} -> failed: DataError: checksum mismatch" in msg
    assert f"{FALLBACK}{first.name} -> failed" in msg and first.sha256 in msg
    assert not _leftovers(cache_dir() / "mnist"), "a bad download must not leave files in the cache"


def test_no_network_error_lists_everything(tmp_path: Path) -> None:
    # the autouse fixture makes every urlopen fail like a machine without network
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=tmp_path / "mine")
    msg = str(err.value)
    for path in search_paths("mnist", data_dir=tmp_path / "mine"):
        assert str(path) in msg
    assert f"{PRIMARY}train-images-idx3-ubyte.gz -> failed: URLError" in msg
    assert f"{FALLBACK}train-images-idx3-ubyte.gz -> failed" in msg
    assert "--data-dir" in msg and "SPARSEWIRE_DATA" in msg and str(cache_dir() / "mnist") in msg


def test_download_disabled_never_touches_network(monkeypatch: pytest.MonkeyPatch) -> None:
    web = _install(monkeypatch, {})
    with pytest.raises(DataError, match="download=False"):
        load_dataset("fashion-mnist", download=False)
    assert web.requested == []


def test_cifar_download_checks_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    _install(monkeypatch, {url: b"not the archive"})
    with pytest.raises(DataError) as err:
        load_dataset("cifar10")
    msg = str(err.value)
    assert f"{url} -> failed: DataError: checksum mismatch" in msg
    assert "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce" in msg
