"""Where dataset files come from: checksum tables, search order, download.

Files are looked up offline first (see :func:`search_paths`); only when no
location holds a complete set, and ``download`` is allowed, are the official
files fetched into the user cache (:func:`cache_dir`). Every file is checked
against the published checksums below before it is decoded.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError
from .idx import decompress

__all__ = [
    "ENV_VAR",
    "SOURCES",
    "Found",
    "FileSpec",
    "Source",
    "cache_dir",
    "canonical_name",
    "download",
    "locate",
    "named_data_dir",
    "obtain",
    "search_paths",
    "use_data_dir",
    "verify_bytes",
]

log = logging.getLogger(__name__)

#: Environment variable naming extra data roots (``os.pathsep``-separated).
ENV_VAR = "SPARSEWIRE_DATA"
#: Environment variable naming *the* data folder (``sparsewire run --data-dir``): the only place searched.
DIR_ENV_VAR = "SPARSEWIRE_DATA_DIR"
#: Per-read socket timeout for downloads, in seconds.
DOWNLOAD_TIMEOUT = 60.0
_USER_AGENT = "sparsewire-data/0.1 (+python urllib)"


@dataclass(frozen=True)
class FileSpec:
    """One published file and the digests it is accepted under.

    ``sha256``/``md5`` are digests of the file as published; ``content_sha256``
    is the digest of its decompressed content, so that re-compressed copies
    (e.g. Debian's, with other gzip headers) and uncompressed copies also verify.
    """

    name: str
    sha256: str | None = None
    md5: str | None = None
    content_sha256: str | None = None

    @property
    def candidates(self) -> tuple[str, ...]:
        """File names accepted on disk: the published name, then without ``.gz``."""
        if self.name.endswith(".gz"):
            return (self.name, self.name[: -len(".gz")])
        return (self.name,)

    def expected(self) -> str:
        """Human-readable list of accepted digests."""
        parts = []
        if self.sha256:
            parts.append(f"sha256 {self.sha256}")
        if self.md5:
            parts.append(f"md5 {self.md5}")
        if self.content_sha256:
            parts.append(f"sha256 {self.content_sha256} of the decompressed content")
        return " or ".join(parts) or "(no digest known)"


@dataclass(frozen=True)
class Source:
    """Everything needed to find or fetch one dataset.

    ``layouts`` are alternative complete file sets, each ``(subfolder, files)``
    relative to a searched directory; the first complete one wins.
    ``downloads`` are the files fetched from ``mirrors`` (tried in order).
    """

    name: str
    layouts: tuple[tuple[str, tuple[FileSpec, ...]], ...]
    downloads: tuple[FileSpec, ...]
    mirrors: tuple[str, ...]
    subdirs: tuple[str, ...]
    extra_roots: tuple[Path, ...] = ()

    def urls(self, spec: FileSpec) -> list[str]:
        """Download URLs for ``spec``, primary mirror first."""
        return [mirror + spec.name for mirror in self.mirrors]


def _idx(name: str, sha256: str, content_sha256: str) -> FileSpec:
    return FileSpec(name, sha256=sha256, content_sha256=content_sha256)


# SHA256 of the official .gz files (as published; identical to ../shared/data/SHA256SUMS)
# and of their decompressed content (which also covers re-compressed and unpacked copies).
MNIST_FILES = (
    _idx(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    _idx(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    _idx(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    _idx(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
)
FASHION_MNIST_FILES = (
    _idx(
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    _idx(
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    _idx(
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    _idx(
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
)
# CIFAR-10 "python version": the archive's sha256/md5 as published, and the md5 of
# the extracted batches (the digests torchvision checks).
CIFAR10_ARCHIVE = FileSpec(
    "cifar-10-python.tar.gz",
    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    md5="c58f30108f718f92721af3b95e74349a",
)
CIFAR10_BATCH_DIR = "cifar-10-batches-py"
CIFAR10_BATCHES = (
    FileSpec("data_batch_1", md5="c99cafc152244af753f735de768cd75f"),
    FileSpec("data_batch_2", md5="d4bba439e000b95fd0a9bffe97cbabec"),
    FileSpec("data_batch_3", md5="54ebc095f3ab1f0389bbae665268c751"),
    FileSpec("data_batch_4", md5="634d18415352ddfa80567beed471001a"),
    FileSpec("data_batch_5", md5="482c414d41f54cd18b22e5b47cb7c3cb"),
    FileSpec("test_batch", md5="40351d587109b95175f43aff81a1287e"),
)

SOURCES: dict[str, Source] = {
    "mnist": Source(
        name="mnist",
        layouts=(("", MNIST_FILES),),
        downloads=MNIST_FILES,
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        subdirs=("mnist", "MNIST/raw"),
    ),
    "fashion-mnist": Source(
        name="fashion-mnist",
        layouts=(("", FASHION_MNIST_FILES),),
        downloads=FASHION_MNIST_FILES,
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        subdirs=("fashion-mnist", "fashion_mnist", "FashionMNIST/raw"),
        extra_roots=(Path("/usr/share/datasets/fashion-mnist"),),
    ),
    "cifar10": Source(
        name="cifar10",
        layouts=(
            (CIFAR10_BATCH_DIR, CIFAR10_BATCHES),
            ("", CIFAR10_BATCHES),
            ("", (CIFAR10_ARCHIVE,)),
        ),
        downloads=(CIFAR10_ARCHIVE,),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        subdirs=("cifar10", "cifar-10"),
    ),
}

_ALIASES = {"fashionmnist": "fashion-mnist", "fmnist": "fashion-mnist", "cifar-10": "cifar10"}


def canonical_name(name: str) -> str:
    """Normalise a dataset name (``"Fashion_MNIST"`` -> ``"fashion-mnist"``); ValueError if unknown."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, _ALIASES.get(key.replace("-", ""), key))
    if key not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(SOURCES)}")
    return key


def cache_dir() -> Path:
    """User cache root for downloads: ``$XDG_CACHE_HOME/sparsewire/data`` or ``~/.cache/sparsewire/data``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "sparsewire" / "data"


def named_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """The data folder a caller named: ``data_dir``, else ``$SPARSEWIRE_DATA_DIR``; ``None`` if neither.

    A named folder is the only place searched, and where missing files are downloaded to: there is no
    silent fallback to another folder. An empty name or a file raise :class:`DataError`.
    """
    if data_dir is None:
        data_dir = os.environ.get(DIR_ENV_VAR)
        if data_dir is None:
            return None
    text = str(data_dir).strip()
    if not text:
        raise DataError("the data folder is empty (''): name an existing folder, or leave it out to search "
                        f"${ENV_VAR}, ./data, ../shared/data and {cache_dir()}")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise DataError(f"data folder {path} is a file, not a folder")
    return path


def use_data_dir(data_dir: str | Path) -> Path:
    """Make ``data_dir`` (an existing folder) the data folder of this process and its workers
    (``sparsewire run --data-dir``)."""
    path = named_data_dir(str(data_dir))
    if path is None or not path.is_dir():
        raise DataError(f"--data-dir {data_dir} does not exist; create it or name the folder holding the datasets")
    os.environ[DIR_ENV_VAR] = str(path.resolve())
    return path


def _roots(name: str, data_dir: str | Path | None) -> list[tuple[Path, bool]]:
    """Search roots in order, each flagged True if subfolders should be tried too.

    A named data folder (:func:`named_data_dir`) is the only root.
    """
    source = SOURCES[name]
    named = named_data_dir(data_dir)
    if named is not None:
        return [(named, True)]
    roots: list[tuple[Path, bool]] = []
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            roots.append((Path(entry.strip()).expanduser(), True))
    cwd = Path.cwd()
    roots.append((cwd / "data", True))
    roots.append((cwd.parent / "shared" / "data", True))
    roots.extend((root, False) for root in source.extra_roots)
    roots.append((cache_dir(), True))
    return roots


def search_paths(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for dataset ``name``, in order (existing or not).

    Only ``data_dir`` (or ``$SPARSEWIRE_DATA_DIR``) when one is named; else, in order:
    each entry of ``$SPARSEWIRE_DATA``, ``./data``,
    ``../shared/data`` (relative to the current directory), system folders
    (``/usr/share/datasets/fashion-mnist`` for Fashion-MNIST), then the user cache
    (:func:`cache_dir`). Within each root, ``<root>/<subfolder>`` (e.g. ``mnist``,
    ``MNIST/raw``) is tried before ``<root>`` itself.
    """
    name = canonical_name(name)
    source = SOURCES[name]
    paths: list[Path] = []
    for root, expand in _roots(name, data_dir):
        if not root.is_absolute():
            root = Path.cwd() / root
        for sub in (*source.subdirs, "") if expand else ("",):
            path = Path(os.path.normpath(root / sub))
            if path not in paths:
                paths.append(path)
    return paths


@dataclass(frozen=True)
class Found:
    """A complete set of files for one dataset: ``files`` maps published name -> path on disk."""

    name: str
    directory: Path
    specs: tuple[FileSpec, ...]
    files: dict[str, Path] = field(hash=False)


def _find_in(source: Source, directory: Path) -> tuple[Found | None, list[str]]:
    """Look for a complete layout in ``directory``; also return notes on incomplete ones."""
    notes: list[str] = []
    for sub, specs in source.layouts:
        folder = directory / sub if sub else directory
        if not folder.is_dir():
            continue
        hits: dict[str, Path] = {}
        for spec in specs:
            for candidate in spec.candidates:
                if (folder / candidate).is_file():
                    hits[spec.name] = folder / candidate
                    break
        if len(hits) == len(specs):
            return Found(source.name, folder, specs, hits), notes
        if hits:
            missing = [s.name for s in specs if s.name not in hits]
            notes.append(f"{folder} is incomplete (missing {', '.join(missing)})")
    return None, notes


def locate(name: str, data_dir: str | Path | None = None) -> tuple[Found | None, list[Path], list[str]]:
    """Search for dataset ``name`` offline.

    Returns ``(found or None, folders searched, notes on incomplete folders)``.
    """
    name = canonical_name(name)
    source = SOURCES[name]
    searched = search_paths(name, data_dir)
    notes: list[str] = []
    for directory in searched:
        found, dir_notes = _find_in(source, directory)
        notes.extend(dir_notes)
        if found is not None:
            return found, searched, notes
    return None, searched, notes


def _digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()


def verify_bytes(data: bytes, spec: FileSpec, source: str | Path) -> bytes | None:
    """Check ``data`` (the bytes of file ``source``) against ``spec``.

    Accepts a match of the published sha256/md5, or of ``content_sha256`` on the
    (gunzipped) content. Returns the decompressed content when it had to be
    computed (saves decompressing twice), else None. Raises :class:`DataError`
    naming the file, the expected and the actual digests.
    """
    actual_sha = _digest("sha256", data)
    if spec.sha256 and actual_sha == spec.sha256:
        return None
    actual_md5 = None
    if spec.md5:
        actual_md5 = _digest("md5", data)
        if actual_md5 == spec.md5:
            return None
    content_note = ""
    if spec.content_sha256:
        try:
            content = decompress(data, str(source))
        except DataError as exc:
            content_note = f"; the file is also not a valid gzip stream ({exc})"
        else:
            actual_content = actual_sha if content is data else _digest("sha256", content)
            if actual_content == spec.content_sha256:
                return content
            if content is not data:
                content_note = f", decompressed content sha256 {actual_content}"
    got = f"sha256 {actual_sha}" + (f", md5 {actual_md5}" if actual_md5 else "")
    raise DataError(
        f"checksum mismatch for {source} ({len(data)} bytes): expected {spec.expected()} "
        f"(official {spec.name}); got {got}{content_note}. "
        "The file is corrupt, truncated or not the official one: delete or replace it."
    )


def _fetch_url(url: str, target: Path, spec: FileSpec, timeout: float) -> None:
    """Download ``url`` to a temp file beside ``target``, verify it, then rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
        verify_bytes(tmp.read_bytes(), spec, url)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def download(
    name: str, dest: Path | None = None, timeout: float = DOWNLOAD_TIMEOUT
) -> tuple[Found | None, list[str]]:
    """Fetch the official files of ``name`` into ``dest`` (default ``cache_dir()/name``).

    Each file is tried from every mirror in turn, written atomically and verified.
    Files already in ``dest`` that verify are kept. Returns ``(found or None, log of
    URLs tried with their errors)``; never raises for network or checksum failures.
    """
    name = canonical_name(name)
    source = SOURCES[name]
    dest = dest if dest is not None else cache_dir() / name
    tried: list[str] = []
    files: dict[str, Path] = {}
    for spec in source.downloads:
        target = dest / spec.name
        if target.is_file():
            try:
                verify_bytes(target.read_bytes(), spec, target)
                files[spec.name] = target
                continue
            except DataError as exc:
                log.warning("re-downloading %s: %s", target, exc)
        for url in source.urls(spec):
            log.info("downloading %s -> %s", url, target)
            try:
                _fetch_url(url, target, spec, timeout)
            except (OSError, DataError, ValueError, http.client.HTTPException) as exc:
                tried.append(f"{url} -> failed: {type(exc).__name__}: {exc}")
                continue
            tried.append(f"{url} -> ok")
            files[spec.name] = target
            break
        else:
            return None, tried
    return Found(name, dest, source.downloads, files), tried


def _bullets(lines: Iterable[str | Path]) -> str:
    return "".join(f"\n  {line}" for line in lines)


def obtain(name: str, data_dir: str | Path | None = None, download_missing: bool = True) -> Found:
    """Locate dataset ``name`` offline, else download it; raise :class:`DataError` if neither works.

    The error lists every folder searched, every URL tried and how to supply the files.
    """
    name = canonical_name(name)
    source = SOURCES[name]
    found, searched, notes = locate(name, data_dir)
    if found is not None:
        return found
    tried: list[str] = []
    named = named_data_dir(data_dir)
    dest = named / source.subdirs[0] if named is not None else cache_dir() / source.name
    if download_missing:
        found, tried = download(name, dest)
        if found is not None:
            return found
    raise DataError(_missing_message(source, searched, notes, tried, download_missing, dest))


def _missing_message(
    source: Source, searched: Sequence[Path], notes: Sequence[str], tried: Sequence[str], downloaded: bool,
    dest: Path,
) -> str:
    wanted = " | ".join(
        f"{sub + '/' if sub else ''}{{{', '.join(s.name for s in specs)}}}" for sub, specs in source.layouts
    )
    msg = f"dataset {source.name!r} not found. Looked for: {wanted}\nSearched, in order:{_bullets(searched)}"
    if notes:
        msg += f"\nIncomplete:{_bullets(notes)}"
    if downloaded:
        msg += f"\nDownload into {dest} failed; URLs tried:{_bullets(tried)}"
    else:
        urls = [url for spec in source.downloads for url in source.urls(spec)]
        msg += f"\nDownload disabled (download=False); official URLs:{_bullets(urls)}"
    msg += (
        "\nTo supply the files, copy the official files into a folder and pass it with --data-dir DIR "
        f"(data_dir=DIR in Python) or set {ENV_VAR}=DIR; DIR may hold them directly or in "
        f"DIR/{source.subdirs[0]}/, or put them in {cache_dir() / source.name}"
        + (", or retry where the URLs above are reachable." if downloaded else ", or allow the download.")
    )
    return msg
