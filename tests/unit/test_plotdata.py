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
    from tui.render.plotdata import fit_range, recent_start

    assert recent_start([0]) == 0 and recent_start([0, 100]) == 0
    assert recent_start([0, 100, 200]) == 100
    assert recent_start(list(range(0, 2500, 100)), keep=10) == 1500
    lo, hi = fit_range([83.0, 89.0])
    assert 80 < lo < 83 and 89 < hi < 92
    lo, hi = fit_range([50.0], least=1.0)
    assert lo < 49.5 and hi > 50.5


def test_log_ticks_are_labelled_in_the_real_unit():
    import math

    from tui.render.plotdata import log_ticks

    pos, labels = log_ticks(math.log10(0.2), math.log10(2.4))
    assert labels == ["0.2", "0.5", "1", "2"] and pos[2] == 0.0
    pos, labels = log_ticks(math.log10(0.30), math.log10(0.32))
    assert len(pos) == 5 and labels[0] == "0.3"
