"""A sweep's plots: the best accuracy so far against trial number, and each searched
value against the accuracy its trial reached."""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.sweep import Dimension, TrialRow
from tui.widgets.plots import _Plot


def _scored(rows: Sequence[TrialRow]) -> list[TrialRow]:
    """Trials with an accuracy to plot: complete, and pruned ones (their best so far)."""
    return [r for r in rows if r.best_accuracy is not None and r.state in ("complete", "pruned")]


class _SweepPlot(_Plot):
    _last: tuple = ()

    def on_resize(self) -> None:
        if self._last:  # titles and ticks were chosen for the old size
            self.replot(*self._last)


class BestSoFarPlot(_SweepPlot):
    """Each complete trial's best accuracy as a point, the best so far as a line."""

    DEFAULT_CSS = "BestSoFarPlot { min-height: 5; }"

    def replot(self, rows: Sequence[TrialRow]) -> None:
        self._last = (rows,)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        done = sorted((r for r in rows if r.state == "complete" and r.best_accuracy is not None),
                      key=lambda r: r.number)
        plt.title("best accuracy % so far" if self.size.width >= 30 else "best %")
        if done:
            xs, best, top = [], [], -1.0
            for r in done:
                top = max(top, r.best_accuracy)
                xs.append(r.number)
                best.append(top)
            plt.scatter(xs, [r.best_accuracy for r in done], marker="●", color="gray")
            plt.plot(xs, best, marker="braille", color="green+")
            if self.size.height >= 10:
                plt.xlabel("trial")
            step = max(1, math.ceil((xs[-1] - xs[0] + 1) / max(2, self.size.width // 10)))
            plt.xticks(list(range(xs[0], xs[-1] + 1, step)))  # trial numbers: whole
            if xs[0] == xs[-1]:
                plt.xlim(xs[0] - 1, xs[0] + 1)
        self.refresh()


class ScatterPlot(_SweepPlot):
    """One searched value (``dim``) against each trial's accuracy; choices as positions
    labelled with their values, a log axis for a log-scale range."""

    DEFAULT_CSS = "ScatterPlot { min-height: 5; }"

    def replot(self, rows: Sequence[TrialRow], dim: Dimension | None) -> None:
        self._last = (rows, dim)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if dim is None:
            self.refresh()
            return
        plt.title(f"accuracy % vs {dim.name}" + (" (p: next)" if self.size.width >= 34 else ""))
        pts = [(r.params.get(dim.name), r) for r in _scored(rows) if dim.name in r.params]
        if dim.kind == "choice":
            from core.runs import show_value

            labels = list(dim.choices)
            index = {c: i for i, c in enumerate(labels)}
            xs = [index.get(show_value(v), -1) for v, _ in pts]
            plt.xticks(list(range(len(labels))), labels)
            plt.xlim(-0.5, len(labels) - 0.5)
        elif dim.log:  # log10 of the values, ticks labelled with the values themselves
            # (plotext's own log scale fails with set limits)
            lo, hi = math.log10(dim.low), math.log10(dim.high)
            xs = [math.log10(v) for v, _ in pts]
            ticks = [t for t in range(math.ceil(lo), math.floor(hi) + 1)] or [lo, hi]
            plt.xticks(ticks, [f"{10 ** t:g}" for t in ticks])
            plt.xlim(lo, hi if hi > lo else lo + 1)
        else:
            xs = [float(v) for v, _ in pts]
            plt.xlim(float(dim.low), float(dim.high) if dim.high > dim.low else dim.low + 1)
        for state, colour in (("complete", "green+"), ("pruned", "gray")):
            sel = [(x, r.best_accuracy) for x, (_, r) in zip(xs, pts) if r.state == state]
            if sel:
                plt.scatter([x for x, _ in sel], [y for _, y in sel], marker="●", color=colour)
        self.refresh()
