"""Trials per hour of `mnist-tui sweep` with --jobs 1 against --jobs 2.

Each round runs the same headless sweep twice in this invocation, alternating the
order: N trials (default 6) of E epochs (default 2) on the first 8,000 digits of the
real MNIST test set (2,000 to test), no pruning (every trial does the same work), in
a fresh study each time. It prints the wall time of each sweep, trials per hour and the
ratio --jobs 2 / --jobs 1 (the median over rounds); it asserts nothing about time.

--jobs 1 trains one trial at a time, torch using all the cores; --jobs 2 trains two at
once, one thread each. What can scale: the training, when one process leaves cores idle
(the tutorial's small network keeps two threads only partly busy). What cannot: each
worker pays its own start-up (importing PyTorch, loading the data), and nothing is left
to gain once the cores are busy (a machine shared with other work). Measured on this
2-core machine while ~8 other sessions used it (load ~10): 4 trials of 2 epochs,
--jobs 1 491 trials/hour, --jobs 2 382 (0.78x): no idle core for the second process.

    python bench/bench_sweep.py [N_TRIALS] [EPOCHS] [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import write_split  # noqa: E402


def sweep(cwd: Path, data: Path, study: str, trials: int, epochs: int, jobs: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui.cli", "sweep", "--headless", "--no-prune",
                    "--study", study, "--trials", str(trials), "--jobs", str(jobs),
                    "--epochs", str(epochs), "--data-dir", str(data)],
                   cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    cores = len(os.sched_getaffinity(0))
    print(f"{trials} trials of {epochs} epochs (8,000 train / 2,000 test digits), "
          f"{cores} cores, {rounds} round(s)")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        data = write_split(cwd / "data", 8000, 2000)
        times: dict[int, list[float]] = {1: [], 2: []}
        for r in range(rounds):
            for jobs in ((1, 2) if r % 2 == 0 else (2, 1)):
                t = sweep(cwd, data, f"j{jobs}-r{r}", trials, epochs, jobs)
                times[jobs].append(t)
                print(f"  round {r + 1}, --jobs {jobs}: {t:6.1f} s  "
                      f"({trials * 3600 / t:,.0f} trials/hour)")
    m1, m2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"--jobs 1: {trials * 3600 / m1:,.0f} trials/hour; --jobs 2: "
          f"{trials * 3600 / m2:,.0f} trials/hour; ratio {m1 / m2:.2f}x")


if __name__ == "__main__":
    main()
