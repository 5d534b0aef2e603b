"""The tutorial's figure in the terminal: train loss, test loss and accuracy."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual_plotext import PlotextPlot

from tui.plotdata import downsample, nice_ticks
from tui.segments import SegmentLines

X_LABEL = "number of training examples seen"

_ESCAPES = re.compile(r"((?:\x1b\[[0-9;]*m)+)")
_STYLES: dict[str, Style] = {}


def _style_of(escapes: str) -> Style:
    """The style a run of ANSI escapes sets, decoded once by Rich and kept."""
    style = _STYLES.get(escapes)
    if style is None:
        spans = Text.from_ansi(escapes + "x").spans
        style = _STYLES[escapes] = (spans[0].style if spans else Style.null())  # type: ignore[assignment]
    return style


def ansi_lines(canvas: str) -> SegmentLines:
    """plotext's ANSI canvas as ready-made segments.

    plotext writes every run of cells as ``reset? codes text reset``, so each run's
    escapes set its whole style: they decode alone, and only a few dozen distinct ones
    occur. Parsing that way costs a fraction of ``Text.from_ansi`` followed by Textual's
    conversion of the Text (a 58x15 loss plot drew in ~18 ms, ~8 ms of it those two
    steps). tests/unit/test_plotdata.py checks it against ``Text.from_ansi``.
    """
    lines: list[list[Segment]] = []
    for raw in canvas.rstrip("\n").split("\n"):
        line: list[Segment] = []
        style = Style.null()
        for i, part in enumerate(_ESCAPES.split(raw)):
            if i % 2:
                style = _style_of(part)
            elif part:
                line.append(Segment(part, style or None))
        lines.append(line)
    return SegmentLines(lines)


class _Plot(PlotextPlot):
    """textual-plotext's widget, drawn through ansi_lines instead of Text.from_ansi."""

    def render(self):  # the same steps as PlotextPlot.render, but the last one
        try:
            self._plot.plotsize(self.size.width, self.size.height)
            self._plot._set_size(self.size.width, self.size.height)
            self._plot.theme(self._get_plotext_theme_name(self.app.theme))
        except AttributeError:  # another textual-plotext: its own way
            return super().render()
        return ansi_lines(self._plot.build())


class LossPlot(_Plot):
    """Train loss as a line, test loss as points, a mark where a hyperparameter changed."""

    DEFAULT_CSS = "LossPlot { min-height: 5; }"

    def replot(self, train_x: Sequence[int], train_y: Sequence[float],
               test_x: Sequence[int], test_y: Sequence[float], marks: Sequence[int]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Loss")
        if self.size.height >= 12:
            plt.xlabel(X_LABEL)
        width = max(self.size.width, 20)
        if train_x:
            x, y = downsample(train_x, train_y, 2 * width)
            plt.plot(x, y, label="train", marker="braille")
        if test_x:
            plt.scatter(list(test_x), list(test_y), label="test", marker="●")
        for m in marks:
            plt.vline(m, "orange")
        xs = [*train_x[-1:], *test_x[-1:]]
        if xs:
            plt.xticks(nice_ticks(0, max(xs), max(3, self.size.width // 8)))
        self.refresh()


class AccuracyPlot(_Plot):
    """Test accuracy after each test; the best and its epoch in the title."""

    DEFAULT_CSS = "AccuracyPlot { min-height: 5; }"

    def replot(self, test_x: Sequence[int], acc: Sequence[float], best: tuple[float, int]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        best_acc, best_epoch = best
        plt.title(f"Accuracy %  best {best_acc:.2f} (epoch {best_epoch})"
                  if best_epoch >= 0 else "Accuracy %")
        if self.size.height >= 12:
            plt.xlabel(X_LABEL)
        if test_x:
            plt.scatter(list(test_x), list(acc), marker="●")
            plt.ylim(max(0, min(acc) - 5), 100)
            plt.xticks(nice_ticks(0, max(test_x), max(3, self.size.width // 8)))
        self.refresh()
