"""``mnist-tui draw`` in a real terminal (tmux): a stroke drawn with the keyboard only,
answered, saved with a label."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core.datasets import MNISTDataset
from core.drawing import drawings_paths
from tests.e2e import terminal
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

    run.command = ["tmux", "-L", socket]
    yield run
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def wait_for_screen(tmux, predicate, timeout: float = 60.0) -> str:
    return terminal.wait_for_screen(tmux, "draw", predicate, timeout)


def test_a_keyboard_stroke_is_answered_and_saved(tmp_path, tmux):
    data = write_split(tmp_path / "data", 3000, 100)
    run = tmp_path / "run"
    subprocess.run([str(EXE), "--headless", "--no-plot", "--data-dir", str(data), "--epochs", "2",
                    "--run-dir", str(run)], check=True, capture_output=True)
    marker = tmp_path / "exited"
    cmd = (f"env -u COLUMNS -u LINES {EXE} draw --checkpoint {run}; echo $? > {marker}; "
           f"tmux wait-for -S draw-exited; sleep 60")
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
    subprocess.run([*tmux.command, "wait-for", "draw-exited"], check=True, timeout=30)  # an event
    assert marker.read_text().strip() == "0"
    ds = MNISTDataset(*drawings_paths(run))
    assert ds.labels.tolist() == [1]
    column = ds.images[0].reshape(28, 28).sum(0)
    assert (column > 0).sum() <= 8  # a vertical stroke: a narrow band of columns
