from __future__ import annotations

import pytest

from tests.helpers import write_split


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """A dataset folder: 1,000 training and 500 test digits of real MNIST."""
    return write_split(tmp_path_factory.mktemp("mnist-small"), 1000, 500)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Never read or write the user's real download cache from a test."""
    monkeypatch.setenv("MNIST_TUI_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A dataset folder: 300 training and 100 test digits of real MNIST (runs in moments)."""
    return write_split(tmp_path_factory.mktemp("mnist-tiny"), 300, 100)
