"""The tutorial's dataset, ``MNISTDataset(images_path, labels_path)``, kept compatible,
with batched access; and ``load()``, which finds (or downloads) a dataset's files through
``core.datafiles`` and returns its train and test splits."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.datafiles import (  # noqa: F401  (the registry, re-exported for `from core.datasets import ...`)
    CACHE_ENV, DIGITS, REGISTRY, ROLES, STANDARD_FILES, DatasetSpec, DownloadProgress,
    ProgressCallback, cache_dir, candidate_dirs, download, ensure_files, find_files, get_spec,
    locate, test_arrays, _load_images, _load_labels,
)
from core.errors import DatasetError


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
    for split, role in ((train, "train_images"), (test, "test_images")):
        if len(split) == 0:
            raise DatasetError(f"{files[role]}: holds no images; a run needs at least one "
                               f"training and one test image")
    return DataSplits(spec, train, test, files)
