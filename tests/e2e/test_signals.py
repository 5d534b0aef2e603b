"""No process is left behind after any signal to the dashboard: SIGINT, SIGTERM, SIGHUP,
or SIGKILL (which it cannot see: the training process notices its parent is gone), sent
while training or while the training process is still loading. Waits are on the
processes themselves (pidfd: readable once a process has ended), never on a clock."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e import terminal
from tests.helpers import write_split

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or not hasattr(os, "pidfd_open"),
                                reason="needs tmux and pidfd_open (Linux)")

EXE = Path(sys.executable).with_name("mnist-tui")
SOCKET = f"mnist-tui-signals-{uuid.uuid4().hex[:8]}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module", autouse=True)
def server():
    yield
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_split(tmp_path_factory.mktemp("data"), 3000, 500)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for line in subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True,
                               text=True).stdout.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_until_ended(pids: list[int], timeout: float) -> list[int]:
    """The pids still running after ``timeout`` seconds (each waited on as an event)."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            pass  # already gone
    left = dict(fds)
    try:
        while left:
            ready, _, _ = select.select(list(left), [], [], timeout)
            if not ready:
                break
            for fd in ready:
                del left[fd]
    finally:
        for fd in fds:
            os.close(fd)
    return [pid for pid in left.values()
            if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]


@pytest.mark.parametrize("when", ["training", "loading"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_no_process_is_left_behind_after_a_signal_to_the_dashboard(sig, when, data, tmp_path):
    session = f"sig-{uuid.uuid4().hex[:8]}"
    pidfile = tmp_path / "pid"
    inner = f"echo \\$\\$ > {pidfile}; exec {EXE} --data-dir {data} --epochs 400 --run-dir {tmp_path}/run"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40",
         f"env -u COLUMNS -u LINES bash -c 'sh -c \"{inner}\"; sleep 600'")
    try:
        if when == "training":
            terminal.wait_for_screen(tmux, session, lambda s: re.search(r"step [1-9]", s), 120)
        else:  # as soon as the training process exists (it starts before the screen)
            terminal.wait_for_screen(tmux, session, lambda s: pidfile.exists() and s.strip(), 60)
        pid = int(pidfile.read_text())
        processes = descendants(pid)
        assert processes, "the training process was not started"
        os.kill(pid, getattr(signal, sig))
        assert wait_until_ended([pid], 60) == [], f"the dashboard did not end after {sig}"
        assert wait_until_ended(processes, 60) == [], f"left running after {sig}"
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-session", "-t", session], capture_output=True)
