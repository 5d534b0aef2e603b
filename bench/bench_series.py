"""What the dashboard keeps of a long run's train loss, and what a loss-plot redraw costs
from it: the whole history (one point per step) vs tui.dashboard.viewmodel.BoundedSeries, after
the first minute and after 300 epochs. Prints sizes and ratios (no asserts: timings)."""

from __future__ import annotations

import random
import time

from tui.render.plotdata import downsample, smooth
from tui.dashboard.viewmodel import BoundedSeries

STEPS_PER_EPOCH = 1200  # the tutorial's 60,000 images in batches of 50


def redraw_seconds(xs, ys, repeats: int = 5) -> float:
    """The data part of LossPlot.replot: smoothing and bucketing to the plot's width."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        downsample(xs, smooth(ys, 0.6), 400)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    rng = random.Random(1)
    for epochs in (1, 300):
        n = epochs * STEPS_PER_EPOCH
        xs = [50 * (i + 1) for i in range(n)]
        ys = [2.3 * 0.9995 ** i + rng.random() * 0.1 for i in range(n)]
        series = BoundedSeries()
        t = time.perf_counter()
        series.extend(zip(xs, ys))
        append = (time.perf_counter() - t) / n
        whole, bounded = redraw_seconds(xs, ys), redraw_seconds(series.xs, series.ys)
        print(f"{epochs:>3} epochs: {n:>7,} steps kept whole, {len(series):,} bounded "
              f"(stride {series.stride}); redraw data {whole * 1e3:.1f} ms whole vs "
              f"{bounded * 1e3:.1f} ms bounded ({whole / bounded:.0f}x); append {append * 1e6:.2f} us/step")


if __name__ == "__main__":
    main()
