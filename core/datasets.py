"""MNIST-family datasets: the registry, finding the files, downloading them, and
``MNISTDataset`` (the tutorial's Dataset, kept compatible, with batched access).

Files are looked for, in order: an explicit directory, the cache directory
(``$MNIST_TUI_CACHE/<dataset>`` or the platform's user cache, e.g.
``~/.cache/mnist-tui/<dataset>``), Debian's package folder where one exists, and
otherwise they are downloaded into the cache: mirror after mirror, each file's checksum
verified before it is renamed into place (pooch does the verified, atomic part).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.errors import DatasetError
from core.events import DownloadProgress  # noqa: F401  (here too: it was defined here first)
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
        if p.is_file():
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
                f"could not download {filename} for {spec.title}; tried: {'; '.join(tried)}. "
                f"Put the four files ({', '.join(spec.files.values())}) in {dest} "
                f"or pass --data-dir"
            )
    return result


def ensure_files(
    spec: DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    *,
    progress: ProgressCallback | None = None,
    allow_download: bool = True,
) -> dict[str, Path]:
    """Find the files (see ``locate``) or download them into the cache."""
    files = locate(spec, data_dir)
    if files:
        return files
    if not allow_download:
        where = ", ".join(str(d) for d in candidate_dirs(spec, data_dir))
        raise DatasetError(f"{spec.title} files not found (looked in {where})")
    return download(spec, progress=progress)


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


class MNISTDataset(torch.utils.data.Dataset):
    """The tutorial's dataset: ``MNISTDataset(images_path, labels_path)``.

    ``ds[i]`` is ``(784-element float32 tensor in [0, 1], int64 label)`` as in the
    tutorial. Pixels are kept as uint8 (a quarter of the memory) and scaled per
    batch; ``batch(indices)`` and ``batches(...)`` give whole batches at once, so
    training never collates item by item. ``__getitems__`` lets a DataLoader fetch a
    batch in one call too.
    """

    def __init__(self, images_path: str | os.PathLike, labels_path: str | os.PathLike):
        images = _load_images(Path(images_path))
        labels = _load_labels(Path(labels_path))
        if len(images) != len(labels):
            raise DatasetError(
                f"{labels_path}: has {len(labels):,} labels but {images_path} has "
                f"{len(images):,} images; they must be the same count"
            )
        self._set(torch.from_numpy(images.reshape(len(images), 784).copy()),
                  torch.from_numpy(labels.astype(np.int64)))

    def _set(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images  # (N, 784) uint8
        self.labels = labels  # (N,) int64

    @classmethod
    def from_tensors(cls, images: torch.Tensor, labels: torch.Tensor) -> MNISTDataset:
        """A dataset from (N, 784) or (N, 28, 28) uint8 images and (N,) labels."""
        ds = cls.__new__(cls)
        ds._set(images.reshape(len(images), 784).to(torch.uint8), labels.to(torch.int64))
        return ds

    def head(self, n: int | None) -> MNISTDataset:
        """The first ``n`` examples (all when n is None or larger than the set)."""
        if n is None or n >= len(self):
            return self
        return MNISTDataset.from_tensors(self.images[:n], self.labels[:n])

    def to(self, device: torch.device | str) -> MNISTDataset:
        """The same data on ``device`` (the whole set fits on any GPU: 55 MB as bytes)."""
        return MNISTDataset.from_tensors(self.images.to(device), self.labels.to(device))

    @property
    def device(self) -> torch.device:
        return self.images.device

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index].to(torch.float32) / 255.0, self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.batch(torch.as_tensor(indices))
        return list(zip(x, y))

    def batch(self, indices: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 784) float32 in [0, 1] and labels (B,) for ``indices``."""
        return self.images[indices].to(torch.float32).div_(255.0), self.labels[indices]

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None,
        start: int = 0,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches over the set, in a random order drawn from ``generator`` when
        ``shuffle``; ``start`` skips that many batches (to resume mid-epoch)."""
        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.device) if shuffle else None
        for lo in range(start * batch_size, n, batch_size):
            idx = order[lo:lo + batch_size] if order is not None else slice(lo, lo + batch_size)
            yield self.batch(idx)

    def image(self, index: int) -> np.ndarray:
        """Digit ``index`` as a 28x28 uint8 array (for drawing)."""
        return self.images[index].reshape(28, 28).cpu().numpy()


def test_arrays(name: str, data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, Path]:
    """The test split of a dataset already on disk, as uint8 arrays (images N x 28 x 28,
    labels N) and the folder they came from; nothing is downloaded."""
    spec = get_spec(name)
    files = locate(spec, data_dir)
    if files is None:
        raise DatasetError(f"{spec.title}: the data files are not on this machine "
                           f"(looked in {', '.join(str(d) for d in candidate_dirs(spec, data_dir))})")
    images, labels = _load_images(files["test_images"]), _load_labels(files["test_labels"])
    return images, labels, files["test_images"].parent


@dataclass
class DataSplits:
    spec: DatasetSpec
    train: MNISTDataset
    test: MNISTDataset
    files: dict[str, Path]


def load(
    name: str = "mnist",
    data_dir: str | os.PathLike | None = None,
    *,
    progress: ProgressCallback | None = None,
    allow_download: bool = True,
) -> DataSplits:
    """Locate (or download) and load a dataset's train and test splits."""
    spec = get_spec(name)
    files = ensure_files(spec, data_dir, progress=progress, allow_download=allow_download)
    train = MNISTDataset(files["train_images"], files["train_labels"])
    test = MNISTDataset(files["test_images"], files["test_labels"])
    return DataSplits(spec, train, test, files)
