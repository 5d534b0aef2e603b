"""Training speed under the dashboard vs headless, and key-press latency, one invocation.

    python bench/bench_tui.py [--data-dir DIR] [--limit-train N] [--epochs E] [--rounds R]
                              [--presses P] [--latency-only]
    python bench/bench_tui.py --startup   (bench_startup.py: first frame, first batch)
    python bench/bench_tui.py --long      (bench_long.py: latency and CPU after 300 epochs)

1. headless: core's Run pulled in this process, nothing drawn (the baseline).
2. tui:      the real app (ProcessTransport: training in a child process), in Textual's
             headless mode, so every widget, plot and digit is still rendered.
They alternate (headless, tui, headless, ... R dashboard runs), and each dashboard run
is compared with the mean of the headless runs either side of it. Training time is the
sum of EpochEnd.seconds, measured by the engine itself in both.
Then the installed command runs in tmux at 120x40 and, while it trains, the help screen
is opened and closed P times: the time from send-keys to the help text appearing in
what the app writes to its terminal (read through tmux pipe-pane) is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Hyperparameters  # noqa: E402
from core.events import EpochEnd  # noqa: E402


def headless(args) -> float:
    from core.datasets import load
    from core.training import Run

    d = load("fashion-mnist", args.data_dir, allow_download=False)
    run = Run(Hyperparameters(epochs=args.epochs), d.train.head(args.limit_train), d.test)
    return sum(ev.seconds for ev in run.events() if isinstance(ev, EpochEnd))


async def tui(args) -> float:
    from tui.app import MnistTuiApp
    from tui.bridge import RunSpec

    spec = RunSpec(hparams=Hyperparameters(epochs=args.epochs), dataset="fashion-mnist",
                   data_dir=args.data_dir, limit_train=args.limit_train, allow_download=False)
    seconds: list[float] = []

    class Measured(MnistTuiApp):
        def event_handled(self, ev) -> None:  # each engine event, once the dashboard showed it
            if isinstance(ev, EpochEnd):
                seconds.append(ev.seconds)
            super().event_handled(ev)

    app = Measured(spec, engine="process", run_dir="/tmp/mnist-tui-bench")
    async with app.run_test(size=(120, 40)):
        await app.wait_for_state("finished", "error")
        app.shutdown()
    return sum(seconds)


def key_latency(args, presses: int = 15, first_bytes: list | None = None,
                paused: bool = False, key: str = "?", marker: bytes = b"mnist-tui keys") -> list[float]:
    """The installed command in tmux at 120x40, training: the time from send-keys to the
    opened screen's text (the help screen's by default) in the bytes the app writes to
    the terminal (tmux pipe-pane)."""
    import shutil
    import subprocess
    import tempfile

    if not shutil.which("tmux"):
        return []
    exe = Path(sys.executable).with_name("mnist-tui")
    session = "mnist-tui-bench"
    pipe = Path(tempfile.mkdtemp()) / "pane.out"

    def tmux(*a: str) -> str:
        return subprocess.run(["tmux", *a], capture_output=True, text=True).stdout

    def wait_screen(pred) -> None:
        deadline = time.monotonic() + 120
        while not pred(tmux("capture-pane", "-p", "-t", session)):
            if time.monotonic() > deadline:
                raise RuntimeError("timed out waiting for the screen")
            time.sleep(0.05)

    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40",
         f"env -u COLUMNS -u LINES {exe} --dataset fashion-mnist --data-dir {args.data_dir} "
         f"--epochs 100 --run-dir /tmp/mnist-tui-bench")
    out = []
    try:
        wait_screen(lambda s: "samples/s" in s)
        if paused:  # the same screen with training stopped: what the key costs by itself
            tmux("send-keys", "-t", session, "space")
            wait_screen(lambda s: "Paused at step" in s)
        for _ in range(presses):
            pipe.write_bytes(b"")
            tmux("pipe-pane", "-t", session, "-O", f"cat >> {pipe}")
            with pipe.open("rb") as f:
                buf = b""
                t0 = time.perf_counter()
                tmux("send-keys", "-t", session, key)
                first = None
                while marker not in buf and time.perf_counter() - t0 < 10:
                    chunk = f.read()
                    buf += chunk
                    if not chunk:
                        time.sleep(0.001)
                    elif first is None:
                        first = time.perf_counter() - t0
                out.append(time.perf_counter() - t0)
                if first_bytes is not None:
                    first_bytes.append((first or out[-1], len(buf)))
            tmux("pipe-pane", "-t", session)
            tmux("send-keys", "-t", session, "Escape")
            wait_screen(lambda s: marker.decode() not in s)
    finally:
        tmux("kill-session", "-t", session)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--limit-train", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--latency-only", action="store_true")
    ap.add_argument("--startup", action="store_true",
                    help="start-up instead: --help, first frame and first Train Epoch line against "
                         "the PyTorch import and a headless run (bench_startup.py)")
    ap.add_argument("--long", action="store_true",
                    help="a long run instead: key latency and the dashboard's CPU early and after "
                         "300 epochs (bench_long.py)")
    ap.add_argument("--rounds", type=int, default=3, help="dashboard runs, each between two headless")
    ap.add_argument("--presses", type=int, default=30)
    args, rest = ap.parse_known_args()
    if args.startup or args.long:
        sys.argv = [sys.argv[0], *rest]
        if args.startup:
            from bench_startup import main as startup

            startup()
        if args.long:
            from bench_long import main as long_run

            long_run()
        return
    import multiprocessing.resource_tracker

    multiprocessing.resource_tracker.ensure_running()
    if args.latency_only:
        for what, key, marker, paused in (("help, training", "?", b"mnist-tui keys", False),
                                          ("help, paused", "?", b"mnist-tui keys", True),
                                          ("edit form, training", "e", b"Edit hyperparameters", False)):
            firsts: list = []
            ms = sorted(x * 1000 for x in key_latency(args, presses=args.presses, first_bytes=firsts,
                                                      paused=paused, key=key, marker=marker))
            f = sorted(x * 1000 for x, _ in firsts)
            kb = statistics.median(n for _, n in firsts) / 1000
            print(f"key press to screen ({what}): median "
                  f"{statistics.median(ms):.0f} ms, 90th percentile {ms[int(len(ms) * 0.9)]:.0f} ms, "
                  f"max {ms[-1]:.0f} ms; first bytes after {statistics.median(f):.0f} ms; "
                  f"{kb:.0f} kB written")
        return
    # Interleaved: headless, tui, headless, tui, headless. Each dashboard run is set
    # against the mean of the headless runs either side of it: this machine's speed
    # drifts by 10-25 % over a minute, and a single baseline made the ratio a coin toss.
    base = [headless(args)]
    under_tui: list[float] = []
    for _ in range(args.rounds):
        under_tui.append(asyncio.run(tui(args)))
        base.append(headless(args))
    ratios = [(base[i] + base[i + 1]) / 2 / t for i, t in enumerate(under_tui)]
    print(f"headless: {', '.join(f'{b:.2f}' for b in base)} s of training "
          f"({args.epochs} epochs x {args.limit_train:,})")
    print(f"tui:      {', '.join(f'{t:.2f}' for t in under_tui)} s of training")
    print(f"speed under the TUI: {', '.join(f'{r:.2f}' for r in ratios)} x its neighbouring "
          f"headless runs; median {statistics.median(ratios):.2f} x (target >= 0.90)")
    ms = sorted(x * 1000 for x in key_latency(args, presses=args.presses))
    print(f"key press to screen: median {statistics.median(ms):.0f} ms, "
          f"90th percentile {ms[int(len(ms) * 0.9)]:.0f} ms, max {ms[-1]:.0f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
