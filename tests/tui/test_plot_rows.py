"""Every point of every plot on the row whose label is nearest its value (tests/plotcheck.py
states the rule), on hand-made series at several heights: the dashboard's loss and
accuracy plots, the runs overlay; the headless text plot is in tests/unit/test_headless.py."""

from __future__ import annotations

import pytest
from textual.app import App

from core.runs import Curves
from tests.plotcheck import assert_points_on_nearest_rows, braille_rows, canvas_rows, marks, row_values
from tui.widgets.compareplot import CompareAccuracyPlot, CompareLossPlot
from tui.widgets.plots import AccuracyPlot, LossPlot

HEIGHTS = (7, 8, 9, 11, 14, 19, 30)
# Accuracies seen to be misdrawn: 86.03 beside "92.1", 96.7 on the "100.0" row.
ACCURACIES = [10.3, 84.21, 86.03, 85.1, 86.47, 87.91, 88.02, 90.41, 92.13, 96.7, 95.27, 96.71]


class PlotApp(App):
    CSS = "Screen > * { height: 1fr; width: 1fr; }"

    def __init__(self, plot):
        super().__init__()
        self.plot = plot

    def compose(self):
        yield self.plot


def text_of(plot) -> str:
    return plot.render().plain


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize("whole", [False, True])
async def test_accuracy_points_lie_on_their_nearest_rows(height, whole):
    plot = AccuracyPlot()
    plot.whole = whole
    xs = [i * 1000 for i in range(len(ACCURACIES))]
    async with PlotApp(plot).run_test(size=(90, height)):
        plot.replot(xs, ACCURACIES, (96.71, 11))
        text = text_of(plot)
        shown = ACCURACIES if whole else ACCURACIES[2:]  # recent: the last ten tests
        assert_points_on_nearest_rows(text, shown)


@pytest.mark.parametrize("height", HEIGHTS)
async def test_accuracy_in_a_narrow_band(height):
    """A run hovering about 86 %: the axis zooms in; still each point on its row."""
    values = [86.03, 86.1, 85.96, 86.04, 86.2, 86.01]
    plot = AccuracyPlot()
    async with PlotApp(plot).run_test(size=(80, height)):
        plot.replot([i * 500 for i in range(len(values) + 1)], [11.0, *values], (86.2, 5))
        assert_points_on_nearest_rows(text_of(plot), values)


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize("scale", ["linear", "log"])
async def test_loss_points_and_line_lie_on_their_nearest_rows(height, scale):
    """Test losses as points; the train loss a step function whose plateaus are drawn
    on the rows nearest their values (braille dots, four to a row)."""
    plot = LossPlot()
    plot.scale, plot.whole = scale, True
    test_x = [0, 4000, 8000, 12000, 16000]
    test_y = [2.3551, 0.4123, 0.2213, 0.1687, 0.1311]  # (none half-way between two rows)
    plateaus = [1.937, 0.3531, 0.1213, 0.0517]  # each over 4,000 examples
    train_x = list(range(100, 16001, 100))
    train_y = [plateaus[min((x - 1) // 4000, 3)] for x in train_x]
    async with PlotApp(plot).run_test(size=(100, height)):
        plot.replot(train_x, train_y, test_x, test_y, [])
        text = text_of(plot)
        log = scale == "log"
        assert_points_on_nearest_rows(text, test_y, log=log)
        rows, _ = row_values(text, log=log)
        _, axis_col = canvas_rows(text)
        import math
        width = len(canvas_rows(text)[0][0]) - axis_col - 2
        for k, value in enumerate(plateaus):  # the middle column of each plateau
            col = axis_col + 1 + round((2000 + 4000 * k) / 16000 * (width - 1))
            v = math.log10(value) if log else value
            nearest = min(range(len(rows)), key=lambda r: abs(rows[r] - v))
            assert braille_rows(text, col) == {nearest}, f"plateau {value}, column {col}:\n{text}"


async def test_the_default_loss_view_shows_a_train_loss_far_below_the_test_loss():
    """Train loss ~0.001, test loss ~0.13 (a long run): log by default, so the train
    loss is not a flat line on 0 and smoothing shows; `l` can still ask for linear."""
    plot = LossPlot()
    test_x = [i * 8000 for i in range(31)]
    test_y = [2.3, *(0.13 + 0.002 * (i % 3) for i in range(30))]
    train_x = list(range(100, 240001, 100))
    train_y = [0.0008 + 0.0009 * ((x // 100) % 5 == 0) for x in train_x]
    async with PlotApp(plot).run_test(size=(80, 14)):
        plot.replot(train_x, train_y, test_x, test_y, [])
        text = text_of(plot)
        assert plot.log_shown and "log" in text.splitlines()[0]
        rows, _ = row_values(text, log=True)
        assert min(rows) <= -3.05 and max(rows) >= -0.9  # 0.0008 .. 0.136 on the axis
        plot.scale = "linear"
        plot.replot(train_x, train_y, test_x, test_y, [])
        assert not plot.log_shown


@pytest.mark.parametrize("height", (8, 12, 20))
async def test_overlay_points_lie_on_their_nearest_rows(height):
    runs = [("a", Curves(train_seen=[], train_epoch=[], train_loss=[], test_seen=[0, 1000, 2000, 3000],
                         test_epoch=[0, 1, 2, 3], test_loss=[2.3071, 0.4123, 0.3017, 0.2613],
                         test_accuracy=[9.83, 86.03, 90.21, 96.7]))]
    for cls, values in ((CompareAccuracyPlot, [9.83, 86.03, 90.21, 96.7]),
                        (CompareLossPlot, [2.3071, 0.4123, 0.3017, 0.2613])):
        plot = cls()
        async with PlotApp(plot).run_test(size=(80, height)):
            plot.replot(runs)
            text = text_of(plot)
            assert_points_on_nearest_rows(text, values)
            assert not any("a" == line.strip() for line in text.splitlines())


async def test_no_legend_inside_the_plots():
    """The legend is in the title, not over the data (the first test point was hidden
    under it)."""
    plot = LossPlot()
    async with PlotApp(plot).run_test(size=(80, 14)):
        plot.replot([100, 200], [2.3, 2.2], [0, 200], [2.355, 2.1], [])
        rows, _ = canvas_rows(text_of(plot))
        assert not any("train" in r or "test" in r for r in rows)
        assert "⣀ train" in text_of(plot).splitlines()[0] and "● test" in text_of(plot).splitlines()[0]
        assert len(marks(text_of(plot), "●")) == 2


def test_the_x_range_holds_still_between_two_tests():
    """While an epoch trains, both plots show up to that epoch's end: the accuracy plot,
    redrawn after each test, keeps the loss plot's range (they were 60k-335k and
    56k-303k mid-epoch); a finished run ends at its last point."""
    from tui.widgets.plots import x_range

    tests = [0, 1000, 2000]
    for train_end in (2100, 2500, 2999):  # mid-epoch 3 of a 1,000-digit train set
        assert x_range([*range(100, train_end, 100), train_end], tests, True, 1000) == (0, 3000)
    assert x_range([100, 1000, 2000], tests, True, 1000) == (0, 2000)  # just tested / finished
    assert x_range([100, 150], [0], True, 1000) == (0, 1000)  # epoch 1
    assert x_range([100, 150], [0], True) == (0, 150)  # epoch size unknown: the last point
