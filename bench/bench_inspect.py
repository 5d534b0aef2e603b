"""The cost of "Inside the network": one training epoch with the per-layer statistics
on (core/inspect.py, every 100 steps and after the test) and off, interleaved.

    python bench/bench_inspect.py [--data-dir DIR] [--dataset fashion-mnist] [--repeats 3]
                                  [--limit-train N]

Each repeat trains one epoch of the tutorial configuration (plus the test after it)
both ways, alternating which goes first; the best time of each is kept and the ratio
on / off printed (goal: at most a few percent). On a busy machine that ratio is mostly
noise, so the runs with the statistics also time the probe itself (every call it gets
between two events: arming, collecting, the weights copied after the test) and print
its share of the epoch. Also checks that both ways gave the same `Test set` line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Hyperparameters  # noqa: E402
from core.datasets import load  # noqa: E402
from core.events import LayerStats, RunStarted, TestEnd  # noqa: E402
from core.inspect import LayerProbe  # noqa: E402
from core.training import Run, format_test  # noqa: E402


PROBE_SECONDS = [0.0]
_follow = LayerProbe.follow


def _timed_follow(self, *args, **kwargs):
    t0 = time.perf_counter()
    out = list(_follow(self, *args, **kwargs))
    PROBE_SECONDS[0] += time.perf_counter() - t0
    return out


LayerProbe.follow = _timed_follow  # the run's own calls, timed


def one(d, stats: bool) -> tuple[float, str, int]:
    run = Run(Hyperparameters(epochs=1), d.train, d.test)
    run.layer_stats = stats
    run.tested_initial = True  # time the epoch and its test, not the test before training
    events = run.events()
    for ev in events:
        if isinstance(ev, RunStarted):
            break
    n, line = 0, ""
    t0 = time.perf_counter()
    for ev in events:
        n += isinstance(ev, LayerStats)
        if isinstance(ev, TestEnd):
            line = format_test(ev)
    return time.perf_counter() - t0, line, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit-train", type=int, default=None)
    a = ap.parse_args()
    d = load(a.dataset, a.data_dir, allow_download=False)
    d = type(d)(d.spec, d.train.head(a.limit_train), d.test, d.files)
    best = {True: float("inf"), False: float("inf")}
    lines: dict[bool, set[str]] = {True: set(), False: set()}
    count, shares = 0, []
    for r in range(a.repeats):
        for stats in ((True, False) if r % 2 == 0 else (False, True)):
            PROBE_SECONDS[0] = 0.0
            t, line, n = one(d, stats)
            if stats:
                shares.append(PROBE_SECONDS[0] / t)
            best[stats] = min(best[stats], t)
            lines[stats].add(line)
            count = max(count, n)
            print(f"repeat {r + 1}: stats {'on ' if stats else 'off'} {t:7.2f} s  ({n} LayerStats)",
                  flush=True)
    print(f"\n{len(d.train):,} training examples, 1 epoch + test, best of {a.repeats}:")
    print(f"  stats off {best[False]:.2f} s, on {best[True]:.2f} s: "
          f"ratio on/off {best[True] / best[False]:.3f} ({count} LayerStats an epoch)")
    print(f"  time inside the probe: {100 * min(shares):.2f}% to {100 * max(shares):.2f}% "
          f"of the epoch (median {100 * sorted(shares)[len(shares) // 2]:.2f}%)")
    same = lines[True] == lines[False] and len(lines[True]) == 1
    print(f"  Test set line the same both ways: {'yes' if same else 'NO'}  {sorted(lines[True])}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
