"""Plot data helpers: what the plots are given, and how they reach the screen."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from tui.plotdata import downsample, nice_ticks
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
