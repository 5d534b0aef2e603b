"""Several runs' curves overlaid: train loss, or test accuracy; one colour per run."""

from __future__ import annotations

from collections.abc import Sequence

from core.runs import Curves
from tui.render.plotdata import downsample, nice_ticks
from tui.widgets.plots import X_LABEL, _Plot

#: plotext colours, one per run in order (distinct on dark and light themes)
PALETTE = ("blue+", "orange+", "green+", "red+", "magenta+", "cyan+", "yellow+", "gray")
EPOCHS = "epochs"
SEEN = "seen"


def colour_of(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


class _ComparePlot(_Plot):
    DEFAULT_CSS = "_ComparePlot { min-height: 5; }"
    TITLE = ""

    def replot(self, runs: Sequence[tuple[str, Curves]], x_axis: str = SEEN) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.TITLE)
        if self.size.height >= 12:
            plt.xlabel(X_LABEL if x_axis == SEEN else "epochs")
        width = max(self.size.width, 20)
        high = 0.0
        for i, (name, curves) in enumerate(runs):
            high = max(high, self.draw(i, name, curves, x_axis, width))
        if high > 0:
            ticks = nice_ticks(0, high, max(3, self.size.width // 8))
            if len(ticks) > 1:
                plt.xticks(ticks)
        self.refresh()

    def draw(self, i: int, name: str, c: Curves, x_axis: str, width: int) -> float:
        raise NotImplementedError


class CompareLossPlot(_ComparePlot):
    """Each run's train loss as a line (its test losses as points of its colour)."""

    DEFAULT_CSS = "CompareLossPlot { min-height: 5; }"
    TITLE = "Loss (line: train, ●: test)"

    def draw(self, i: int, name: str, c: Curves, x_axis: str, width: int) -> float:
        plt, colour = self.plt, colour_of(i)
        tx = c.train_seen if x_axis == SEEN else c.train_epoch
        ex = c.test_seen if x_axis == SEEN else c.test_epoch
        if tx:
            x, y = downsample(tx, c.train_loss, 2 * width)
            plt.plot(x, y, label=name, marker="braille", color=colour)
        if ex:
            plt.scatter(list(ex), list(c.test_loss), marker="●", color=colour,
                        **({} if tx else {"label": name}))
        return max([*tx[-1:], *ex[-1:], 0])


class CompareAccuracyPlot(_ComparePlot):
    """Each run's test accuracy after every test."""

    DEFAULT_CSS = "CompareAccuracyPlot { min-height: 5; }"
    TITLE = "Test accuracy %"

    def draw(self, i: int, name: str, c: Curves, x_axis: str, width: int) -> float:
        plt, colour = self.plt, colour_of(i)
        ex = c.test_seen if x_axis == SEEN else c.test_epoch
        if ex:
            plt.plot(list(ex), list(c.test_accuracy), label=name, marker="braille", color=colour)
            plt.scatter(list(ex), list(c.test_accuracy), marker="●", color=colour)
        return max([*ex[-1:], 0])
