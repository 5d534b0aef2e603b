"""Plot data helpers: what the plots are given, and how they reach the screen."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from tui.render.plotdata import downsample, nice_ticks
from tui.widgets.plots import ansi_lines


def test_downsample_keeps_at_most_the_buckets_and_the_last_x():
    xs, ys = list(range(1, 1001)), [float(i % 10) for i in range(1000)]
    x, y = downsample(xs, ys, 100)
    assert len(x) == 100 and x[-1] == 1000 and y[0] == 4.5  # the mean of 0..9
    assert downsample(xs[:50], ys[:50], 100) == (xs[:50], ys[:50])
def test_plot_ticks_are_round_whole_numbers():
    assert nice_ticks(0, 156_550, 4) == [0, 50_000, 100_000, 150_000]
    assert nice_ticks(0, 24_000, 6) == [0, 5_000, 10_000, 15_000, 20_000]
    assert nice_ticks(0, 7, 5) == [0, 2, 4, 6] and nice_ticks(0, 0, 5) == [0]


def _cells(renderable) -> list[list[tuple[str, Style]]]:
    """(character, style) for every cell, line by line, as Rich renders it."""
    lines = Segment.split_lines(Console(width=500, color_system="truecolor").render(renderable))
    return [[(ch, seg.style or Style.null()) for seg in line for ch in seg.text] for line in lines]


def test_ansi_canvas_draws_what_text_from_ansi_draws():
    """The plots' fast path gives every cell the character and style Rich's own ANSI
    decoder gives it, on a real plotext figure with colours, braille, points and a mark."""
    import plotext

    plt = plotext._figure._figure_class()
    plt.plotsize(70, 18)
    plt.theme("pro")
    plt.title("Loss")
    plt.xlabel("number of training examples seen")
    xs = list(range(0, 30000, 100))
    plt.plot(xs, [2.3 / (1 + x / 3000) for x in xs], label="train", marker="braille")
    plt.scatter([0, 10000, 20000], [2.3, 0.6, 0.4], label="test", marker="●")
    plt.vline(15000, "orange")
    canvas = plt.build()
    assert canvas.count("\x1b[") > 50  # a coloured figure, not plain text

    ours, rich = _cells(ansi_lines(canvas)), _cells(Text.from_ansi(canvas.rstrip("\n")))
    assert len(ours) == len(rich) == 18
    assert ours == rich


def test_smoothing_is_tensorboards_debiased_moving_average():
    from tui.render.plotdata import smooth

    ys = [2.0, 1.0, 1.0, 0.0]
    assert smooth(ys, 0.0) == ys
    out = smooth(ys, 0.5)
    assert out[0] == 2.0  # debiased: the first point is itself, not pulled towards 0
    assert abs(out[1] - (0.5 * 1.0 + 0.25 * 2.0) / 0.75) < 1e-12
    assert smooth(ys, 0.5, start=out[:2]) == out  # the rest computed on from a start
    assert max(smooth([1.0] * 50, 0.99)) - 1.0 < 1e-9


def test_the_zoomed_view_leaves_out_the_first_test_once_there_are_two_more():
    from tui.render.plotdata import recent_start

    assert recent_start([0]) == 0 and recent_start([0, 100]) == 0
    assert recent_start([0, 100, 200]) == 100
    assert recent_start(list(range(0, 2500, 100)), keep=10) == 1500


def test_a_row_axis_puts_each_label_on_the_row_that_stands_for_it():
    """Labels are multiples of a 1/2/2.5/5 step, each on a row (row k stands for
    lo + k * step), written exactly; a value is drawn on its nearest row."""
    from tui.render.plotdata import log_row_axis, row_axis

    for lo, hi, rows in [(85.53, 86.53, 3), (95.95, 97.0, 11), (5, 100, 11), (0.0005, 0.142, 11),
                         (0.1, 0.14, 8), (96.7, 96.7, 5), (0, 2.36, 20)]:
        axis = row_axis(lo, hi, rows, floor=0.0, ceiling=100.0)
        assert axis.lo <= lo and axis.hi >= min(hi, 100) and axis.lo >= 0
        assert len(axis.ticks) >= 2
        for tick, label in zip(axis.ticks, axis.labels):
            k = (tick - axis.lo) / axis.step
            assert abs(k - round(k)) < 1e-6 and float(label) == round(tick, 9)
            assert axis.row(tick) == round(k)
        for v in (lo, hi, (lo + hi) / 2):
            assert abs(axis.lo + axis.row(v) * axis.step - v) <= axis.step / 2 + 1e-9
    assert row_axis(95.95, 97.0, 11).labels == ["96.00", "96.25", "96.50", "96.75", "97.00"]
    log = log_row_axis(-3.3, -0.85, 11)
    assert log.labels == ["0.001", "0.01", "0.1", "1"] and log.row(-2.0) == round((-2 - log.lo) / log.step)


def test_braille_values_land_on_their_nearest_rows():
    """plotext maps braille dots over 4R - 1 steps: a value near a row's edge could
    land on the row beside it; RowAxis.braille moves it within its own row."""
    import math

    from tui.render.plotdata import row_axis

    axis = row_axis(0, 1, 11)
    values = [i / 997 for i in range(998)]
    for v, b in zip(values, axis.braille(values)):
        dot = math.floor(round(0.5 + (4 * axis.rows - 1) * (b - axis.lo) / (axis.hi - axis.lo), 8))
        assert dot // 4 == axis.row(v)
