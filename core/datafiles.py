"""MNIST-family data files, without PyTorch: the registry, finding the files,
downloading them and reading them as numpy arrays (``core.datasets`` turns them into
the tutorial's ``MNISTDataset``). The command line and the dashboard use this module
alone, so they start without importing PyTorch.

Files are looked for, in order: an explicit directory, the cache directory
(``$MNIST_TUI_CACHE/<dataset>`` or the platform's user cache, e.g.
``~/.cache/mnist-tui/<dataset>``), Debian's package folder where one exists, and
otherwise they are downloaded into the cache: mirror after mirror, each file's checksum
verified before it is renamed into place (pooch does the verified, atomic part).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from core.events import DownloadProgress
from core.idx import read_idx

CACHE_ENV = "MNIST_TUI_CACHE"

#: The four files of a dataset, by role.
ROLES = ("train_images", "train_labels", "test_images", "test_labels")
STANDARD_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, fetch and label one MNIST-format dataset."""

    name: str
    title: str
    classes: tuple[str, ...]
    mirrors: tuple[str, ...]
    #: role -> "md5:<hex>" or "sha256:<hex>" of the file as served (the .gz)
    checksums: dict[str, str]
    files: dict[str, str] = field(default_factory=lambda: dict(STANDARD_FILES))
    system_dirs: tuple[str, ...] = ()


DIGITS = tuple(str(i) for i in range(10))

REGISTRY: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        classes=DIGITS,
        # yann.lecun.com now refuses most requests: the PyTorch mirror goes first.
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        checksums={
            "train_images": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train_labels": "md5:d53e105ee54ea40749a09fcbcd1e9432",
            "test_images": "md5:9fb629c4189551a2d022fa330f9573f3",
            "test_labels": "md5:ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        checksums={
            "train_images": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train_labels": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "test_images": "md5:bef4ecab320f06d8554ea6380940ec79",
            "test_labels": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),  # Debian: dataset-fashion-mnist
    ),
    "kmnist": DatasetSpec(
        name="kmnist",
        title="Kuzushiji-MNIST",
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        checksums={
            "train_images": "md5:bdb82020997e1d708af4cf47b453dcf7",
            "train_labels": "md5:e144d726b3acfaa3e44228e80efcd344",
            "test_images": "md5:5c965bf0a639b31b8f53240b1b52f4d7",
            "test_labels": "md5:7320c461ea6c1c855c0b718fb2a4b134",
        },
    ),
}


def get_spec(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r} (choose from: {', '.join(REGISTRY)})"
        ) from None


# --------------------------------------------------------------------------- locating

def cache_dir(spec: DatasetSpec) -> Path:
    """Where downloads of ``spec`` live: ``$MNIST_TUI_CACHE/<name>`` or the user cache."""
    root = os.environ.get(CACHE_ENV)
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("mnist-tui", appauthor=False)
    return Path(root) / spec.name


def _file_in(directory: Path, filename: str) -> Path | None:
    """The file by its name, or without .gz (some people unpack them)."""
    for candidate in (filename, filename.removesuffix(".gz")):
        p = directory / candidate
        if os.path.isfile(p):  # (never raises: a folder that cannot be searched has none)
            return p
    return None


def find_files(directory: str | os.PathLike, spec: DatasetSpec) -> dict[str, Path] | None:
    """The four files of ``spec`` in ``directory``, or None when any is missing."""
    d = Path(directory)
    found = {role: _file_in(d, spec.files[role]) for role in ROLES}
    return found if all(found.values()) else None  # type: ignore[return-value]


def candidate_dirs(spec: DatasetSpec, data_dir: str | os.PathLike | None = None) -> list[Path]:
    dirs = [Path(data_dir)] if data_dir else []
    dirs.append(cache_dir(spec))
    dirs.extend(Path(p) for p in spec.system_dirs)
    return dirs


def locate(spec: DatasetSpec, data_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """The first complete set of files, searching the places in order; None if none."""
    for d in candidate_dirs(spec, data_dir):
        files = find_files(d, spec)
        if files:
            return files
    return None


# ------------------------------------------------------------------------ downloading

ProgressCallback = Callable[[DownloadProgress], None]


class _PoochProgress:
    """The progress-bar protocol pooch expects (total, update, reset, close)."""

    def __init__(self, callback: ProgressCallback, filename: str, url: str, index: int, count: int):
        self.callback, self.filename, self.url = callback, filename, url
        self.index, self.count = index, count
        self.total = 0
        self.n = 0

    def _emit(self) -> None:
        done = min(self.n, self.total) if self.total else self.n
        self.callback(DownloadProgress(self.filename, self.url, done, self.total,
                                       self.index, self.count))

    def update(self, n: int) -> None:
        self.n += n
        self._emit()

    def reset(self) -> None:
        self.n = 0

    def close(self) -> None:
        pass


def download(
    spec: DatasetSpec,
    dest: str | os.PathLike | None = None,
    *,
    progress: ProgressCallback | None = None,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Download the four files of ``spec`` into ``dest`` (default: its cache directory).

    Each file is tried on every mirror in order. A file is written under a temporary
    name and renamed only once its checksum matches; files already present and
    verified are kept. Raises ``DatasetError`` listing the URLs tried and where to put
    the files by hand.
    """
    import pooch
    import requests

    pooch.get_logger().setLevel(logging.WARNING)  # it would print to stderr otherwise
    dest = Path(dest) if dest else cache_dir(spec)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"{dest}: cannot create the download folder ({exc.strerror})") from None

    result: dict[str, Path] = {}
    for index, role in enumerate(ROLES, start=1):
        filename = spec.files[role]
        tried: list[str] = []
        for mirror in spec.mirrors:
            url = mirror.rstrip("/") + "/" + filename
            bar = _PoochProgress(progress, filename, url, index, len(ROLES)) if progress else False
            if bar and not (dest / filename).exists():
                bar._emit()  # 0 bytes yet: "connecting to <mirror>", said before the wait
            downloader = pooch.HTTPDownloader(progressbar=bar, timeout=timeout)
            try:
                path = pooch.retrieve(url, known_hash=spec.checksums[role], fname=filename,
                                      path=dest, downloader=downloader)
            except ValueError as exc:  # checksum mismatch: pooch already deleted the file
                reason = "checksum mismatch" if "hash" in str(exc).lower() else str(exc)
                tried.append(f"{url} ({reason})")
                continue
            except requests.exceptions.HTTPError as exc:
                code = exc.response.status_code if exc.response is not None else "?"
                tried.append(f"{url} (HTTP {code})")
                continue
            except (requests.exceptions.RequestException, OSError) as exc:
                tried.append(f"{url} ({type(exc).__name__})")
                continue
            result[role] = Path(path)
            break
        else:
            raise DatasetError(
                f"could not download {filename}; tried: {'; '.join(tried)}; "
                f"put the four files in {dest} or pass --data-dir"
            )
    return result


def check_data_dir(directory: str | os.PathLike, spec: DatasetSpec) -> Path:
    """``directory`` (``--data-dir``) as a folder that can be read, or ``DatasetError``
    naming what it is instead: the command line checks it before any screen opens, the
    loader again (its files are looked for then)."""
    d = Path(directory)
    try:
        st = os.stat(d)
    except FileNotFoundError:
        raise DatasetError(f"{d}: no such folder (--data-dir)") from None
    except (OSError, ValueError) as exc:  # a name too long, a loop of links ...
        raise DatasetError(f"{d}: cannot be read ({getattr(exc, 'strerror', None) or exc}) "
                           f"(--data-dir)") from None
    if stat.S_ISDIR(st.st_mode) and not os.access(d, os.R_OK | os.X_OK):
        raise DatasetError(f"{d}: cannot be read (permission denied) (--data-dir)")
    if not stat.S_ISDIR(st.st_mode):
        raise DatasetError(f"{d}: not a folder (--data-dir takes the folder holding the "
                           f"four {spec.title} files)")
    return d


def files_in(directory: str | os.PathLike, spec: DatasetSpec) -> dict[str, Path]:
    """The four files of ``spec`` in ``directory`` and nowhere else (``--data-dir``);
    ``DatasetError`` names the folder or the files that are missing."""
    d = check_data_dir(directory, spec)
    found = {role: _file_in(d, spec.files[role]) for role in ROLES}
    missing = [spec.files[role] for role, path in found.items() if path is None]
    if missing:
        have = "none of them" if len(missing) == len(ROLES) else f"{len(ROLES) - len(missing)} of 4"
        raise DatasetError(f"{d}: missing {', '.join(missing)} ({have} found; "
                           f"gzipped or not, as {spec.title} publishes them)")
    return found  # type: ignore[return-value]


def ensure_files(
    spec: DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    *,
    progress: ProgressCallback | None = None,
    allow_download: bool = True,
) -> dict[str, Path]:
    """``data_dir`` given: the files there, and only there. Otherwise the cache, then
    the system copy (see ``locate``), else a download into the cache."""
    if data_dir:
        return files_in(data_dir, spec)
    files = locate(spec)
    if files:
        return files
    searched = tuple(str(d) for d in candidate_dirs(spec))
    if not allow_download:
        raise DatasetError(f"{spec.title} files not found (looked in {', '.join(searched)}); "
                           f"pass --data-dir or allow the download", searched=searched)
    try:
        return download(spec, progress=progress)
    except DatasetError as exc:
        raise DatasetError(f"{spec.title} files not found in {', '.join(searched)}, and {exc}",
                           searched=searched) from None


def available_locally() -> tuple[str, ...]:
    """Names of the datasets whose four files are already on this machine (cache or
    system copy): what a user without a network can switch to."""
    return tuple(name for name, spec in REGISTRY.items() if locate(spec))


# ----------------------------------------------------------------------------- dataset

def _load_images(path: Path) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != np.uint8:
        raise DatasetError(f"{path}: images must be unsigned bytes, found {arr.dtype}")
    if arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise DatasetError(
            f"{path}: expected 28x28 images, found shape {' x '.join(map(str, arr.shape))}"
            + (" (is this a labels file?)" if arr.ndim == 1 else "")
        )
    return arr


def _load_labels(path: Path, num_classes: int = 10) -> np.ndarray:
    arr = read_idx(path)
    if arr.ndim != 1 or arr.dtype != np.uint8:
        raise DatasetError(
            f"{path}: expected a 1-dimensional list of byte labels, found "
            f"{arr.ndim} dimensions of {arr.dtype}" + (" (is this an images file?)" if arr.ndim == 3 else "")
        )
    if arr.size and int(arr.max()) >= num_classes:
        bad = int(np.argmax(arr >= num_classes))
        raise DatasetError(
            f"{path}: label {int(arr[bad])} at position {bad} is outside 0-{num_classes - 1}"
        )
    return arr


def test_arrays(name: str, data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, Path]:
    """The test split of a dataset already on disk, as uint8 arrays (images N x 28 x 28,
    labels N) and the folder they came from; nothing is downloaded."""
    spec = get_spec(name)
    files = files_in(data_dir, spec) if data_dir else locate(spec)
    if files is None:
        raise DatasetError(f"{spec.title}: the data files are not on this machine "
                           f"(looked in {', '.join(str(d) for d in candidate_dirs(spec, data_dir))})")
    images, labels = _load_images(files["test_images"]), _load_labels(files["test_labels"])
    return images, labels, files["test_images"].parent
