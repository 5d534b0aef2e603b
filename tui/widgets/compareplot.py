"""Several runs' curves overlaid: train loss, or test accuracy; one colour per run."""

from __future__ import annotations

from collections.abc import Sequence

from core.runs import Curves
from tui.render.plotdata import downsample, nice_ticks, plot_rows, row_axis
from tui.widgets.plots import X_LABEL, _Plot, apply_axis

#: plotext colours, one per run in order (distinct on dark and light themes)
PALETTE = ("blue+", "orange+", "green+", "red+", "magenta+", "cyan+", "yellow+", "gray")
EPOCHS = "epochs"
SEEN = "seen"


#: the same colours as Rich names them (the legend above the plots)
RICH_PALETTE = ("bright_blue", "dark_orange", "bright_green", "bright_red", "bright_magenta",
                "bright_cyan", "bright_yellow", "grey50")


def colour_of(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def legend(names: Sequence[str], width: int = 1_000):
    """The runs' names, each after a line in its colour, above the plots (a legend over
    the plot would cover the curves): on one line if they fit ``width``, else one a
    line (wrapped, a colour's mark could end one line and its name start the next)."""
    from rich.text import Text

    one_line = sum(len(n) + 3 for n in names) + 2 * (len(names) - 1) <= width
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, name in enumerate(names):
        text.append(("  " if one_line else "\n") if i else "")
        text.append("━━ ", RICH_PALETTE[i % len(RICH_PALETTE)])
        text.append(name)
    return text


def x_high(runs: Sequence[tuple[str, Curves]], x_axis: str = SEEN) -> float:
    """The right end of both plots' x axis: the furthest any run got, train or test (a
    run stopped mid-epoch has train rows past its last test)."""
    ends = [xs[-1] for _, c in runs
            for xs in ((c.train_seen, c.test_seen) if x_axis == SEEN else (c.train_epoch, c.test_epoch))
            if xs]
    return max(ends, default=0)


class _ComparePlot(_Plot):
    """The runs' series on one y axis fitted to the plot's rows (tui.render.plotdata.row_axis:
    each label on the row that stands for it, each point on the row nearest its value).
    No legend over the curves: the screen names each run's colour above the plots."""

    DEFAULT_CSS = "_ComparePlot { min-height: 7; }"
    TITLE = ""
    FLOOR: float | None = 0.0
    CEILING: float | None = None

    def replot(self, runs: Sequence[tuple[str, Curves]], x_axis: str = SEEN,
               high: float | None = None) -> None:
        """``high``: the x axis's right end, the same for both plots (x_high)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.TITLE)
        xlabel = self.size.height >= 12
        if xlabel:
            plt.xlabel(X_LABEL if x_axis == SEEN else "epochs")
        width = max(self.size.width, 20)
        series = [s for i, (name, curves) in enumerate(runs)
                  for s in self.series(i, curves, x_axis, width)]
        ys = [v for _, _, y, _ in series for v in y]
        if high is None:
            high = x_high(runs, x_axis)
        if ys:
            rows = plot_rows(self.size.height, xlabel=xlabel)
            axis = row_axis(min(ys), max(ys), rows, most=max(2, rows // 2),
                            floor=self.FLOOR, ceiling=self.CEILING)
            for kind, x, y, colour in series:
                if kind == "line":
                    plt.plot(x, axis.braille(y), marker="braille", color=colour)
                else:
                    plt.scatter(x, y, marker="●", color=colour)
            apply_axis(plt, axis)
        if high > 0:
            plt.xlim(0, high)
            ticks = nice_ticks(0, high, max(3, self.size.width // 8))
            if len(ticks) > 1:
                plt.xticks(ticks)
        self.refresh()

    def series(self, i: int, c: Curves, x_axis: str, width: int) -> list[tuple[str, list, list, str]]:
        """("line" or "points", xs, ys, colour) for one run."""
        raise NotImplementedError


class CompareLossPlot(_ComparePlot):
    """Each run's train loss as a line (its test losses as points of its colour)."""

    DEFAULT_CSS = "CompareLossPlot { min-height: 7; }"
    TITLE = "Loss (⣀ train, ● test)"

    def series(self, i: int, c: Curves, x_axis: str, width: int) -> list[tuple[str, list, list, str]]:
        colour = colour_of(i)
        tx = c.train_seen if x_axis == SEEN else c.train_epoch
        ex = c.test_seen if x_axis == SEEN else c.test_epoch
        out = []
        if tx:
            x, y = downsample(tx, c.train_loss, 2 * width)
            out.append(("line", list(x), list(y), colour))
        if ex:
            out.append(("points", list(ex), list(c.test_loss), colour))
        return out


class CompareAccuracyPlot(_ComparePlot):
    """Each run's test accuracy after every test."""

    DEFAULT_CSS = "CompareAccuracyPlot { min-height: 7; }"
    TITLE = "Test accuracy %"
    CEILING = 100.0

    def series(self, i: int, c: Curves, x_axis: str, width: int) -> list[tuple[str, list, list, str]]:
        colour = colour_of(i)
        ex = c.test_seen if x_axis == SEEN else c.test_epoch
        if not ex:
            return []
        return [("line", list(ex), list(c.test_accuracy), colour),
                ("points", list(ex), list(c.test_accuracy), colour)]
