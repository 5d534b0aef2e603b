"""Threads and OpenMP's wait policy for the training process, on a quiet and on a busy
machine, one invocation.

    python bench/bench_threads.py [--data-dir DIR] [--epochs 2] [--rounds 2] [--busy N]

``mnist-tui --headless`` on the same data with 1 and 2 intra-op threads
(MNIST_TUI_THREADS), each with OpenMP's default wait policy (libgomp spins before it
sleeps) and with ``OMP_WAIT_POLICY=PASSIVE`` (what core/__init__.py sets unless the user
did), first on the machine as it is, then with ``--busy`` processes spinning beside it
(default: one per core, as when the dashboard, a browser or another run shares the
cores). Prints the training seconds (the run's own epoch rows) of each, medians of
``--rounds`` alternating runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runner  # noqa: E402

SPIN = "import time\nend = time.monotonic() + 1800\nwhile time.monotonic() < end: pass"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--busy", type=int, default=runner.cpu_count())
    args = ap.parse_args()
    flags = ["--limit-train", str(args.limit_train)] if args.limit_train else []
    ways = [(t, policy) for t in (1, 2) for policy in ("default", "PASSIVE")]
    with tempfile.TemporaryDirectory(prefix="mnist-tui-threads-") as tmp:
        for busy in (0, args.busy):
            spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(busy)]
            try:
                seconds: dict[tuple, list[float]] = {w: [] for w in ways}
                for r in range(args.rounds):
                    for t, policy in ways:
                        env = dict(os.environ, MNIST_TUI_THREADS=str(t), OMP_WAIT_POLICY=policy)
                        if policy == "default":
                            env["OMP_WAIT_POLICY"] = ""  # set but empty: libgomp's own default (it warns)
                        run_dir = Path(tmp) / f"{busy}-{t}-{policy}-{r}"
                        seconds[(t, policy)].append(
                            sum(runner.headless(args.data_dir, args.epochs, run_dir, flags, env=env)))
            finally:
                for p in spinners:
                    p.kill()
                    p.wait()
            print(f"{'machine as it is' if not busy else f'{busy} busy processes beside it'}:")
            for (t, policy), s in seconds.items():
                print(f"  {t} thread(s), wait policy {policy:<8} {statistics.median(s):8.2f} s "
                      f"of training ({', '.join(f'{x:.2f}' for x in s)})")


if __name__ == "__main__":
    main()
