"""Waiting on a program in a tmux pane: on what it writes to its terminal, not on a clock.

tmux copies everything the pane's program writes (``pipe-pane``) into a FIFO; waiting for
a screen is then: read the screen, and if it is not there yet, wait until the program
writes something more (``select`` on the FIFO), then read it again. The timeout of each
wait only bounds a screen that never comes.
"""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


class PaneOutput:
    """What the program in ``target`` writes, as an event to wait on."""

    def __init__(self, tmux, target: str):
        self.tmux, self.target = tmux, target
        self.fifo = Path(tempfile.gettempdir()) / f"mnist-tui-pane-{uuid.uuid4().hex}.fifo"
        os.mkfifo(self.fifo)
        self.fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        # A writer of our own: with none, a FIFO reads as at its end, always "ready".
        self._keep = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        tmux("pipe-pane", "-t", target, "-O", f"cat > {self.fifo}")

    def wait(self, timeout: float) -> bool:
        """Until the program writes (True) or ``timeout`` seconds pass (False)."""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        try:
            self.tmux("pipe-pane", "-t", self.target)
        except Exception:  # the pane may be gone
            pass
        for fd in (self.fd, self._keep):
            os.close(fd)
        self.fifo.unlink(missing_ok=True)


def wait_for_screen(tmux, target: str, predicate, timeout: float = 90.0) -> str:
    """The pane's screen once ``predicate(screen)`` holds; read again each time the
    program writes to its terminal (and at least once a second)."""
    screen = tmux("capture-pane", "-p", "-t", target)
    if predicate(screen):
        return screen
    output = PaneOutput(tmux, target)
    deadline = time.monotonic() + timeout
    try:
        while True:
            screen = tmux("capture-pane", "-p", "-t", target)
            if predicate(screen):
                return screen
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; the screen was:\n{screen}")
            output.wait(min(left, 1.0))
    finally:
        output.close()


def kill_server(socket: str) -> None:
    """``tmux -L socket kill-server``, returning once the server has ended.

    kill-server only asks: a server that is still exiting when the next test starts a
    session on the same socket answers that client with "server exited unexpectedly".
    The wait is on the server process itself (a pidfd is readable once it has ended)."""
    pid = subprocess.run(["tmux", "-L", socket, "display", "-p", "#{pid}"],
                         capture_output=True, text=True).stdout.strip()
    try:
        fd = os.pidfd_open(int(pid)) if pid.isdigit() else None
    except ProcessLookupError:
        fd = None
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    if fd is not None:
        try:
            select.select([fd], [], [], 30)
        finally:
            os.close(fd)
