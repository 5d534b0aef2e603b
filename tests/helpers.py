"""Shared test data: the real MNIST test set, and splits of it.

The whole test set is read from ``$MNIST_TUI_SHARED_DATA/mnist-t10k`` (default
``../shared/data/mnist-t10k`` beside the repository). Without it (a fresh clone), the
suite's own first 1,500 of those digits (tests/data/mnist-t10k-1500) stand in, and a
test that needs more is skipped with a one-line reason."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from core.datasets import STANDARD_FILES
from core.idx import read_idx, write_idx

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MNIST_TUI_SHARED_DATA", ROOT.parent / "shared" / "data"))
FULL_T10K = SHARED_DATA / "mnist-t10k"
OWN_T10K = ROOT / "tests" / "data" / "mnist-t10k-1500"
IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
HAVE_FULL_T10K = (FULL_T10K / IMAGES).is_file() and (FULL_T10K / LABELS).is_file()
#: the folder of the real digits the tests use: the whole test set, or the suite's own
T10K = FULL_T10K if HAVE_FULL_T10K else OWN_T10K
FASHION = Path("/usr/share/datasets/fashion-mnist")


def hang_ups_at_default() -> None:
    """For a child a test hangs up on purpose (``preexec_fn``, or after ``pty.fork``).

    A run keeps SIGHUP ignored when it starts that way (nohup's meaning), and a child
    inherits it so from pytest when the suite itself runs under nohup, as CI may: such a
    child would shrug off the very hang-up the test sends."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def need_full_t10k() -> Path:
    """The whole MNIST test set's folder; the calling test is skipped without it."""
    if not HAVE_FULL_T10K:
        pytest.skip(f"needs the whole MNIST test set in {FULL_T10K} (set MNIST_TUI_SHARED_DATA)")
    return FULL_T10K


def t10k_arrays() -> tuple[np.ndarray, np.ndarray]:
    return read_idx(T10K / IMAGES), read_idx(T10K / LABELS)


def write_split(directory: Path, n_train: int, n_test: int, *, compress: bool = True) -> Path:
    """Write a dataset folder whose train set is the first ``n_train`` digits of the
    real MNIST test set and whose test set is the next ``n_test``."""
    images, labels = t10k_arrays()
    if n_train + n_test > len(labels):
        pytest.skip(f"needs {n_train + n_test:,} real digits; without the whole MNIST test set "
                    f"in {FULL_T10K} (MNIST_TUI_SHARED_DATA) the suite has its own {len(labels):,}")
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
