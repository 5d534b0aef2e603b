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

from tui.plotdata import downsample, fit_range, log_ticks, nice_ticks, recent_start, smooth
from tui.segments import SegmentLines
from tui.viewmodel import Mark

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
        # Ticks, title and labels were chosen for the old width: a replot at the new one
        # (the row's resize may come before this plot has its new size).
        row = self.parent
        if self.NAME and hasattr(row, "mark"):
            row.mark(self.NAME)

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


class LossPlot(_Plot):
    """Train loss as a line, test loss as points, a labelled mark where a
    hyperparameter changed. ``whole`` shows the whole run (else the recent tests'
    part of it), ``smoothing`` the train loss (TensorBoard's), ``log`` a log axis."""

    NAME = "loss"

    DEFAULT_CSS = "LossPlot { min-height: 5; }"

    whole = False
    smoothing = 0.0
    log = False
    shown_range: tuple[float, float, float, float] | None = None  # x lo, x hi, y lo, y hi
    _smoothed: tuple[float, int, list[float]] = (0.0, 0, [])  # (weight, version, smoothed)

    def title(self) -> str:
        parts = ["Loss", "whole run" if self.whole else "recent"]
        if self.smoothing:
            parts.append(f"smoothed {self.smoothing:g}")
        if self.log:
            parts.append("log")
        short = ["Loss", "all" if self.whole else "", f"~{self.smoothing:g}" if self.smoothing else "",
                 "log" if self.log else ""]
        return fit_title(self.size.width, " · ".join(parts), " ".join(p for p in short if p), "Loss")

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
               version: int = 0) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title())
        if self.size.height >= 12:
            plt.xlabel(X_LABEL)
        width = max(self.size.width, 20)
        start = 0 if self.whole else recent_start(test_x)
        ys = self._smooth(train_y, version) if self.smoothing else train_y
        tx, ty = _window(train_x, ys, start)
        sx, sy = _window(test_x, test_y, start)
        if self.log:
            ty = [math.log10(max(v, 1e-12)) for v in ty]
            sy = [math.log10(max(v, 1e-12)) for v in sy]
        if tx:
            x, y = downsample(tx, ty, 2 * width)
            plt.plot(x, y, label="train (smoothed)" if self.smoothing else "train", marker="braille")
        if sx:
            plt.scatter(sx, sy, label="test", marker="●")
        xs = [*train_x[-1:], *test_x[-1:]]
        if not xs or not (ty or sy):
            self.shown_range = None
            self.refresh()
            return
        x_lo, x_hi = start, max(max(xs), start + 1)
        y_lo, y_hi = fit_range([*ty, *sy])
        if not self.log:
            y_lo = max(y_lo, 0.0)  # a loss is never below 0
        plt.xlim(x_lo, x_hi)
        plt.ylim(y_lo, y_hi)
        plt.xticks(nice_ticks(x_lo, x_hi, max(3, self.size.width // 8)))
        if self.log:
            plt.yticks(*log_ticks(y_lo, y_hi, max(2, self.size.height // 3)))
        shown = [m for m in marks if x_lo <= m.seen <= x_hi]
        for m in shown:
            plt.vline(m.seen, MARK_COLOR)
        rows = max(self.size.height - 4, 1)  # the canvas less the title and the x axis
        legend = (13 if self.smoothing else 10, bool(tx) + bool(sx))
        for mark, row, align in place_labels(shown, x_lo, x_hi, max(width - 8, 1), rows, legend):
            plt.text(mark.label, mark.seen, y_hi - (y_hi - y_lo) * (row + 0.5) / rows,
                     color=MARK_COLOR, alignment=align)
        self.shown_range = (x_lo, x_hi, y_lo, y_hi)
        self.refresh()


class AccuracyPlot(_Plot):
    """Test accuracy after each test; the best and its epoch in the title. ``whole``
    shows every test, else the recent ones on an axis that fits them."""

    NAME = "accuracy"

    DEFAULT_CSS = "AccuracyPlot { min-height: 5; }"

    whole = False
    shown_range: tuple[float, float, float, float] | None = None

    def replot(self, test_x: Sequence[int], acc: Sequence[float], best: tuple[float, int]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        best_acc, best_epoch = best
        view = "whole run" if self.whole else "recent"
        if best_epoch >= 0:
            plt.title(fit_title(self.size.width,
                                f"Accuracy %  best {best_acc:.2f} (epoch {best_epoch}) · {view}",
                                f"Accuracy %  best {best_acc:.2f} (epoch {best_epoch})",
                                f"Acc. best {best_acc:.2f} (ep {best_epoch})",
                                f"best {best_acc:.2f} ({best_epoch})"))
        else:
            plt.title(fit_title(self.size.width, f"Accuracy % · {view}", "Accuracy %"))
        if self.size.height >= 12:
            plt.xlabel(X_LABEL)
        self.shown_range = None
        if test_x:
            start = 0 if self.whole else recent_start(test_x)
            x, y = _window(test_x, acc, start)
            plt.scatter(x, y, marker="●")
            x_lo, x_hi = start, max(test_x[-1], start + 1)
            if self.whole:
                y_lo, y_hi = max(0, min(acc) - 5), 100
            else:
                y_lo, y_hi = fit_range(y, least=1.0)
                y_lo, y_hi = max(y_lo, 0), min(y_hi, 100)
            plt.xlim(x_lo, x_hi)
            plt.ylim(y_lo, y_hi)
            plt.xticks(nice_ticks(x_lo, x_hi, max(3, self.size.width // 8)))
            self.shown_range = (x_lo, x_hi, y_lo, y_hi)
        self.refresh()
