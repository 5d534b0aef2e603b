"""A long run costs the dashboard what a short one does: key latency and CPU early on and
after hundreds of epochs, in one invocation.

    python bench/bench_long.py [--epochs 300] [--presses 10]

The installed command in tmux (120x40, a private server) trains 2,000 real MNIST digits
(tested on 500) for ``--epochs`` epochs: ~40 steps an epoch, so hundreds of epochs and
thousands of plotted points pass in a few minutes. Twice, near the start (epoch 3) and
near the end (epoch ``--epochs`` - 10), it measures over the same window:

- the dashboard process's CPU use (its own process, not the training one), from
  /proc/<pid>/stat;
- the time from a key press (``?``) to the help screen's text in what the app writes to
  the terminal (tmux pipe-pane), ``--presses`` times.

Prints both and the ratios late / early (goal: within 1.2x).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXE = Path(sys.executable).with_name("mnist-tui")
TICKS = os.sysconf("SC_CLK_TCK")


class Tmux:
    def __init__(self) -> None:
        self.sock = f"mnist-tui-long-{uuid.uuid4().hex[:8]}"

    def __call__(self, *a: str) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *a], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "b")

    def wait(self, pred, timeout: float = 900) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.screen()
            if pred(s):
                return s
            time.sleep(0.1)
        raise RuntimeError("timed out; the screen was:\n" + self.screen())


def epoch_of(screen: str) -> int:
    m = re.search(r"Epoch (\d+)/", screen)
    return int(m.group(1)) if m else 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def window(tmux: Tmux, pid: int, presses: int, pipe: Path) -> tuple[float, list[float]]:
    """(CPU share of one core, key latencies in ms) over one measuring window."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    latencies = []
    for _ in range(presses):
        pipe.write_bytes(b"")
        tmux("pipe-pane", "-t", "b", "-O", f"cat >> {pipe}")
        with pipe.open("rb") as f:
            buf, start = b"", time.perf_counter()
            tmux("send-keys", "-t", "b", "?")
            while b"mnist-tui keys" not in buf and time.perf_counter() - start < 10:
                chunk = f.read()
                buf += chunk
                if not chunk:
                    time.sleep(0.001)
            latencies.append((time.perf_counter() - start) * 1000)
        tmux("pipe-pane", "-t", "b")
        tmux("send-keys", "-t", "b", "Escape")
        tmux.wait(lambda s: "mnist-tui keys" not in s, 30)
        time.sleep(0.3)  # a user's pace between presses (this is a benchmark, not a test)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0), latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--presses", type=int, default=10)
    args = ap.parse_args()
    if not shutil.which("tmux"):
        sys.exit("needs tmux")
    from tests.helpers import write_split

    tmp = Path(tempfile.mkdtemp(prefix="mnist-tui-long-"))
    data = write_split(tmp / "data", 2000, 500)
    tmux = Tmux()
    tmux("new-session", "-d", "-s", "b", "-x", "120", "-y", "40",
         f"env -u COLUMNS -u LINES {EXE} --data-dir {data} --epochs {args.epochs} "
         f"--run-dir {tmp / 'run'}")
    try:
        pid = int(tmux("display", "-p", "-t", "b", "#{pane_pid}").strip())
        tmux.wait(lambda s: epoch_of(s) >= 3)
        early_cpu, early_ms = window(tmux, pid, args.presses, tmp / "pane")
        late_epoch = max(args.epochs - 10, 4)
        tmux.wait(lambda s: epoch_of(s) >= late_epoch)
        late_cpu, late_ms = window(tmux, pid, args.presses, tmp / "pane")
    finally:
        tmux("kill-server")
    e, lt = statistics.median(early_ms), statistics.median(late_ms)
    print(f"dashboard CPU: {early_cpu:.0%} of a core at epoch 3, {late_cpu:.0%} at epoch "
          f"{late_epoch} ({late_cpu / max(early_cpu, 1e-9):.2f}x; goal <= 1.2x)")
    print(f"key press to help screen: median {e:.0f} ms at epoch 3, {lt:.0f} ms at epoch "
          f"{late_epoch} ({lt / e:.2f}x; goal <= 1.2x)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
