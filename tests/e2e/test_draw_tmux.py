"""``mnist-tui draw`` in a real terminal (tmux): a stroke drawn with the keyboard only,
answered, saved with a label."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from core.datasets import MNISTDataset
from core.drawing import drawings_paths
from tests.helpers import write_split

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

EXE = Path(sys.executable).with_name("mnist-tui")


@pytest.fixture
def tmux():
    """tmux on a socket of its own (a server started here, with this environment)."""
    socket = f"mnist-tui-draw-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> str:
        return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                              check=True).stdout

    yield run
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def wait_for_screen(tmux, predicate, timeout: float = 60.0) -> str:
    """Poll the terminal until ``predicate(screen)`` (an outside process has no event to
    wait on): every 0.1 s up to a deadline."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", "draw")
        if predicate(screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"timed out; the screen was:\n{screen}")


def test_a_keyboard_stroke_is_answered_and_saved(tmp_path, tmux):
    data = write_split(tmp_path / "data", 3000, 100)
    run = tmp_path / "run"
    subprocess.run([str(EXE), "--headless", "--no-plot", "--data-dir", str(data), "--epochs", "2",
                    "--run-dir", str(run)], check=True, capture_output=True)
    marker = tmp_path / "exited"
    cmd = f"env -u COLUMNS -u LINES {EXE} draw --checkpoint {run}; echo $? > {marker}; sleep 60"
    tmux("new-session", "-d", "-s", "draw", "-x", "80", "-y", "24", cmd)
    wait_for_screen(tmux, lambda s: "nothing drawn" in s and "network after" not in s
                    and "checkpoint" in s and "loading" not in s)
    tmux("send-keys", "-t", "draw", *["Up"] * 6, "p", *["Down"] * 12, "p")
    screen = wait_for_screen(tmux, lambda s: re.search(r"prediction: \d \(\d+\.\d%\)", s) is not None)
    assert "network after 2 epochs" in screen
    tmux("send-keys", "-t", "draw", "s")
    wait_for_screen(tmux, lambda s: "Save this drawing as" in s)
    tmux("send-keys", "-t", "draw", "1", "Enter")
    wait_for_screen(tmux, lambda s: "saved as 1" in s)
    tmux("send-keys", "-t", "draw", "Escape")
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text().strip() == "0"
    ds = MNISTDataset(*drawings_paths(run))
    assert ds.labels.tolist() == [1]
    column = ds.images[0].reshape(28, 28).sum(0)
    assert (column > 0).sum() <= 8  # a vertical stroke: a narrow band of columns
