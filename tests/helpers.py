"""Shared test data: the real MNIST test set from ../shared/data, and splits of it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.datasets import STANDARD_FILES
from core.idx import read_idx, write_idx

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MNIST_TUI_SHARED_DATA", ROOT.parent / "shared" / "data"))
T10K = SHARED_DATA / "mnist-t10k"
FASHION = Path("/usr/share/datasets/fashion-mnist")


def t10k_arrays() -> tuple[np.ndarray, np.ndarray]:
    return (read_idx(T10K / "t10k-images-idx3-ubyte.gz"),
            read_idx(T10K / "t10k-labels-idx1-ubyte.gz"))


def write_split(directory: Path, n_train: int, n_test: int, *, compress: bool = True) -> Path:
    """Write a dataset folder whose train set is the first ``n_train`` digits of the
    real MNIST test set and whose test set is the next ``n_test``."""
    images, labels = t10k_arrays()
    directory.mkdir(parents=True, exist_ok=True)
    parts = {
        "train_images": images[:n_train], "train_labels": labels[:n_train],
        "test_images": images[n_train:n_train + n_test],
        "test_labels": labels[n_train:n_train + n_test],
    }
    for role, arr in parts.items():
        name = STANDARD_FILES[role] if compress else STANDARD_FILES[role].removesuffix(".gz")
        write_idx(directory / name, arr, compress=compress)
    return directory
