"""CIFAR-10 on small synthetic files in the official "python version" format."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsewire.data import DataError, load_dataset
from sparsewire.data.cifar10 import parse_batch

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
PER_BATCH = 8  # 40 training and 8 test images


def make_batches(seed: int = 0) -> dict[str, dict[bytes, object]]:
    rng = np.random.default_rng(seed)
    out = {}
    for name in BATCHES:
        out[name] = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, PER_BATCH)],
            b"data": rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(PER_BATCH)],
        }
    return out


def write_dir(folder: Path, batches: dict[str, dict[bytes, object]], protocol: int = 2) -> Path:
    folder.mkdir(parents=True)
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    return folder


def write_archive(path: Path, batches: dict[str, dict[bytes, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, batch in batches.items():
            data = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def pixels(s, x: torch.Tensor) -> np.ndarray:
    mean = torch.tensor(s.mean).view(1, 3, 1, 1)
    std = torch.tensor(s.std).view(1, 3, 1, 1)
    return (x * std + mean).round().to(torch.uint8).numpy()


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_batches_dir(tmp_path: Path, protocol: int) -> None:
    batches = make_batches()
    folder = write_dir(tmp_path / "root" / "cifar10" / "cifar-10-batches-py", batches, protocol)
    s = load_dataset("cifar10", data_dir=tmp_path / "root", val_size=10, download=False, verify=False)
    assert s.source == folder and s.name == "cifar10" and s.num_classes == 10
    assert s.input_shape == (3, 32, 32) and s.classes[0] == "airplane"
    assert s.train[0].shape == (30, 3, 32, 32) and s.val[0].shape == (10, 3, 32, 32)
    assert s.test[0].shape == (PER_BATCH, 3, 32, 32) and s.test[1].dtype == torch.int64
    # channel-major rows: data[:, :1024] is the red plane, row by row
    test = batches["test_batch"]
    np.testing.assert_array_equal(pixels(s, s.test[0]), test[b"data"].reshape(-1, 3, 32, 32))
    assert s.test[1].tolist() == test[b"labels"]
    # train + val are the five training batches; per-channel normalisation of the train split
    all_labels = sorted(sum((batches[n][b"labels"] for n in BATCHES[:5]), []))
    assert sorted(torch.cat([s.train[1], s.val[1]]).tolist()) == all_labels
    assert torch.allclose(s.train[0].mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(s.train[0].std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)
    flat = load_dataset("cifar10", data_dir=folder, val_size=0, download=False, verify=False, flatten=True)
    assert (
        flat.train[0].shape == (40, 3072) and flat.val[0].shape == (0, 3072) and flat.input_shape == (3072,)
    )


def test_archive_matches_dir(tmp_path: Path) -> None:
    batches = make_batches(seed=1)
    archive = write_archive(tmp_path / "a" / "cifar-10-python.tar.gz", batches)
    folder = write_dir(tmp_path / "b" / "cifar-10-batches-py", batches)
    from_archive = load_dataset("cifar10", data_dir=archive.parent, val_size=5, download=False, verify=False)
    from_dir = load_dataset("cifar10", data_dir=tmp_path / "b", val_size=5, download=False, verify=False)
    assert from_archive.source == archive.parent and from_dir.source == folder
    for a, b in zip(
        (from_archive.train, from_archive.val, from_archive.test),
        (from_dir.train, from_dir.val, from_dir.test),
        strict=True,
    ):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_checksums_on_by_default(tmp_path: Path) -> None:
    write_dir(tmp_path / "cifar-10-batches-py", make_batches())
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert "data_batch_1" in msg and "md5 c99cafc152244af753f735de768cd75f" in msg and "verify=False" in msg
    archive = write_archive(tmp_path / "other" / "cifar-10-python.tar.gz", make_batches())
    with pytest.raises(DataError, match=f"checksum mismatch for {archive}"):
        load_dataset("cifar10", data_dir=archive.parent, download=False)


def test_corrupt_files(tmp_path: Path) -> None:
    folder = write_dir(tmp_path / "cifar-10-batches-py", make_batches())
    good = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="data_batch_3: not a readable CIFAR-10 batch pickle"):
        load_dataset("cifar10", data_dir=tmp_path, download=False, verify=False)

    bad = make_batches()["data_batch_3"]
    bad[b"data"] = np.zeros((PER_BATCH, 100), np.uint8)
    (folder / "data_batch_3").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(DataError, match=r"must be uint8 of shape \(N, 3072\)"):
        load_dataset("cifar10", data_dir=tmp_path, download=False, verify=False)

    archive = write_archive(tmp_path / "arch" / "cifar-10-python.tar.gz", make_batches())
    archive.write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(DataError, match="corrupt or truncated archive"):
        load_dataset("cifar10", data_dir=archive.parent, download=False, verify=False)


def test_pickle_cannot_run_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    with pytest.raises(DataError, match="not allowed"):
        parse_batch(pickle.dumps({b"data": Evil(), b"labels": []}), "evil")
    assert not (tmp_path / "pwned").exists()


def test_numpy1_style_pickle() -> None:
    """Official batches name numpy.core.multiarray (numpy 1.x); that must load under numpy 2 too."""
    batch = make_batches()["test_batch"]
    data = pickle.dumps(batch, protocol=2)
    legacy = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct" in legacy
    images, labels = parse_batch(legacy, "legacy")
    np.testing.assert_array_equal(images.reshape(PER_BATCH, -1), batch[b"data"])
    assert labels.tolist() == batch[b"labels"]
