"""Plot data helpers: what the plots are given."""

from __future__ import annotations

from tui.plotdata import downsample, nice_ticks


def test_downsample_keeps_at_most_the_buckets_and_the_last_x():
    xs, ys = list(range(1, 1001)), [float(i % 10) for i in range(1000)]
    x, y = downsample(xs, ys, 100)
    assert len(x) == 100 and x[-1] == 1000 and y[0] == 4.5  # the mean of 0..9
    assert downsample(xs[:50], ys[:50], 100) == (xs[:50], ys[:50])
def test_plot_ticks_are_round_whole_numbers():
    assert nice_ticks(0, 156_550, 4) == [0, 50_000, 100_000, 150_000]
    assert nice_ticks(0, 24_000, 6) == [0, 5_000, 10_000, 15_000, 20_000]
    assert nice_ticks(0, 7, 5) == [0, 2, 4, 6] and nice_ticks(0, 0, 5) == [0]
