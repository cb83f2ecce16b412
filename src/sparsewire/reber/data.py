"""The Reber data set shipped with Stier, Darji & Granitzer (2021): 25,000 labelled strings.

``train_data.csv`` (18,750) and ``test_data.csv`` (6,250) have columns ``index,string,valid`` (the
index column is unnamed in the files); ``reber_sequences.csv`` holds all 25,000 as ``string,valid``.
Files are found offline (``data_dir``, ``$SPARSEWIRE_DATA``, ``./data``, ``../shared/data`` relative to
the current folder and to the repository) and verified against the SHA-256 digests below.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from sparsewire.reber.encoding import check_string, pad_batch
from sparsewire.reber.errors import ReberError

FILES: dict[str, str] = {
    "train_data.csv": "a49309775bbbbac32e79102740b3c49b351dfc582d4b8b5b878a9fc69accbe49",
    "test_data.csv": "df63cf5a6afeeaa2b735eda16203b430618284ed33a16849967aebf1ef4990f4",
    "reber_sequences.csv": "55e414168727dbfa529f22dd84336c04d5e48ea6d7c3d1c911ba431464769310",
}
"""SHA-256 of the published files (identical to ``../shared/data/SHA256SUMS``)."""

SUBDIR = "reber"
_REPO_ROOT = Path(__file__).resolve().parents[3]


def _named(data_dir: str | Path | None) -> Path | None:
    """:func:`sparsewire.data.sources.named_data_dir`, failing as a :class:`ReberError`."""
    from sparsewire.data.errors import DataError
    from sparsewire.data.sources import named_data_dir

    try:
        return named_data_dir(data_dir)
    except DataError as err:
        raise ReberError(str(err)) from err


def search_paths(data_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for the CSVs, in order: each root and its ``reber/`` subfolder.

    A named data folder (``data_dir`` or ``$SPARSEWIRE_DATA_DIR``, see
    :func:`sparsewire.data.sources.named_data_dir`) is the only root; else ``$SPARSEWIRE_DATA``, ``./data``,
    ``../shared/data``.
    """
    named = _named(data_dir)
    if named is not None:
        roots = [named]
    else:
        roots = [Path(p) for p in os.environ.get("SPARSEWIRE_DATA", "").split(os.pathsep) if p]
        roots += [Path("data"), Path("..") / "shared" / "data", _REPO_ROOT.parent / "shared" / "data"]
    out: list[Path] = []
    for root in roots:
        for folder in (root / SUBDIR, root):
            folder = Path(os.path.normpath(folder.absolute()))
            if folder not in out:
                out.append(folder)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def locate(name: str, data_dir: str | Path | None = None, verify: bool = True) -> Path:
    """Path of the shipped file ``name``; :class:`ReberError` if absent or if its checksum differs."""
    if name not in FILES:
        raise ReberError(f"unknown Reber file {name!r}; choose from {sorted(FILES)}")
    for folder in search_paths(data_dir):
        path = folder / name
        if path.is_file():
            if verify and sha256(path) != FILES[name]:
                raise ReberError(f"{path} has SHA-256 {sha256(path)}, expected {FILES[name]} (corrupt or a different file)")
            return path
    looked = "\n  ".join(str(p) for p in search_paths(data_dir))
    raise ReberError(f"{name} not found; looked in:\n  {looked}\n(set data_dir or $SPARSEWIRE_DATA)")


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a Reber CSV (``index,string,valid`` or ``string,valid``) into columns ``string``, ``valid``.

    Checks the columns, that every string is non-empty over A–Z, and that labels are 0/1.
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype={"string": str}, keep_default_na=False)
    columns = [c for c in frame.columns if c not in ("", "index") and not str(c).startswith("Unnamed")]
    if sorted(columns) != ["string", "valid"]:
        raise ReberError(f"{path} has columns {list(frame.columns)}; expected [index,]string,valid")
    for i, s in enumerate(frame["string"]):
        check_string(s, f"{path.name} row {i}")
    labels = pd.to_numeric(frame["valid"], errors="coerce")
    if labels.isna().any() or not set(labels.unique()) <= {0, 1}:
        raise ReberError(f"{path} column 'valid' must hold 0/1 labels, got {sorted(map(str, frame['valid'].unique()))[:5]}")
    return pd.DataFrame({"string": frame["string"].astype(str), "valid": labels.astype(int)})


Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def to_tensors(frame: pd.DataFrame, length: int | None = None) -> Tensors:
    """``(tokens (N, T), lengths (N,), valid (N,))`` — the data tuple the training loop consumes."""
    tokens, lengths = pad_batch(frame["string"].tolist(), length)
    return tokens, lengths, torch.tensor(frame["valid"].to_numpy(), dtype=torch.long)


@dataclass(frozen=True)
class ReberSplits:
    """Train / validation / test tuples ``(tokens, lengths, valid)``; validation is carved out of train."""

    train: Tensors
    val: Tensors
    test: Tensors
    num_classes: int = 2


@functools.lru_cache(maxsize=8)
def _load(data_dir: str | None, val_size: int, seed: int, train_limit: int | None, test_limit: int | None) -> ReberSplits:
    train = read_csv(locate("train_data.csv", data_dir))
    test = read_csv(locate("test_data.csv", data_dir))
    if not 0 <= val_size < len(train):
        raise ReberError(f"val_size must be in [0, {len(train)}), got {val_size}")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed)).numpy()
    val, train = train.iloc[order[:val_size]], train.iloc[order[val_size:]]
    if train_limit is not None:
        train = train.iloc[:train_limit]
    if test_limit is not None:
        test = test.iloc[:test_limit]
    return ReberSplits(to_tensors(train), _val(val), to_tensors(test))


def _val(frame: pd.DataFrame) -> Tensors:
    if len(frame) == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return torch.zeros(0, 1, dtype=torch.long), empty, empty
    return to_tensors(frame)


def load_reber(
    data_dir: str | Path | None = None,
    *,
    val_size: int = 1875,
    seed: int = 0,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> ReberSplits:
    """The shipped train/test split, with ``val_size`` training strings (drawn with ``seed``) held out.

    ``train_limit``/``test_limit`` keep the first strings only (quick runs and tests). Results are cached
    per process; the tensors are shared, so do not modify them in place.
    """
    if train_limit is not None and train_limit < 1 or test_limit is not None and test_limit < 1:
        raise ReberError("train_limit and test_limit must be positive")
    named = _named(data_dir)  # the cache is keyed by the folder actually searched ($SPARSEWIRE_DATA_DIR included)
    return _load(None if named is None else str(named), int(val_size), int(seed), train_limit, test_limit)
