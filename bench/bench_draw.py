"""Asking the network being trained about a drawing: how long an answer takes, and what
it costs training.

    python bench/bench_draw.py [--data-dir DIR] [--limit-train N] [--epochs E] [--rounds R]
                               [--rate HZ]

The training process of the dashboard (tui.engine.bridge.ProcessTransport) trains Fashion-MNIST
(Debian's copy by default). Runs alternate: one left alone, one asked (PredictImage)
RATE times a second throughout, as a mouse stroke on the canvas would (a terminal
reports 30-60 moves a second). Training time is the sum of EpochEnd.seconds, measured by
the engine itself; the ratio asked/alone is printed, and the time from sending a
question to its answer arriving (median, 95th percentile, max).
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.config import Hyperparameters  # noqa: E402
from core.events import EpochEnd, RunFinished  # noqa: E402
from tui.engine.bridge import ProcessTransport, RunSpec  # noqa: E402
from tui.engine.protocol import ImagePredicted, PredictImage  # noqa: E402


def one_run(args, ask: bool) -> tuple[float, list[float]]:
    spec = RunSpec(hparams=Hyperparameters(epochs=args.epochs), dataset="fashion-mnist",
                   data_dir=args.data_dir, limit_train=args.limit_train, allow_download=False,
                   run_dir=str(Path(args.tmp) / f"run-{time.monotonic_ns()}"))
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 12:16] = 255
    engine = ProcessTransport(spec)
    engine.start()
    seconds, latencies, sent = 0.0, [], {}
    next_id, period, next_send = 0, 1.0 / args.rate, time.monotonic()
    training = False
    try:
        while True:
            if ask and training and time.monotonic() >= next_send:
                next_id += 1
                sent[next_id] = time.monotonic()
                engine.send(PredictImage(next_id, image.tobytes()))
                next_send += period
            try:
                ev = engine.get(timeout=period / 4)
            except queue.Empty:
                continue
            if type(ev).__name__ == "EpochStarted":
                training = True
            if isinstance(ev, EpochEnd):
                seconds += ev.seconds
            elif isinstance(ev, ImagePredicted):
                latencies.append(time.monotonic() - sent.pop(ev.request_id))
            elif isinstance(ev, RunFinished):
                return seconds, latencies
    finally:
        engine.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--limit-train", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rate", type=float, default=30.0, help="questions a second while asking")
    p.add_argument("--tmp", default="/tmp/mnist-tui-bench-draw")
    args = p.parse_args()
    alone, asked, latencies = [], [], []
    for r in range(args.rounds):
        a, _ = one_run(args, ask=False)
        b, lat = one_run(args, ask=True)
        alone.append(a)
        asked.append(b)
        latencies += lat
        print(f"round {r + 1}: alone {a:.2f} s, asked {b:.2f} s ({len(lat)} answers), "
              f"ratio {b / a:.3f}")
    ms = sorted(x * 1000 for x in latencies)
    print(f"training time asked / alone: {statistics.mean(asked) / statistics.mean(alone):.3f} "
          f"(mean of {args.rounds} runs each, {args.rate:.0f} questions/s)")
    if ms:
        print(f"question -> answer: median {statistics.median(ms):.1f} ms, "
              f"p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms "
              f"({len(ms)} answers)")


if __name__ == "__main__":
    main()
