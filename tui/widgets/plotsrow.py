"""The tutorial's two plots side by side, drawn from the dashboard's model on a timer."""

from __future__ import annotations

from textual.app import ComposeResult, ScreenStackError
from textual.containers import Horizontal

from tui.render.plotdata import SMOOTHING
from tui.dashboard.viewmodel import DashboardModel
from tui.widgets.plots import AccuracyPlot, LossPlot, x_range

PLOT_SECONDS = 0.5        # redraw plots at most twice a second
PLOTS = ("loss", "accuracy")
SCALES = ("auto", "log", "linear")  # l goes to the next


class PlotsRow(Horizontal):
    """The loss and accuracy plots. New data marks a plot dirty (``mark``); the timer
    redraws one dirty plot per turn, a key's answer (``now``) redraws at once.

    A plot takes several milliseconds to draw and a test dirties both plots and the
    digits at once: one plot per frame keeps the longest wait of a key press short.
    """

    def __init__(self, model: DashboardModel, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.dirty: set[str] = set()
        self._turns = list(PLOTS)
        self._drawn_xs: dict[str, tuple[float, float]] = {}  # the x range each was drawn with

    def compose(self) -> ComposeResult:
        yield LossPlot(id="loss-plot")
        yield AccuracyPlot(id="acc-plot")

    def on_mount(self) -> None:
        self.set_interval(PLOT_SECONDS, self.redraw)

    def mark(self, *names: str) -> None:
        self.dirty.update(names or PLOTS)

    def now(self, *names: str) -> None:
        """Redraw these plots (all by default) now: a key press wants its answer at once."""
        self.mark(*names)
        self.redraw(everything=True)

    def redraw(self, everything: bool = False) -> None:
        """Redraw one dirty plot (the timer's turn), or all of them."""
        if not self.dirty or not self.is_attached:
            return  # (not attached: the app is shutting down, its widgets going)
        try:
            if self.screen.has_class("-tiny"):
                return
        except ScreenStackError:  # the app's screens already gone, this widget not yet
            return
        m = self.model
        # One x range for both: their columns line up. When it moves (a test, an epoch's
        # start, a zoom), the plot drawn with the old one is redrawn in the same frame.
        xs = x_range(m.train.xs, m.test_x, self.query_one(LossPlot).whole, m.n_train)
        self.dirty.update(name for name, drawn in self._drawn_xs.items() if drawn != xs)
        turn = [name for name in self._turns if name in self.dirty]
        if not everything and not any(self._drawn_xs.get(name, xs) != xs for name in turn):
            turn = turn[:1]
        for name in turn:
            self.dirty.discard(name)
            self._turns.remove(name)
            self._turns.append(name)  # the other one goes first next time
            self._drawn_xs[name] = xs
            if name == "loss":
                self.query_one(LossPlot).replot(m.train.xs, m.train.ys, m.test_x, m.test_loss,
                                                m.marks, version=m.train.version, xs=xs)
            else:
                self.query_one(AccuracyPlot).replot(m.test_x, m.test_acc, m.best, xs=xs)

    def zoom(self) -> None:
        """The recent tests on axes that fit them, or the whole run."""
        loss, acc = self.query_one(LossPlot), self.query_one(AccuracyPlot)
        loss.whole = acc.whole = not loss.whole
        self.now()

    def smooth(self) -> None:
        """The train loss smoothed as TensorBoard does, at the next of its weights."""
        plot = self.query_one(LossPlot)
        plot.smoothing = SMOOTHING[(SMOOTHING.index(plot.smoothing) + 1) % len(SMOOTHING)] \
            if plot.smoothing in SMOOTHING else 0.0
        self.now("loss")

    def log_scale(self) -> None:
        """The loss axis: auto (log once the losses span decades), log, linear."""
        plot = self.query_one(LossPlot)
        plot.scale = SCALES[(SCALES.index(plot.scale) + 1) % len(SCALES)]
        self.now("loss")
