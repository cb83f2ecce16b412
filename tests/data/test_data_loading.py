"""load_dataset on the real MNIST / Fashion-MNIST files, search order and corrupt files."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsewire.data import DATASETS, DataError, Splits, load_dataset, search_paths
from sparsewire.data.sources import MNIST_FILES, locate

IDX_FILES = [spec.name for spec in MNIST_FILES]


def _pixel_rows(s: Splits, x: torch.Tensor) -> set[bytes]:
    """Undo the normalisation (it depends on the training split) and hash each example's pixels."""
    pixels = x.reshape(len(x), -1).mul(s.std[0]).add_(s.mean[0]).round_().to(torch.uint8)
    return {row.tobytes() for row in pixels.numpy()}


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_dataset_shapes_and_counts(shared_data: Path, name: str) -> None:
    s = load_dataset(name, data_dir=shared_data, download=False)
    assert isinstance(s, Splits)
    assert s.name == name and s.num_classes == 10 and s.input_shape == (1, 28, 28)
    assert s.source == shared_data / name
    for (x, y), n in zip((s.train, s.val, s.test), (50_000, 10_000, 10_000), strict=True):
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert int(y.min()) == 0 and int(y.max()) == 9
    # train + val together are exactly the official training set
    counts = torch.bincount(torch.cat([s.train[1], s.val[1]]), minlength=10)
    expected = {
        "mnist": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        "fashion-mnist": [6000] * 10,
    }[name]
    assert counts.tolist() == expected
    assert torch.bincount(s.test[1]).sum() == 10_000
    assert _pixel_rows(s, s.train[0]).isdisjoint(_pixel_rows(s, s.val[0]))
    # normalised with the training statistics
    assert abs(float(s.train[0].mean())) < 1e-4
    assert abs(float(s.train[0].std()) - 1.0) < 1e-4
    assert abs(float(s.val[0].mean())) < 0.05 and abs(float(s.test[0].mean())) < 0.05
    assert DATASETS[name].train_size == 60_000


def test_seeded_split_is_reproducible(mnist_dir: Path) -> None:
    a = load_dataset("mnist", data_dir=mnist_dir, download=False, seed=3, train_limit=500)
    b = load_dataset("mnist", data_dir=mnist_dir, download=False, seed=3, train_limit=500)
    c = load_dataset("mnist", data_dir=mnist_dir, download=False, seed=4, train_limit=500)
    for split in ("train", "val"):
        assert torch.equal(getattr(a, split)[0], getattr(b, split)[0])
        assert torch.equal(getattr(a, split)[1], getattr(b, split)[1])
    assert not torch.equal(a.val[1], c.val[1])
    assert torch.equal(a.test[1], c.test[1])  # the test set is never shuffled


def test_train_limit_and_flatten(mnist_dir: Path) -> None:
    s = load_dataset(
        "mnist", data_dir=mnist_dir, download=False, val_size=1000, train_limit=300, flatten=True
    )
    assert (
        s.train[0].shape == (300, 784) and s.val[0].shape == (1000, 784) and s.test[0].shape == (10_000, 784)
    )
    assert s.input_shape == (784,) and s.image_shape == (1, 28, 28)
    assert _pixel_rows(s, s.train[0]).isdisjoint(_pixel_rows(s, s.val[0]))
    assert abs(float(s.train[0].mean())) < 1e-4 and abs(float(s.train[0].std()) - 1) < 1e-3
    # the validation hold-out does not depend on train_limit
    full = load_dataset("mnist", data_dir=mnist_dir, download=False, val_size=1000, flatten=True)
    assert torch.equal(full.val[1], s.val[1])
    assert _pixel_rows(s, s.train[0]).isdisjoint(_pixel_rows(full, full.val[0]))


def test_val_size_zero(mnist_dir: Path) -> None:
    s = load_dataset("mnist", data_dir=mnist_dir, download=False, val_size=0, train_limit=100)
    assert s.val[0].shape == (0, 1, 28, 28) and s.val[1].shape == (0,) and s.val[1].dtype == torch.int64
    flat = load_dataset(
        "mnist", data_dir=mnist_dir, download=False, val_size=0, train_limit=100, flatten=True
    )
    assert flat.val[0].shape == (0, 784)


def test_bad_arguments(mnist_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet", download=False)
    with pytest.raises(ValueError, match="val_size"):
        load_dataset("mnist", data_dir=mnist_dir, download=False, val_size=-1)
    with pytest.raises(ValueError, match="train_limit"):
        load_dataset("mnist", data_dir=mnist_dir, download=False, train_limit=0)
    with pytest.raises(ValueError, match="leaves no training data"):
        load_dataset("mnist", data_dir=mnist_dir, download=False, val_size=60_000)


def test_search_order(tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_root(root: Path, sub: str) -> Path:
        (root / sub).mkdir(parents=True)
        for f in IDX_FILES:
            os.symlink(mnist_dir / f, root / sub / f)
        return root / sub

    cwd = Path.cwd()
    # a named folder is the only place searched (no silent fallback elsewhere)
    assert search_paths("mnist", data_dir=tmp_path / "explicit") == [
        tmp_path / "explicit" / "mnist",
        tmp_path / "explicit" / "MNIST/raw",
        tmp_path / "explicit",
    ]
    paths = search_paths("mnist")
    assert paths.index(cwd / "data" / "mnist") < paths.index(cwd.parent / "shared" / "data" / "mnist")
    assert paths[-1] == tmp_path / "cache" / "sparsewire" / "data"
    assert Path("/usr/share/datasets/fashion-mnist") in search_paths("fashion-mnist")
    assert Path("/usr/share/datasets/fashion-mnist") not in paths

    cache = fake_root(tmp_path / "cache" / "sparsewire" / "data", "mnist")
    assert locate("mnist")[0].directory == cache
    shared = fake_root(cwd.parent / "shared" / "data", "mnist")
    assert locate("mnist")[0].directory == shared
    local = fake_root(cwd / "data", "MNIST/raw")  # torchvision layout
    assert locate("mnist")[0].directory == local
    env = fake_root(tmp_path / "env", "")  # files directly in the root
    monkeypatch.setenv("SPARSEWIRE_DATA", str(env))
    assert locate("mnist")[0].directory == env
    explicit = fake_root(tmp_path / "explicit", "mnist")
    assert locate("mnist", data_dir=tmp_path / "explicit")[0].directory == explicit


def test_missing_without_download(tmp_path: Path) -> None:
    (tmp_path / "partial" / "mnist").mkdir(parents=True)
    (tmp_path / "partial" / "mnist" / IDX_FILES[0]).write_bytes(b"")
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=tmp_path / "partial", download=False)
    msg = str(err.value)
    for path in search_paths("mnist", data_dir=tmp_path / "partial"):
        assert f"\n  {path}\n" in msg + "\n"
    assert "incomplete" in msg and "missing train-labels-idx1-ubyte.gz" in msg
    assert "download=False" in msg and "https://ossci-datasets.s3.amazonaws.com/mnist/" in msg
    assert "--data-dir" in msg and "SPARSEWIRE_DATA" in msg


def test_truncated_file(mnist_copy: Path) -> None:
    target = mnist_copy / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:100_000])
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=mnist_copy, download=False)
    msg = str(err.value)
    assert str(target) in msg and "checksum mismatch" in msg
    assert MNIST_FILES[0].sha256 in msg and "got sha256 " in msg
    assert "not a valid gzip stream" in msg
    # without checksums the decoder still refuses the broken stream
    with pytest.raises(DataError, match="corrupt or truncated gzip stream"):
        load_dataset("mnist", data_dir=mnist_copy, download=False, verify=False)


def test_flipped_bytes(mnist_copy: Path) -> None:
    import hashlib

    target = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[2000] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=mnist_copy, download=False)
    msg = str(err.value)
    assert f"checksum mismatch for {target}" in msg
    assert MNIST_FILES[3].sha256 in msg and MNIST_FILES[3].content_sha256 in msg
    assert hashlib.sha256(bytes(data)).hexdigest() in msg


def test_bad_idx_header_without_verify(mnist_copy: Path) -> None:
    labels = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    content = gzip.decompress(labels.read_bytes())
    labels.write_bytes(gzip.compress(b"\x12\x34" + content[2:]))  # wrong magic number
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: not an idx file"):
        load_dataset("mnist", data_dir=mnist_copy, download=False, verify=False)
    labels.write_bytes(gzip.compress(content[:-10]))  # size inconsistent with the header
    with pytest.raises(DataError, match="declares shape \\(10000,\\)"):
        load_dataset("mnist", data_dir=mnist_copy, download=False, verify=False)
    labels.write_bytes(gzip.compress(content[:8] + bytes([12]) + content[9:]))  # label out of range
    with pytest.raises(DataError, match="out of range"):
        load_dataset("mnist", data_dir=mnist_copy, download=False, verify=False)
    labels.write_bytes(gzip.compress(content[:4] + struct.pack(">I", 9999) + content[8:-1]))
    with pytest.raises(DataError, match="10000 images but"):
        load_dataset("mnist", data_dir=mnist_copy, download=False, verify=False)


def test_recompressed_and_unpacked_copies_verify(mnist_copy: Path) -> None:
    """Other gzip headers (as in Debian's package) and unpacked files pass on the content hash."""
    train_labels = mnist_copy / "train-labels-idx1-ubyte.gz"
    content = gzip.decompress(train_labels.read_bytes())
    recompressed = gzip.compress(content, compresslevel=1, mtime=12345)
    assert recompressed != train_labels.read_bytes()
    train_labels.write_bytes(recompressed)
    test_labels = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    (mnist_copy / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(test_labels.read_bytes()))
    test_labels.unlink()
    s = load_dataset("mnist", data_dir=mnist_copy, download=False, train_limit=10)
    assert s.source == mnist_copy and s.test[1].shape == (10_000,)
    assert torch.bincount(torch.cat([s.train[1], s.val[1]])).sum() == 10_010


def test_wrong_dataset_in_folder(shared_data: Path, tmp_path: Path) -> None:
    """Fashion-MNIST files where MNIST is expected fail the checksum instead of loading."""
    (tmp_path / "x" / "mnist").mkdir(parents=True)
    for f in IDX_FILES:
        os.symlink(shared_data / "fashion-mnist" / f, tmp_path / "x" / "mnist" / f)
    with pytest.raises(DataError, match="official train-images-idx3-ubyte.gz"):
        load_dataset("mnist", data_dir=tmp_path / "x", download=False)


def test_decoded_arrays_are_cached(mnist_dir: Path) -> None:
    from sparsewire.data import mnist

    load_dataset("mnist", data_dir=mnist_dir, download=False, train_limit=10)
    before = mnist._read_cached.cache_info().hits
    load_dataset("mnist", data_dir=mnist_dir, download=False, train_limit=10)
    assert mnist._read_cached.cache_info().hits >= before + 4
    np.testing.assert_array_equal(DATASETS["mnist"].image_shape, (1, 28, 28))
