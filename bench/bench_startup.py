"""Start-up: how soon the command answers, the dashboard paints and training starts.

    python bench/bench_startup.py [--rounds 3]

On real MNIST digits (8,000 train / 2,000 test, from ../shared/data/mnist-t10k), in one
invocation, rounds interleaved so that the machine's drift hits every figure alike:

- ``python -c "import torch"``: the yardstick for the command line;
- ``mnist-tui --help``: goal <= 0.5x the PyTorch import (it imports no PyTorch);
- headless: the time to its first ``Train Epoch`` line (the yardstick for training);
- the dashboard in a real terminal (tmux, 120x40, a private server): the time to its
  first frame (the header drawn) and to the first ``Train Epoch`` line in its log;
  goals <= 0.3x and <= 1.25x the headless time; and the resident memory of the
  dashboard's own process while it trains, with whether PyTorch is loaded there.

Prints medians and ratios; no target is asserted (timings belong here, not in tests).
"""

from __future__ import annotations

import argparse
import os
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


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def headless_first_batch(data: Path, run_dir: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(EXE), "--headless", "--data-dir", str(data), "--epochs", "1",
                             "--no-plot", "--run-dir", str(run_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("Train Epoch"):
            t = time.perf_counter() - t0
            break
    proc.kill()
    proc.wait()
    return t


def dashboard(data: Path, run_dir: Path) -> tuple[float, float, int, bool]:
    """(first frame, first Train Epoch line, RSS in kB, PyTorch loaded) of the dashboard."""
    sock = f"mnist-tui-bench-{uuid.uuid4().hex[:8]}"

    def tmux(*a: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *a], capture_output=True, text=True).stdout

    t0 = time.perf_counter()
    tmux("new-session", "-d", "-s", "b", "-x", "120", "-y", "40",
         f"env -u COLUMNS -u LINES {EXE} --data-dir {data} --epochs 20 --run-dir {run_dir}")
    first_frame = first_batch = None
    rss, has_torch = 0, False
    try:
        deadline = t0 + 120
        while time.perf_counter() < deadline and first_batch is None:
            screen = tmux("capture-pane", "-p", "-t", "b")
            now = time.perf_counter() - t0
            if first_frame is None and "mnist-tui" in screen and "│" in screen:
                first_frame = now
            if "Train Epoch: 1" in screen:
                first_batch = now
            time.sleep(0.005)
        pid = int(tmux("display", "-p", "-t", "b", "#{pane_pid}").strip() or 0)
        if pid:
            status = Path(f"/proc/{pid}/status").read_text()
            rss = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS")))
            maps = Path(f"/proc/{pid}/maps").read_text()
            has_torch = "libtorch" in maps
    finally:
        tmux("kill-server")
    return first_frame or float("nan"), first_batch or float("nan"), rss, has_torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not shutil.which("tmux"):
        sys.exit("needs tmux")
    from tests.helpers import write_split

    tmp = Path(tempfile.mkdtemp(prefix="mnist-tui-startup-"))
    data = write_split(tmp / "data", 8000, 2000)
    rows: dict[str, list[float]] = {k: [] for k in ("torch", "help", "headless", "paint", "batch")}
    rss, torch_loaded = [], []
    for i in range(args.rounds):
        rows["torch"].append(timed([sys.executable, "-c", "import torch"]))
        rows["help"].append(timed([str(EXE), "--help"]))
        rows["headless"].append(headless_first_batch(data, tmp / f"h{i}"))
        paint, batch, kb, has_torch = dashboard(data, tmp / f"d{i}")
        rows["paint"].append(paint)
        rows["batch"].append(batch)
        rss.append(kb)
        torch_loaded.append(has_torch)
    m = {k: statistics.median(v) for k, v in rows.items()}
    print(f"import torch:                       {m['torch']:.2f} s")
    print(f"mnist-tui --help:                   {m['help']:.2f} s  ({m['help'] / m['torch']:.2f}x "
          f"the PyTorch import; goal <= 0.5x)")
    print(f"headless, first Train Epoch line:   {m['headless']:.2f} s  (the yardstick)")
    print(f"dashboard, first frame:             {m['paint']:.2f} s  ({m['paint'] / m['headless']:.2f}x "
          f"headless; goal <= 0.3x)")
    print(f"dashboard, first Train Epoch line:  {m['batch']:.2f} s  ({m['batch'] / m['headless']:.2f}x "
          f"headless; goal <= 1.25x)")
    print(f"dashboard process while training:   {statistics.median(rss) / 1024:.0f} MB resident; "
          f"PyTorch loaded there: {any(torch_loaded)}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
