from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT, write_split


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """A dataset folder: 1,000 training and 500 test digits of real MNIST."""
    return write_split(tmp_path_factory.mktemp("mnist-small"), 1000, 500)


def _runs_in(places: set[Path]) -> set[str]:
    found = set()
    for runs in places:
        try:
            found |= {str(p) for p in runs.iterdir()}
        except OSError:
            pass
    return found


@pytest.fixture(autouse=True)
def _no_run_folder_in_the_working_tree():
    """Tests write only under tmp folders: a run folder left in ./runs of the working
    tree (a RunSpec without run_dir) would show in `mnist-tui runs`. Fails the test."""
    places = {ROOT / "runs", Path.cwd() / "runs"}  # (a test may chdir to its tmp folder)
    before = _runs_in(places)
    yield
    left = _runs_in(places) - before
    assert not left, f"the test left run folders in the working tree: {sorted(left)}"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Never read or write the user's real download cache from a test."""
    monkeypatch.setenv("MNIST_TUI_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A dataset folder: 300 training and 100 test digits of real MNIST (runs in moments)."""
    return write_split(tmp_path_factory.mktemp("mnist-tiny"), 300, 100)
