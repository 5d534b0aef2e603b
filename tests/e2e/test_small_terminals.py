"""The dashboard at 80x24 (the size most terminals open at) and 60x20, read from a real
terminal (tmux): what must stay on screen does."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import pytest

from tests.e2e import terminal
from tests.e2e.test_tmux import EXE, step_of
from tests.helpers import write_split
from tui.dashboard.help import FOOT

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

SOCKET = f"mnist-tui-e2e-small-{uuid.uuid4().hex[:8]}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def session():
    name = f"small-{uuid.uuid4().hex[:8]}"
    yield name
    terminal.kill_server(SOCKET)  # gone before the next test starts one on this socket


def wait(session: str, predicate, timeout: float = 90.0) -> str:
    return terminal.wait_for_screen(tmux, session, predicate, timeout)


def lines_of(screen: str) -> list[str]:
    return screen.rstrip("\n").splitlines()


def log_lines(screen: str) -> int:
    """The log pane's text lines (between its top and bottom borders)."""
    rows = lines_of(screen)
    top = next(i for i, line in enumerate(rows) if "╭─ log" in line)
    bottom = next(i for i, line in enumerate(rows) if i > top and line.startswith("╰"))
    return bottom - top - 1


PLOT = "⣀ train"  # the loss plot's title (its legend)
# The help's last word (its note on when edits take effect ends the help, whatever the width).
HELP_END = FOOT.split()[-1]


def dashboard_ok(width: int):
    """The dashboard as it must be at this width: header with lr and batch size, both
    progress rows with their ETA, a plot, the log, the footer ending ? Help q Quit."""
    def ok(s: str) -> bool:
        rows = lines_of(s)
        return (len(rows) >= 5 and "lr 0.2" in rows[0] and "batch 50" in rows[0]
                and "ETA" in rows[1] and "ETA" in rows[2] and PLOT in s
                and rows[-1].rstrip().endswith("? Help q Quit") and step_of(s) != 0
                and "Test set:" in s and max(len(r) for r in rows) <= width)
    return ok


def test_80x24_and_60x20_keep_what_matters(tmp_path, session):
    data = write_split(tmp_path / "data", 3000, 500)
    cmd = f"env -u COLUMNS -u LINES {EXE} --data-dir {data} --epochs 400 --run-dir {tmp_path / 'run'}"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd)

    # The plots are drawn on their timer, after the first test's line is logged: wait
    # for their labelled y axes too.
    ok = dashboard_ok(80)
    screen = wait(session, lambda s: ok(s) and re.search(r"^\s*[\d.]+┤", s, re.M) is not None)
    assert log_lines(screen) >= 3
    assert "v Digits" in screen  # the digits' pane is a key away

    # The digits in the plots' place, with a caption that fits; and back.
    tmux("send-keys", "-t", session, "v")
    screen = wait(session, lambda s: "test digits:" in s and re.search(r"→ \d \d+%", s) is not None
                  and "v Plots" in s)
    assert PLOT not in screen
    tmux("send-keys", "-t", session, "v")
    wait(session, lambda s: PLOT in s and "v Digits" in s)

    # Help scrolls to its last line.
    tmux("send-keys", "-t", session, "?")
    wait(session, lambda s: "mnist-tui keys" in s)
    tmux("send-keys", "-t", session, "End")
    screen = wait(session, lambda s: HELP_END in s and "quit" in s)
    tmux("send-keys", "-t", session, "Escape")
    wait(session, dashboard_ok(80))

    tmux("resize-window", "-t", session, "-x", "60", "-y", "20")
    screen = wait(session, dashboard_ok(60))
    assert log_lines(screen) >= 3
    tmux("send-keys", "-t", session, "?")
    wait(session, lambda s: "mnist-tui keys" in s and lines_of(s)[0].startswith("█▀")
         and len(lines_of(s)[0]) == 60)  # the box as wide as the terminal

    def at_the_end(s: str) -> bool:
        # PageDown again while the end is not in view: a key that comes while the help,
        # last laid out at 80 columns, is laid out anew for 60 scrolls the old layout.
        if HELP_END in s:
            return True
        tmux("send-keys", "-t", session, "PageDown")
        return False

    screen = wait(session, at_the_end)
    # Wrapped descriptions continue under their first line, not in the key's column.
    assert all(len(line) <= 60 for line in lines_of(screen))
    box = [line[1:-1].rstrip(" ▁▂▃▄▅▆▇█") for line in lines_of(screen)[1:-1]]
    keys = box[:next(i for i, line in enumerate(box) if "Edits take effect" in line)]
    for line in keys:
        assert (not line.strip() or re.match(r"^ {2,}(\S|n / p)  \S", line)
                or line.startswith(" " * 9)), "\n".join(box)
    tmux("send-keys", "-t", session, "Escape")
    wait(session, dashboard_ok(60))

    tmux("resize-window", "-t", session, "-x", "120", "-y", "40")
    wait(session, lambda s: "hyperparameters (e)" in s and "test digits:" in s and PLOT in s
         and "w Inside" in s and lines_of(s)[-1].rstrip().endswith("q Quit"))


def test_a_missing_data_folder_is_one_line_and_exit_2_in_a_terminal(tmp_path, session):
    """In a terminal (not headless) too: the message headless prints, before any screen."""
    missing = tmp_path / "nonexistent"
    tmux("new-session", "-d", "-s", session, "-x", "250", "-y", "24",  # the line unwrapped
         f"{EXE} --data-dir {missing}; echo rc=$?; sleep 60")
    screen = wait(session, lambda s: "rc=" in s)
    rows = [r for r in lines_of(screen) if r.strip()]
    assert rows == [f"mnist-tui: error: {missing}: no such folder (--data-dir)", "rc=2"], screen
