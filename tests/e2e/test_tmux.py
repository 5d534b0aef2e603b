"""The installed ``mnist-tui`` in a real terminal (tmux), driven as a user would."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e import terminal
from tests.helpers import write_split

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

EXE = Path(sys.executable).with_name("mnist-tui")


# A tmux server of our own (-L): the tests never touch the user's (or another test's) server.
SOCKET = f"mnist-tui-e2e-{uuid.uuid4().hex[:8]}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True,
                          check=True).stdout


def wait_for_screen(session: str, predicate, timeout: float = 90.0) -> str:
    return terminal.wait_for_screen(tmux, session, predicate, timeout)


def processes_of(data: Path) -> list[str]:
    """Processes whose command line names ``data``, but for our tmux server (started by
    the new-session command that names it too)."""
    out = subprocess.run(["pgrep", "-af", str(data)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split()[1:2] != ["tmux"]]


def step_of(screen: str) -> int:
    m = re.search(r"step ([\d,]+)", screen)
    return int(m.group(1).replace(",", "")) if m else -1


@pytest.fixture(scope="module", autouse=True)
def server():
    yield
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


@pytest.fixture
def session(tmp_path):
    name = f"mnist-tui-e2e-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "-L", SOCKET, "kill-session", "-t", name], capture_output=True)


def test_installed_command_in_tmux(tmp_path, session):
    assert EXE.exists(), "pip install -e . puts mnist-tui beside the interpreter"
    data = write_split(tmp_path / "data", 3000, 500)
    marker = tmp_path / "exited"
    # env -u: a COLUMNS/LINES inherited from the test runner would override the pane's size.
    # When the app exits, the shell records its exit code and signals a tmux channel
    # (tmux inside the pane talks to this server: $TMUX names it); the pane stays, to
    # show what the app printed on leaving.
    run = tmp_path / "run"
    cmd = (f"env -u COLUMNS -u LINES {EXE} --data-dir {data} --epochs 400 --run-dir {run}; "
           f"echo $? > {marker}; tmux wait-for -S {session}-exited")
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd)
    tmux("set-option", "-t", session, "remain-on-exit", "on")

    # Progress moves, and a digit is drawn with its label and prediction.
    screen = wait_for_screen(session, lambda s: step_of(s) > 0 and "\u2580" in s
                             and re.search(r"[✓✗] \d ", s) is not None
                             and re.search(r"→ \d \d+%", s) is not None)
    assert "784-100-50-10 sigmoid" in screen and "Test set: Avg. loss:" in screen

    # "Inside the network" opens while training: layer health rows and first-layer tiles.
    tmux("send-keys", "-t", session, "w")
    wait_for_screen(session, lambda s: "Inside the network" in s and "layers.0 784→100" in s
                    and "First layer · units 1-" in s and "predicted" in s)
    tmux("send-keys", "-t", session, "Escape")
    wait_for_screen(session, lambda s: "Inside the network" not in s and "Test set:" in s)

    tmux("send-keys", "-t", session, "space")
    screen = wait_for_screen(session, lambda s: "paused" in s and "Paused at step" in s)
    paused_at = step_of(screen)
    # Round trips through the UI (help screen open and closed): the counter stays put.
    for _ in range(3):
        tmux("send-keys", "-t", session, "?")
        wait_for_screen(session, lambda s: "mnist-tui keys" in s)
        tmux("send-keys", "-t", session, "Escape")
        # Until the dashboard is whole again: a capture can land between the writes of
        # one repaint (help text gone, dashboard not yet drawn).
        screen = wait_for_screen(session, lambda s: "mnist-tui keys" not in s
                                 and "Paused at step" in s and step_of(s) >= 0)
        assert step_of(screen) == paused_at

    # Smaller, then back: each time the layout a fresh start at that size has.
    tmux("resize-window", "-t", session, "-x", "80", "-y", "24")
    screen = wait_for_screen(session, lambda s: s.rstrip("\n").splitlines()[-1].rstrip().endswith("q Quit")
                             and "hyperparameters" not in s and "Paused at step" in s
                             and "⣀ train" in s)  # the plots (their title) ...
    assert max(len(line) for line in screen.splitlines()) <= 80
    assert "v Digits" in screen  # ... and the digits a key away
    tmux("resize-window", "-t", session, "-x", "120", "-y", "40")
    screen = wait_for_screen(session, lambda s: "hyperparameters (e)" in s and "Loss" in s
                             and "number of training examples seen" in s and "q Quit" in s)
    assert "space Resume" in screen  # paused: the key resumes

    tmux("send-keys", "-t", session, "q")
    wait_for_screen(session, lambda s: "A run is in progress" in s)
    tmux("send-keys", "-t", session, "y")
    # Wait on the channel (an event, not a poll); the timeout only guards a hang.
    subprocess.run(["tmux", "-L", SOCKET, "wait-for", f"{session}-exited"], check=True, timeout=30)
    assert marker.read_text().strip() == "0"
    # The receipt, on the normal screen once the dashboard has gone.
    screen = tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session)  # wrapped lines joined
    assert re.search(rf"run folder: +{re.escape(str(run))}\n", screen) and "best accuracy" in screen
    assert f"mnist-tui --resume {run}" in screen and f"mnist-tui watch {run}" in screen
    # No training process is left behind.
    assert processes_of(data) == []


def test_a_hangup_saves_a_checkpoint_and_ends_every_process(tmp_path, session):
    """Closing the terminal (tmux kill-session sends SIGHUP, as a dropped SSH session
    does): the dashboard saves where training stands, and nothing is left running."""
    import os
    import select

    from core import checkpoint

    data = write_split(tmp_path / "data", 3000, 500)
    pidfile, run = tmp_path / "pid", tmp_path / "run"
    cmd = (f"env -u COLUMNS -u LINES bash -c 'echo $$ > {pidfile}; "
           f"exec {EXE} --data-dir {data} --epochs 400 --run-dir {run}'")
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd)
    wait_for_screen(session, lambda s: step_of(s) > 0)
    tmux("send-keys", "-t", session, "space")
    paused_at = step_of(wait_for_screen(session, lambda s: "Paused at step" in s))
    pid = int(pidfile.read_text())
    exited = os.pidfd_open(pid)  # becomes readable when that process ends: an event
    tmux("kill-session", "-t", session)
    ready, _, _ = select.select([exited], [], [], 60)
    os.close(exited)
    assert ready, "the dashboard did not end after SIGHUP"
    assert checkpoint.load(run / "checkpoint-last.pt")["step"] == paused_at
    assert processes_of(data) == []
    # the run's end row names the hang-up, and `runs` says it in words
    import json

    end = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert (end["kind"], end["status"], end["signal"]) == ("end", "interrupted", "SIGHUP")
    listed = subprocess.run([EXE, "runs", str(tmp_path), "--plain"], capture_output=True,
                            text=True, timeout=60)
    assert "interrupted: hang-up (SIGHUP" in listed.stdout


def test_the_runs_table_at_80x24_and_60x20(tmp_path, session):
    """`mnist-tui runs` where most terminals open: the best accuracy on screen,
    the footer ending in q Quit; at 60x20 too; v chooses the columns."""
    from tests.run_folders import make_runs

    root = make_runs(tmp_path / "runs", write_split(tmp_path / "data", 500, 200))
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         f"env -u COLUMNS -u LINES {EXE} runs {root}")
    screen = wait_for_screen(session, lambda s: "relu" in s and "q Quit" in s)
    lines = screen.rstrip("\n").splitlines()
    header = next(line for line in lines if " run " in line and "status" in line)
    assert header.split()[:6] == ["run", "status", "best", "%", "at", "epochs"]
    relu = next(line for line in lines if line.split()[:1] == ["relu"])
    assert "finished" in relu and "49.50" in relu  # its best, at 80 columns
    assert lines[-1].rstrip().endswith("q Quit") and "v Columns" in lines[-1]
    tmux("resize-window", "-t", session, "-x", "60", "-y", "20")
    screen = wait_for_screen(session, lambda s: s.rstrip("\n").splitlines()[-1].rstrip().endswith("q Quit")
                             and max(len(x) for x in s.splitlines()) <= 60)
    assert "best %" in screen and "v Columns" in screen
    tmux("send-keys", "-t", session, "v")
    # The dialog paints in more than one write: wait for its last row, not its title.
    screen = wait_for_screen(session, lambda s: "Columns shown" in s and "note" in s)
    assert "test loss" in screen
    tmux("send-keys", "-t", session, "Escape")
    tmux("send-keys", "-t", session, "q")
