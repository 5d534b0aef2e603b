"""The tutorial's figure in the terminal: train loss, test loss and accuracy."""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual_plotext import PlotextPlot

from tui.render.plotdata import (downsample, log_row_axis, nice_ticks, plot_rows, recent_start,
                                 row_axis, smooth)
from tui.render.segments import SegmentLines
from tui.dashboard.viewmodel import Mark

__all__ = ["AccuracyPlot", "LossPlot", "Mark", "X_LABEL", "ansi_lines", "fit_title"]

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
    conversion of the Text (those two steps were nearly half a plot's drawing time).
    tests/unit/test_plotdata.py checks it against ``Text.from_ansi``.
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

    NAME = ""  # "loss" or "accuracy": what the row calls it

    def on_resize(self) -> None:
        # Ticks, title and labels were chosen for the old size: a replot at the new one,
        # now (the row's resize may come before this plot has its new size). Left to the
        # row's timer, the new size showed the old labels for up to a second: labels
        # unevenly apart and the points on rows not their own.
        row = self.parent
        if self.NAME and hasattr(row, "now"):
            row.now(self.NAME)

    def render(self):  # the same steps as PlotextPlot.render, but the last one
        try:
            self._plot.plotsize(self.size.width, self.size.height)
            self._plot._set_size(self.size.width, self.size.height)
            self._plot.theme(self._get_plotext_theme_name(self.app.theme))
        except AttributeError:  # another textual-plotext: its own way
            return super().render()
        return ansi_lines(self._plot.build())


def fit_title(width: int, *titles: str) -> str:
    """The first (longest) of ``titles`` that fits: plotext leaves out a title that
    does not."""
    return next((t for t in titles if len(t) <= width - 2), titles[-1][:max(width - 2, 0)])


MARK_COLOR = "orange"
MARK_ROWS = 3  # labels too close to their neighbour go one row lower, then are left out


#: Values beyond this are left out of a plot (a diverging run's losses reach NaN and
#: infinity; plotext turns the axis range into integers, and fails on those).
PLOT_LIMIT = 1e100


def _window(xs: Sequence[float], ys: Sequence[float], start: float) -> tuple[list, list]:
    """The points from ``start`` on (xs ascending), those that can be drawn."""
    i = bisect_left(xs, start)
    kept = [(x, y) for x, y in zip(xs[i:], ys[i:]) if abs(y) <= PLOT_LIMIT]  # (NaN is not)
    return [x for x, _ in kept], [y for _, y in kept]


def place_labels(marks: Sequence[Mark], lo: float, hi: float, cells: int, rows: int,
                 legend: tuple[int, int] = (0, 0)) -> list[tuple[Mark, int, str]]:
    """(mark, row, alignment) for the labels that fit on ``cells`` columns spanning x
    ``lo``..``hi`` and ``rows`` rows: each starts at its mark (or ends there, near the
    right edge), on the first row where it runs into no other label and not into the
    legend (``legend``: its columns and rows at the top left); others are left out."""
    taken: list[list[tuple[int, int]]] = [[] for _ in range(min(rows, MARK_ROWS + legend[1]))]
    placed = []
    scale = (cells - 1) / max(hi - lo, 1e-9)
    for mark in sorted(marks):
        col = int(round((mark.seen - lo) * scale))
        left, align = (col, "left") if col + len(mark.label) <= cells else (col - len(mark.label) + 1, "right")
        span = (left - 1, left + len(mark.label))  # a cell of room on each side
        for row, used in enumerate(taken):
            if row < legend[1] and left < legend[0]:
                continue
            if all(span[1] < a or span[0] > b for a, b in used):
                used.append(span)
                placed.append((mark, row, align))
                break
    return placed


LOG_SPAN = 20.0  # auto scale: log once the values shown span more than this ratio


def x_range(train_x: Sequence[float], test_x: Sequence[float], whole: bool,
            epoch_samples: int = 0) -> tuple[float, float]:
    """The x range both plots show (one, so that their columns line up): the recent
    tests (``recent_start``) or the whole run, to the last point of either series; while
    an epoch trains (train points past the last test), to that epoch's end
    (``epoch_samples`` after the last test), so the range holds still between two tests
    and the accuracy plot, redrawn after each test, keeps the loss plot's."""
    start = 0 if whole else recent_start(test_x)
    hi = max([*train_x[-1:], *test_x[-1:], start + 1])
    if epoch_samples and train_x and test_x and train_x[-1] > test_x[-1]:
        hi = max(hi, test_x[-1] + epoch_samples)
    return start, hi


def label_width(axis) -> int:
    """The columns the y labels and the axis line take."""
    return max((len(label) for label in axis.labels), default=0) + 1 if axis else 0


def apply_axis(plt, axis) -> None:
    """The y limits and the labels of a RowAxis (see tui.render.plotdata: each label on the
    row that stands for it)."""
    plt.ylim(axis.lo, axis.hi)
    plt.yticks(axis.ticks, axis.labels)


class LossPlot(_Plot):
    """Train loss as a line, test loss as points, a labelled mark where a
    hyperparameter changed. ``whole`` shows the whole run (else the recent tests'
    part of it), ``smoothing`` the train loss (TensorBoard's: the raw line stays,
    dimmed, under the smoothed one), ``scale`` "auto" (log once the losses shown span
    more than a factor LOG_SPAN: a train loss 100 times below the test loss would be a
    flat line on 0 on a linear axis fitted to both), "log" or "linear".

    The legend is in the title (⣀ train, ● test), outside the data."""

    NAME = "loss"

    DEFAULT_CSS = "LossPlot { min-height: 7; }"

    whole = False
    smoothing = 0.0
    scale = "auto"
    shown_range: tuple[float, float, float, float] | None = None  # x lo, x hi, y lo, y hi
    axis = None  # the RowAxis drawn last
    log_shown = False
    _smoothed: tuple[float, int, list[float]] = (0.0, 0, [])  # (weight, version, smoothed)

    @property
    def log(self) -> bool:
        return self.log_shown

    def title(self, label_width: int = 0) -> str:
        """The title, as long as fits above the canvas (plotext leaves out one that
        does not fit beside the y labels, ``label_width`` wide)."""
        train = "⣀ train"
        if self.smoothing:
            train = f"⣀ train smoothed {self.smoothing:g}"
        view = "whole run" if self.whole else "recent"
        scale = {"auto": "log" if self.log_shown else "", "log": "log", "linear": "linear"}[self.scale]
        parts = ["Loss", view, *([scale] if scale else []), f"{train}  ● test"]
        short = ["Loss", "all" if self.whole else "", scale,
                 f"⣀ train~{self.smoothing:g}" if self.smoothing else "⣀ train", "● test"]
        return fit_title(self.size.width - label_width, " · ".join(parts),
                         " ".join(p for p in short if p), "Loss ⣀ train ● test", "Loss")

    def _smooth(self, ys: Sequence[float], version: int) -> list[float]:
        """The smoothed train loss, extended from what was computed at the last draw
        (all of it again once the series' points have merged: a new ``version``; its
        last point again always, as the newest point can change in place)."""
        weight, seen_version, done = self._smoothed
        if weight != self.smoothing or seen_version != version or len(done) > len(ys):
            done = []
        done = smooth(ys, self.smoothing, done[:-1])
        self._smoothed = (self.smoothing, version, done)
        return done

    def replot(self, train_x: Sequence[int], train_y: Sequence[float],
               test_x: Sequence[int], test_y: Sequence[float], marks: Sequence[Mark],
               version: int = 0, xs: tuple[float, float] | None = None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        xlabel = self.size.height >= 12
        if xlabel:
            plt.xlabel(X_LABEL)
        width = max(self.size.width, 20)
        x_lo, x_hi = xs or x_range(train_x, test_x, self.whole)
        smoothed = self._smooth(train_y, version) if self.smoothing else train_y
        tx, ty = _window(train_x, smoothed, x_lo)
        raw = _window(train_x, train_y, x_lo)[1] if self.smoothing else []
        sx, sy = _window(test_x, test_y, x_lo)
        values = [v for v in [*ty, *raw, *sy] if v > 0]
        self.log_shown = bool(values) and (self.scale == "log" or (
            self.scale == "auto" and max(values) > LOG_SPAN * min(values)))
        if not (tx or sx) or not [*ty, *sy]:
            plt.title(self.title())
            self.shown_range = self.axis = None
            self.refresh()
            return
        rows = plot_rows(self.size.height, xlabel=xlabel)
        if self.log_shown:
            to_log = lambda vs: [math.log10(max(v, 1e-12)) for v in vs]  # noqa: E731
            ty, raw, sy = to_log(ty), to_log(raw), to_log(sy)
            shown = [*ty, *raw, *sy]
            axis = log_row_axis(min(shown), max(shown), rows, most=max(2, rows // 2))
        else:
            shown = [*ty, *raw, *sy]
            axis = row_axis(min(shown), max(shown), rows, most=max(2, rows // 2), floor=0.0)
        plt.title(self.title(label_width(axis)))
        if raw:
            x, y = downsample(tx, raw, 2 * width)
            plt.plot(x, axis.braille(y), marker="braille", color="gray")
        if tx:
            x, y = downsample(tx, ty, 2 * width)
            plt.plot(x, axis.braille(y), marker="braille")
        if sx:
            plt.scatter(sx, sy, marker="●")
        plt.xlim(x_lo, x_hi)
        apply_axis(plt, axis)
        plt.xticks(nice_ticks(x_lo, x_hi, max(3, self.size.width // 8)))
        shown_marks = [m for m in marks if x_lo <= m.seen <= x_hi]
        for m in shown_marks:
            plt.vline(m.seen, MARK_COLOR)
        for mark, row, align in place_labels(shown_marks, x_lo, x_hi, max(width - 8, 1), rows):
            plt.text(mark.label, mark.seen, axis.hi - axis.step * row,
                     color=MARK_COLOR, alignment=align)
        self.axis = axis
        self.shown_range = (x_lo, x_hi, axis.lo, axis.hi)
        self.refresh()


class AccuracyPlot(_Plot):
    """Test accuracy after each test; the best and its epoch in the title. ``whole``
    shows every test, else the recent ones on an axis that fits them."""

    NAME = "accuracy"

    DEFAULT_CSS = "AccuracyPlot { min-height: 7; }"

    whole = False
    shown_range: tuple[float, float, float, float] | None = None
    axis = None

    def replot(self, test_x: Sequence[int], acc: Sequence[float], best: tuple[float, int],
               xs: tuple[float, float] | None = None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        best_acc, best_epoch = best
        view = "whole run" if self.whole else "recent"
        xlabel = self.size.height >= 12
        axis = None
        if test_x:
            x_lo, x_hi = xs or x_range((), test_x, self.whole)
            x, y = _window(test_x, acc, x_lo)
            rows = plot_rows(self.size.height, xlabel=xlabel)
            lo = min(acc) if self.whole else min(y)
            axis = row_axis(lo, 100.0 if self.whole else max(y), rows, most=max(2, rows // 2),
                            floor=0.0, ceiling=100.0)
        room = self.size.width - label_width(axis)
        if best_epoch >= 0:
            plt.title(fit_title(room,
                                f"Accuracy %  best {best_acc:.2f} (epoch {best_epoch}) · {view}",
                                f"Accuracy %  best {best_acc:.2f} (epoch {best_epoch})",
                                f"Acc. best {best_acc:.2f} (ep {best_epoch})",
                                f"best {best_acc:.2f} ({best_epoch})"))
        else:
            plt.title(fit_title(room, f"Accuracy % · {view}", "Accuracy %"))
        if xlabel:
            plt.xlabel(X_LABEL)
        self.shown_range = self.axis = None
        if axis is not None:
            plt.scatter(x, y, marker="●")
            plt.xlim(x_lo, x_hi)
            apply_axis(plt, axis)
            plt.xticks(nice_ticks(x_lo, x_hi, max(3, self.size.width // 8)))
            self.axis = axis
            self.shown_range = (x_lo, x_hi, axis.lo, axis.hi)
        self.refresh()
