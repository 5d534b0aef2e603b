from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import Hyperparameters
from tests.helpers import write_split
from tests.tui.waiting import WatchedApp
from tui.engine.bridge import ReplayTransport, RunSpec

# A fixed place, so that paths shown on screen are the same in every snapshot.
FIXED_DATA = Path(tempfile.gettempdir()) / "mnist-tui-test-data" / "split-1000-500"


@pytest.fixture(scope="session")
def tui_data() -> Path:
    if not (FIXED_DATA / "t10k-labels-idx1-ubyte.gz").exists():
        write_split(FIXED_DATA, 1000, 500)
    return FIXED_DATA


@pytest.fixture
def make(tui_data, tmp_path):
    """Build an app on 1,000 + 500 real digits, in-process engine, no clock on screen."""

    built = []

    def build(**hp) -> WatchedApp:
        spec = RunSpec(hparams=Hyperparameters(**{"epochs": 2, **hp}), data_dir=str(tui_data),
                       allow_download=False, hardest=4)
        built.append(spec)  # each app its own run folder: a run never overwrites another
        run_dir = tmp_path / ("run" if len(built) == 1 else f"run{len(built)}")
        return WatchedApp(spec, engine="thread", show_eta=False, run_dir=str(run_dir))

    return build


_RECORDED: dict[tuple, list] = {}


@pytest.fixture
def replay(tui_data, tmp_path_factory, tmp_path):
    """Like ``make``, for tests of what the screens show once a run is over: the run's
    events are recorded once per session (a real run, as ``make`` trains) and played
    back to each app (``ReplayTransport``), instead of training again per test."""

    def build(**hp) -> WatchedApp:
        hparams = Hyperparameters(**{"epochs": 2, **hp})
        spec = RunSpec(hparams=hparams, data_dir=str(tui_data), allow_download=False, hardest=4)
        key = tuple(sorted(hp.items()))
        if key not in _RECORDED:
            where = tmp_path_factory.mktemp("recorded") / "run"
            _RECORDED[key] = ReplayTransport.record(replace(spec, run_dir=str(where)))
        return WatchedApp(spec, engine="thread", show_eta=False, run_dir=str(tmp_path / "run"),
                           transport=ReplayTransport(_RECORDED[key]))

    return build
