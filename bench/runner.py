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
from dataclasses import dataclass
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


def epoch_cpu_seconds(run_dir: Path) -> list[float]:
    """The CPU seconds the training process used in each epoch (its ``epoch`` rows)."""
    rows, _ = read_rows(run_dir)
    return [r.get("cpu_seconds", 0.0) for r in rows if r["kind"] == "epoch"]


def _ended(run_dir: Path) -> bool:
    rows, _ = read_rows(run_dir)
    return any(r["kind"] == "end" for r in rows)


def run_flags(data_dir: Path, epochs: int, run_dir: Path, extra: list[str]) -> list[str]:
    return ["--data-dir", str(data_dir), "--epochs", str(epochs), "--run-dir", str(run_dir),
            "--overwrite", *extra]


@dataclass
class Measured:
    """One run of the command: the engine's own epoch seconds, and CPU seconds (user +
    system, from the kernel) of the process that trained and of the dashboard's UI
    process. CPU time is what a loaded machine disturbs least: a run that waited for a
    core has the same CPU seconds and more wall seconds."""

    epochs: list[float]
    epochs_cpu: list[float]   # the training process's CPU seconds in each epoch (its rows)
    train_cpu: float          # the whole training process: headless's, the dashboard's child
    ui_cpu: float = 0.0       # the dashboard's UI process, start to end (0 headless)
    ui_cpu_training: float = 0.0  # the UI's CPU from the first train row to the end row
    training_wall: float = 0.0    # ... and the wall seconds of that span

    @property
    def ui_share(self) -> float:
        """The UI process's CPU per second of training (0 headless)."""
        return self.ui_cpu_training / self.training_wall if self.training_wall else 0.0


TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a live process has used, from /proc (Linux)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TCK


def proc_children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            if int(text[text.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...)."""
    out, todo = [], [pid]
    while todo:
        kids = proc_children(todo.pop())
        out += kids
        todo += kids
    return out


def headless_run(data_dir: Path, epochs: int, run_dir: Path, extra: list[str] = (),
                 env: dict | None = None) -> Measured:
    """``mnist-tui --headless`` in a subprocess: epoch seconds and the process's CPU."""
    proc = subprocess.Popen([str(EXE), "--headless", "--no-plot",
                             *run_flags(data_dir, epochs, run_dir, list(extra))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"mnist-tui --headless exited {proc.returncode}: {err[-1000:]}")
    return Measured(epoch_seconds(run_dir), epoch_cpu_seconds(run_dir),
                    usage.ru_utime + usage.ru_stime)


def headless(data_dir: Path, epochs: int, run_dir: Path, extra: list[str] = (),
             env: dict | None = None) -> list[float]:
    """``mnist-tui --headless``: epoch seconds."""
    return headless_run(data_dir, epochs, run_dir, extra, env).epochs


def dashboard_run(data_dir: Path, epochs: int, run_dir: Path, extra: list[str] = (),
                  size: tuple[int, int] = (120, 40), env_prefix: str = "") -> Measured:
    """The dashboard in tmux, until the run folder's end row: epoch seconds, and the CPU
    of its two processes (sampled from /proc every 0.2 s; the training process is the
    UI's child that used the most)."""
    tmux = Tmux("speed")
    cmd = " ".join([str(EXE), *run_flags(data_dir, epochs, run_dir, list(extra))])
    tmux.start(f"{env_prefix} {cmd}".strip(), *size)
    kids: dict[int, float] = {}
    try:
        ui = tmux.pane_pid()
        ui_cpu = 0.0
        first: tuple[float, float] | None = None  # (time, UI CPU) at the first train row
        deadline = time.monotonic() + 3600

        def sample() -> None:
            nonlocal ui_cpu
            ui_cpu = proc_cpu(ui) or ui_cpu
            for kid in proc_children(ui):
                kids[kid] = proc_cpu(kid) or kids.get(kid, 0.0)

        while True:
            sample()
            rows = read_rows(run_dir)[0] if (run_dir / "metrics.jsonl").exists() else []
            if first is None and any(r["kind"] == "train" for r in rows):
                first = (time.monotonic(), ui_cpu)
            if any(r["kind"] == "end" for r in rows):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboard's run did not end; the screen was:\n" + tmux.screen())
            time.sleep(0.2)
        sample()
        t0, c0 = first or (time.monotonic(), ui_cpu)
        return Measured(epoch_seconds(run_dir), epoch_cpu_seconds(run_dir),
                        max(kids.values(), default=0.0), ui_cpu,
                        ui_cpu - c0, time.monotonic() - t0)
    finally:
        tmux.close()
        # The training process ends a moment after the dashboard (it closes its run
        # folder first): wait, so that the caller may remove the folder.
        deadline = time.monotonic() + 20
        while any(alive(kid) for kid in kids) and time.monotonic() < deadline:
            time.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


def dashboard(data_dir: Path, epochs: int, run_dir: Path, extra: list[str] = (),
              size: tuple[int, int] = (120, 40), env_prefix: str = "") -> list[float]:
    """The dashboard in tmux, until the run folder's end row: epoch seconds."""
    return dashboard_run(data_dir, epochs, run_dir, extra, size, env_prefix).epochs


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
