"""The installed command, run as a user runs it, for the benches: headless in a
subprocess, the dashboard in a real terminal (tmux, a private server), and the seconds
each epoch took, read back from the run folder's own ``epoch`` rows.

Reading the run folder (rather than hooking into the app) measures what a user gets and
keeps the benches working whatever the app's insides become.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXE = Path(sys.executable).with_name("mnist-tui")

from core.runfolder import read_rows  # noqa: E402


class Tmux:
    """One private tmux server (``-L``), one session ``b``; killed by ``close``."""

    def __init__(self, name: str = "bench") -> None:
        self.sock = f"mnist-tui-{name}-{uuid.uuid4().hex[:8]}"

    def __call__(self, *a: str) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *a], capture_output=True, text=True).stdout

    def start(self, command: str, width: int = 120, height: int = 40) -> None:
        self("new-session", "-d", "-s", "b", "-x", str(width), "-y", str(height),
             f"env -u COLUMNS -u LINES {command}")

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "b")

    def pane_pid(self) -> int:
        return int(self("display", "-p", "-t", "b", "#{pane_pid}").strip() or 0)

    def wait(self, pred, timeout: float = 900) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.screen()
            if pred(s):
                return s
            time.sleep(0.1)
        raise RuntimeError("timed out; the screen was:\n" + self.screen())

    def close(self) -> None:
        self("kill-server")


def have_tmux() -> bool:
    return shutil.which("tmux") is not None


def epoch_seconds(run_dir: Path) -> list[float]:
    """Training seconds of each epoch, as the engine itself measured them."""
    rows, _ = read_rows(run_dir)
    return [r["seconds"] for r in rows if r["kind"] == "epoch"]


def _ended(run_dir: Path) -> bool:
    rows, _ = read_rows(run_dir)
    return any(r["kind"] == "end" for r in rows)


def run_flags(data_dir: Path, epochs: int, run_dir: Path, extra: list[str]) -> list[str]:
    return ["--data-dir", str(data_dir), "--epochs", str(epochs), "--run-dir", str(run_dir),
            "--overwrite", *extra]


def headless(data_dir: Path, epochs: int, run_dir: Path, extra: list[str] = (),
             env: dict | None = None) -> list[float]:
    """``mnist-tui --headless``: epoch seconds."""
    done = subprocess.run([str(EXE), "--headless", "--no-plot",
                           *run_flags(data_dir, epochs, run_dir, list(extra))],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"mnist-tui --headless exited {done.returncode}: {done.stderr[-1000:]}")
    return epoch_seconds(run_dir)


def dashboard(data_dir: Path, epochs: int, run_dir: Path, extra: list[str] = (),
              size: tuple[int, int] = (120, 40), env_prefix: str = "") -> list[float]:
    """The dashboard in tmux, until the run folder's end row: epoch seconds."""
    tmux = Tmux("speed")
    cmd = " ".join([str(EXE), *run_flags(data_dir, epochs, run_dir, list(extra))])
    tmux.start(f"{env_prefix} {cmd}".strip(), *size)
    try:
        deadline = time.monotonic() + 3600
        while not (run_dir.exists() and _ended(run_dir)):
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboard's run did not end; the screen was:\n" + tmux.screen())
            time.sleep(0.2)
        return epoch_seconds(run_dir)
    finally:
        tmux.close()


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
