from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from core.config import Hyperparameters
from tests.helpers import write_split
from tui.app import MnistTuiApp
from tui.bridge import RunSpec

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

    def build(**hp) -> MnistTuiApp:
        spec = RunSpec(hparams=Hyperparameters(**{"epochs": 2, **hp}), data_dir=str(tui_data),
                       allow_download=False, hardest=4)
        built.append(spec)  # each app its own run folder: a run never overwrites another
        run_dir = tmp_path / ("run" if len(built) == 1 else f"run{len(built)}")
        return MnistTuiApp(spec, engine="thread", show_eta=False, run_dir=str(run_dir))

    return build
