"""Training speed under the dashboard vs headless, and key-press latency, one invocation.

    python bench/bench_tui.py [--data-dir DIR] [--limit-train N] [--epochs E] [--rounds R]
                              [--presses P] [--latency-only] [-- extra mnist-tui flags]
    python bench/bench_tui.py --startup   (bench_startup.py: first frame, first batch)
    python bench/bench_tui.py --long      (bench_long.py: latency and CPU after 300 epochs)
    python bench/bench_tui.py --together  (a busy machine: each round's two runs side by side)
    python bench/bench_tui.py --control   (headless in the dashboard's place: the noise alone)
    python bench/bench_tui.py --drift --epochs 20  (one headless process: how its epochs drift)

Both as a user runs them (bench/runner.py):
1. headless:  ``mnist-tui --headless`` in a subprocess (the baseline);
2. dashboard: ``mnist-tui`` in a real terminal (tmux, 120x40), every widget, plot and
              digit drawn, training in its child process.
They alternate (headless, dashboard, headless, ... R dashboard runs), and each dashboard
run is compared with the mean of the headless runs either side of it. Training time is
the sum of the ``seconds`` of each run's ``epoch`` rows in its own metrics.jsonl,
measured by the engine itself in both.
Then the dashboard runs in tmux at 120x40 and, while it trains, the help screen is
opened and closed P times: the time from send-keys to the help text appearing in what
the app writes to its terminal (read through tmux pipe-pane) is reported.

Beside the wall ratio (the headline), the CPU seconds the kernel counted: the headless
process's, the dashboard's training process's and its UI process's (with its CPU per
second of training). On a loaded machine the wall ratio of alternating runs mostly
measures the load at the moment; the CPU figures, and ``--together`` (each round's
headless and dashboard runs started at the same moment, so both meet the same load),
still say where the time goes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runner  # noqa: E402


def ratio(a: float, b: float) -> float:
    """a / b; NaN when b is 0 (a tiny run's CPU, rounded to the millisecond)."""
    return a / b if b else float("nan")


def listed(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def speed(args, extra: list[str]) -> None:
    """Alternating headless and dashboard runs; prints seconds and ratios: wall (the
    headline) and CPU (what a loaded machine disturbs least)."""
    flags = [*extra]
    if args.limit_train:
        flags += ["--limit-train", str(args.limit_train)]
    with tempfile.TemporaryDirectory(prefix="mnist-tui-bench-") as tmp:
        def one(kind: str, i: int) -> runner.Measured:
            run_dir = Path(tmp) / f"{kind}-{i}"
            fn = runner.dashboard_run if kind == "dashboard" else runner.headless_run
            return fn(args.data_dir, args.epochs, run_dir, flags)

        base = [one("headless", 0)]
        under: list[runner.Measured] = []
        for i in range(args.rounds):
            under.append(one("control" if args.control else "dashboard", i))
            base.append(one("headless", i + 1))

    def neighbours(value) -> list[float]:
        """Each dashboard run's figure over the mean of the headless runs either side."""
        return [ratio((value(base[i]) + value(base[i + 1])) / 2, value(m))
                for i, m in enumerate(under)]

    ratios = neighbours(lambda m: sum(m.epochs))
    cpu = [ratio(1, r) for r in neighbours(lambda m: sum(m.epochs_cpu))]
    what = "control (headless)" if args.control else "dashboard"
    print(f"headless:  {listed(sum(m.epochs) for m in base)} s of training ({args.epochs} epochs); "
          f"CPU in the epochs {listed(sum(m.epochs_cpu) for m in base)} s")
    ui = "" if args.control else (f"; UI process CPU {listed(m.ui_cpu for m in under)} s, while "
                                  f"training {listed(m.ui_share for m in under)} s per second")
    print(f"{what}: {listed(sum(m.epochs) for m in under)} s of training; CPU in the epochs "
          f"{listed(sum(m.epochs_cpu) for m in under)} s{ui}")
    print(f"speed of the {what} runs: {listed(ratios)} x their neighbouring "
          f"headless runs; median {statistics.median(ratios):.2f} x (target >= 0.95)")
    print(f"CPU of the training process in the epochs, {what} / headless: {listed(cpu)} x; "
          f"median {statistics.median(cpu):.2f} x (its epoch rows' cpu_seconds)")
    if len(ratios) >= 6:  # the target's own measure, round after round: medians of 3
        groups = [statistics.median(ratios[i:i + 3]) for i in range(0, len(ratios) - 2, 3)]
        print(f"medians of each 3 rounds: {listed(groups)}; "
              f"{sum(g >= 0.95 for g in groups)} of {len(groups)} at >= 0.95")
    print(f"load average {os.getloadavg()[0]:.1f} at the end, on {runner.cpu_count()} cores")


def drift(args, extra: list[str]) -> None:
    """One headless process, ``--epochs`` epochs of the same work: how much its epochs
    differ with nothing else changing (no other process, no new start, the same data in
    memory). The differences between runs that the other modes compare include these."""
    flags = [*extra] + (["--limit-train", str(args.limit_train)] if args.limit_train else [])
    with tempfile.TemporaryDirectory(prefix="mnist-tui-bench-") as tmp:
        m = runner.headless_run(args.data_dir, args.epochs, Path(tmp) / "drift", flags)
    wall, cpu = m.epochs[1:], m.epochs_cpu[1:]  # the first epoch starts cold
    if len(wall) < 2:
        sys.exit("--drift needs --epochs 3 or more (the first epoch is left out)")
    mid = statistics.median(wall)
    steps = [ratio(a, b) for a, b in zip(wall, wall[1:])]
    apart = sum(abs(r - 1) > 0.05 for r in steps)
    print(f"one headless process, epochs 2-{args.epochs}: {listed(wall)} s "
          f"(CPU {listed(cpu)} s)")
    print(f"each epoch / their median: {listed(w / mid for w in wall)} x; slowest / fastest "
          f"{max(wall) / min(wall):.2f} x; CPU / wall {statistics.median(map(ratio, cpu, wall)):.2f} x")
    print(f"one epoch / the one before it: {listed(steps)} x; {apart} of {len(steps)} "
          f"more than 5 % apart")
    print(f"load average {os.getloadavg()[0]:.1f} at the end, on {runner.cpu_count()} cores")


def together(args, extra: list[str]) -> None:
    """Each round, a headless run and a dashboard run started at the same moment: both
    meet the same background load, so their ratio holds on a busy machine, where runs
    one after the other meet different loads (and wall ratios of alternating runs swung
    from 0.5x to 1.1x). They compete with each other as well, as two runs would; what
    it shows is whether the dashboard's training gets the CPU a headless run gets."""
    import threading

    flags = [*extra]
    if args.limit_train:
        flags += ["--limit-train", str(args.limit_train)]
    pairs: list[tuple[runner.Measured, runner.Measured]] = []
    with tempfile.TemporaryDirectory(prefix="mnist-tui-bench-") as tmp:
        for i in range(args.rounds):
            got: dict[str, runner.Measured] = {}
            head = threading.Thread(target=lambda: got.setdefault("headless", runner.headless_run(
                args.data_dir, args.epochs, Path(tmp) / f"headless-{i}", flags)))
            head.start()
            dash = runner.dashboard_run(args.data_dir, args.epochs, Path(tmp) / f"dashboard-{i}", flags)
            head.join()
            if "headless" not in got:
                raise RuntimeError("the headless run failed")
            pairs.append((got["headless"], dash))
    ratios = [ratio(sum(h.epochs), sum(d.epochs)) for h, d in pairs]
    cpu = [ratio(sum(d.epochs_cpu), sum(h.epochs_cpu)) for h, d in pairs]
    print(f"together: headless {', '.join(f'{sum(h.epochs):.2f}' for h, _ in pairs)} s and dashboard "
          f"{', '.join(f'{sum(d.epochs):.2f}' for _, d in pairs)} s of training ({args.epochs} epochs), "
          f"started at the same moment")
    print(f"speed under the dashboard, beside a headless run: {', '.join(f'{r:.2f}' for r in ratios)} x; "
          f"median {statistics.median(ratios):.2f} x (target >= 0.95)")
    print(f"CPU of the training process in the epochs, dashboard / headless: "
          f"{', '.join(f'{r:.2f}' for r in cpu)} x; median {statistics.median(cpu):.2f} x; the UI "
          f"process's CPU while training {', '.join(f'{d.ui_share:.2f}' for _, d in pairs)} s per second")
    print(f"load average {os.getloadavg()[0]:.1f} at the end, on {runner.cpu_count()} cores")


def key_latency(args, presses: int = 15, first_bytes: list | None = None,
                paused: bool = False, key: str = "?", marker: bytes = b"mnist-tui keys",
                extra: list[str] = ()) -> list[float]:
    """The installed command in tmux at 120x40, training: the time from send-keys to the
    opened screen's text (the help screen's by default) in the bytes the app writes to
    the terminal (tmux pipe-pane)."""
    if not runner.have_tmux():
        return []
    tmux = runner.Tmux("keys")
    tmp = Path(tempfile.mkdtemp(prefix="mnist-tui-bench-"))
    pipe = tmp / "pane.out"
    flags = runner.run_flags(args.data_dir, 100, tmp / "run", list(extra))
    tmux.start(" ".join([str(runner.EXE), *flags]))
    out = []
    try:
        tmux.wait(lambda s: "samples/s" in s, timeout=120)
        if paused:  # the same screen with training stopped: what the key costs by itself
            tmux("send-keys", "-t", "b", "space")
            tmux.wait(lambda s: "Paused at step" in s, timeout=120)
        for _ in range(presses):
            pipe.write_bytes(b"")
            tmux("pipe-pane", "-t", "b", "-O", f"cat >> {pipe}")
            with pipe.open("rb") as f:
                buf = b""
                t0 = time.perf_counter()
                tmux("send-keys", "-t", "b", key)
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
            tmux("pipe-pane", "-t", "b")
            tmux("send-keys", "-t", "b", "Escape")
            tmux.wait(lambda s: marker.decode() not in s, timeout=120)
    finally:
        tmux.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--limit-train", type=int, default=0, help="0: the whole train set")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--latency-only", action="store_true")
    ap.add_argument("--startup", action="store_true",
                    help="start-up instead: --help, first frame and first Train Epoch line against "
                         "the PyTorch import and a headless run (bench_startup.py)")
    ap.add_argument("--long", action="store_true",
                    help="a long run instead: key latency and the dashboard's CPU early and after "
                         "300 epochs (bench_long.py)")
    ap.add_argument("--rounds", type=int, default=3, help="dashboard runs, each between two headless")
    ap.add_argument("--together", action="store_true",
                    help="each round, a headless and a dashboard run started at the same moment "
                         "(for a busy machine), instead of alternating")
    ap.add_argument("--control", action="store_true",
                    help="headless runs in the dashboard's place: the same comparison with no "
                         "dashboard, to show how far this machine's noise alone moves the ratio")
    ap.add_argument("--drift", action="store_true",
                    help="one headless run of --epochs epochs instead: how far its epochs, the "
                         "same work in one process, differ from each other")
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
    if args.latency_only:
        for what, key, marker, paused in (("help, training", "?", b"mnist-tui keys", False),
                                          ("help, paused", "?", b"mnist-tui keys", True),
                                          ("edit form, training", "e", b"Edit hyperparameters", False)):
            firsts: list = []
            ms = sorted(x * 1000 for x in key_latency(args, presses=args.presses, first_bytes=firsts,
                                                      paused=paused, key=key, marker=marker,
                                                      extra=rest))
            f = sorted(x * 1000 for x, _ in firsts)
            kb = statistics.median(n for _, n in firsts) / 1000
            print(f"key press to screen ({what}): median "
                  f"{statistics.median(ms):.0f} ms, 90th percentile {ms[int(len(ms) * 0.9)]:.0f} ms, "
                  f"max {ms[-1]:.0f} ms; first bytes after {statistics.median(f):.0f} ms; "
                  f"{kb:.0f} kB written")
        return
    if args.drift:
        drift(args, rest)
        return
    if not runner.have_tmux():
        sys.exit("bench_tui needs tmux (the dashboard runs in a real terminal)")
    (together if args.together else speed)(args, rest)
    if args.presses == 0 or args.control:
        return
    ms = sorted(x * 1000 for x in key_latency(args, presses=args.presses, extra=rest))
    print(f"key press to screen: median {statistics.median(ms):.0f} ms, "
          f"90th percentile {ms[int(len(ms) * 0.9)]:.0f} ms, max {ms[-1]:.0f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
