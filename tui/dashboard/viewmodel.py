"""What the dashboard shows, as plain data (no Textual): the plots' series, the latest
test's predictions, the digit gallery's page, the hyperparameters in force and the edits
waiting (a ``core.edits.EditState``), and the best test so far, computed once per test.

The dashboard screen feeds it events and draws from it; tests use it without a screen.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from core import config as cfg
from core.config import Hyperparameters, show_value
from core.edits import EditState, min_epochs
from core import events as run
from core.events import HparamsChanged, TestEnd
from core.metrics import improves
from tui.engine import protocol
from tui.dashboard.states import AppState

LOG_LINES = 2000      # the log pane's lines kept
TRAIN_POINTS = 4000   # the most train-loss points kept for plotting (the run folder has all)
LAYER_STATS = 400     # the most LayerStats kept for "Inside the network"


class Mark(NamedTuple):
    """An applied edit on the loss plot: where (examples seen) and what changed."""

    seen: int
    label: str  # "lr 0.05"


def mark_label(changes: dict[str, tuple[Any, Any]]) -> str:
    """What an applied edit changed, for its mark on the loss plot: "lr 0.05"."""
    return ", ".join(f"{k} {show_value(new)}" for k, (_, new) in changes.items())


def edit_line(ev: HparamsChanged) -> str:
    """An edit's one line, in the dashboard's log and a headless run's output:
    "Applied at step 1,200 (epoch 2): lr 0.2 → 0.05" or "Waiting (on restart): ..."."""
    desc = ", ".join(f"{k} {show_value(o)} → {show_value(n)}" for k, (o, n) in ev.changes.items())
    if ev.applied:
        return f"Applied at step {ev.step:,} (epoch {ev.epoch}): {desc}"
    return f"Waiting ({cfg.EFFECT_WORDS[ev.effect]}): {desc}"


class BoundedSeries:
    """(x, y) points for a plot, never more than ``limit``, however long the run.

    Each kept point after the first stands for a run of ``stride`` consecutive points:
    its x is the run's last x, its y the run's mean. When the series outgrows ``limit``,
    neighbouring pairs merge in place and ``stride`` doubles, so every kept point weighs
    the same and the curve keeps its shape (and its mean). Kept exactly: the first point
    (the loss before training has moved) and the newest one (while its run is not
    complete, it is the last point). ``version`` changes when points merge, so a cache
    built on the old points (the smoothed curve) knows to start again.
    """

    def __init__(self, limit: int = TRAIN_POINTS) -> None:
        self.limit = max(limit, 8)
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.stride = 1
        self.version = 0
        self.count = 0           # points appended, all told
        self._sum = 0.0          # the incomplete run at the end: its sum and length
        self._n = 0
        self._last: tuple[float, float] = (0.0, 0.0)

    def __len__(self) -> int:
        return len(self.xs)

    def append(self, x: float, y: float) -> None:
        self.count += 1
        self._last = (x, y)
        if not self.xs:
            self.xs.append(x)
            self.ys.append(y)
            return
        provisional = self._n > 0   # the newest point stands in for its incomplete run
        self._sum += y
        self._n += 1
        point = (x, self._sum / self._n) if self._n == self.stride else (x, y)
        if self._n == self.stride:
            self._sum, self._n = 0.0, 0
        if provisional:
            self.xs[-1], self.ys[-1] = point
        else:
            self.xs.append(point[0])
            self.ys.append(point[1])
        if len(self.xs) > self.limit:
            self._merge()

    def extend(self, points: Sequence[tuple[float, float]]) -> None:
        for x, y in points:
            self.append(x, y)

    def _merge(self) -> None:
        """Pairs of complete runs become one run of twice the stride."""
        end = len(self.xs) - (1 if self._n else 0)
        bx, by = self.xs[1:end], self.ys[1:end]
        xs, ys = self.xs[:1], self.ys[:1]
        for i in range(0, len(bx) - 1, 2):
            xs.append(bx[i + 1])
            ys.append((by[i] + by[i + 1]) / 2)
        if len(bx) % 2:  # an odd one out joins the incomplete run at the end
            self._sum += by[-1] * self.stride
            self._n += self.stride
        self.stride *= 2
        if self._n:
            xs.append(self._last[0])
            ys.append(self._last[1])
        self.xs, self.ys = xs, ys
        self.version += 1

    def clear(self) -> None:
        version = self.version + 1  # never an old version again: caches start over
        self.__init__(self.limit)
        self.version = version


@dataclass
class DashboardModel:
    """The dashboard's data. Series are plain lists (tests are few: one per epoch);
    the train loss is a ``BoundedSeries``."""

    edits: EditState = field(default_factory=EditState)
    train: BoundedSeries = field(default_factory=BoundedSeries)
    test_x: list[int] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    test_epochs: list[int] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    best: tuple[float, int] = (0.0, -1)   # (accuracy %, epoch) of the best test so far
    last_test: TestEnd | None = None
    epochs_done: int = 0                  # as core.training.Run counts them:
    in_epoch: bool = False                # epochs completed, and whether one is in progress
    layer_stats: list[Any] = field(default_factory=list)
    test_images: np.ndarray | None = None
    test_labels: list[int] = field(default_factory=list)
    class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
    n_train: int = 0
    page: int = 0
    only_wrong: bool = False
    only_class: int | None = None  # f: the digits of one true class
    drawn_start: bool = False      # the training process was told its start is on screen
    rate_before: float = 0.0       # the last epoch's samples a second (steady_rate); 0: none
    test_seconds: float = 0.0      # how long the last epoch's test took, as seen here; 0: none
    test_from: float | None = None  # when the test now running began (time.monotonic)

    # ------------------------------------------------------------ hyperparameters
    @property
    def hp(self) -> Hyperparameters:
        return self.edits.hp

    @property
    def pending(self) -> dict[str, Any]:
        return dict(self.edits.pending)

    def min_epochs(self) -> int:
        return min_epochs(self.epochs_done, self.in_epoch)

    def hparams_changed(self, ev: HparamsChanged) -> str:
        """Take in an edit's announcement; the log line that says it."""
        if ev.applied:
            self.edits = self.edits.applied(ev.changes)
            self.marks.append(Mark(ev.seen, mark_label(ev.changes)))
        else:
            self.edits = self.edits.waiting(ev.changes)
        return edit_line(ev)

    def wait_for_restart(self, changes: dict[str, Any]) -> str:
        """The run has ended: the edits wait for a restart; the log line."""
        for name, value in changes.items():
            self.edits = self.edits.wait(name, value)
        return "Waiting (on restart): " + ", ".join(f"{k} → {show_value(v)}" for k, v in changes.items())

    def for_restart(self) -> Hyperparameters:
        """What a restart runs with: everything waiting is in force from its start."""
        self.edits = EditState(self.edits.target)
        return self.edits.hp

    def tick_details(self, ev: Any, *, show_eta: bool, paused: bool) -> tuple[str, str]:
        """The progress rows' texts at a Tick of this run (``tick_details``), its rate and
        ETAs leaning on the last epoch's early in an epoch (``steady_rate``)."""
        return tick_details(ev, self.hp.epochs, show_eta=show_eta, paused=paused,
                            rate=steady_rate(ev, self.rate_before), test_seconds=self.test_seconds)

    def epoch_ended(self, epoch: int, rate: float, *, show_eta: bool,
                    now: float | None = None) -> tuple[str, str]:
        """An epoch has trained (at ``rate``, its last Tick's) and its test begins: the
        progress rows' texts (``epoch_end_details``)."""
        self.epochs_done, self.in_epoch, self.rate_before = epoch, False, rate
        self.test_from = time.monotonic() if now is None else now
        return epoch_end_details(epoch, self.hp.epochs, self.n_train, rate, show_eta=show_eta,
                                 test_seconds=self.test_seconds)

    # ------------------------------------------------------------ the run's data
    def reset_run(self) -> None:
        """A new run (a restart, or a watched folder rewritten): its data starts empty."""
        self.train.clear()
        self.test_x, self.test_loss, self.test_acc, self.test_epochs = [], [], [], []
        self.marks = []
        self.best = (0.0, -1)
        self.last_test = None
        self.epochs_done, self.in_epoch = 0, False
        self.layer_stats = []
        self.drawn_start = False
        self.rate_before, self.test_seconds, self.test_from = 0.0, 0.0, None

    def add_test(self, epoch: int, seen: int, loss: float, accuracy: float) -> None:
        self.test_x.append(seen)
        self.test_loss.append(loss)
        self.test_acc.append(accuracy)
        self.test_epochs.append(epoch)
        if improves(accuracy, self.best[0] if self.best[1] >= 0 else None):  # core's one rule
            self.best = (accuracy, epoch)

    def test_ended(self, ev: TestEnd, now: float | None = None) -> bool:
        """Take in a test; True for the run's first one. An epoch's test is timed from
        its EpochEnd, for the run's ETA (in a watched run whose rows come at once: ~0)."""
        if self.test_from is not None:
            self.test_seconds = (time.monotonic() if now is None else now) - self.test_from
            self.test_from = None
        self.add_test(ev.epoch, ev.seen, ev.avg_loss, ev.accuracy)
        first, self.last_test = self.last_test is None, ev
        return first

    def add_layer_stats(self, ev: Any) -> None:
        self.layer_stats = [*self.layer_stats[-(LAYER_STATS - 1):], ev]

    @property
    def predictions(self) -> tuple[int, ...]:
        return self.last_test.predictions if self.last_test is not None else ()

    @property
    def confidences(self) -> tuple[float, ...]:
        return self.last_test.confidences if self.last_test is not None else ()

    def data_ready(self, images: bytes, labels: bytes, classes: tuple[str, ...], n_train: int) -> None:
        self.test_images = np.frombuffer(images, np.uint8).reshape(-1, 784)
        self.test_labels = list(np.frombuffer(labels, np.uint8).tolist())
        self.class_names = classes
        self.n_train = n_train

    # ------------------------------------------------------------ digit paging
    def digit_pool(self) -> list[int] | range:
        """The test examples the gallery pages through (misclassified only, one true
        class only, when asked)."""
        wrong = self.only_wrong and self.predictions
        if not wrong and self.only_class is None:
            return range(len(self.test_labels))
        return [i for i, y in enumerate(self.test_labels)
                if (self.only_class is None or y == self.only_class)
                and (not wrong or self.predictions[i] != y)]

    def page_indices(self, per: int) -> list[int]:
        """The test examples on the current page (the page wrapped into range)."""
        if self.test_images is None:
            return []
        pool = self.digit_pool()
        self.page, _ = page_of(len(pool), per, self.page)
        return list(pool[self.page * per:(self.page + 1) * per])

    def pages(self, per: int) -> int:
        return page_of(len(self.digit_pool()), per, 0)[1]

    def gallery_title(self, per: int, width: int = 0) -> str:
        pool = self.digit_pool()
        page, pages = page_of(len(pool), per, self.page)
        cls = None if self.only_class is None else (
            self.class_names[self.only_class] if self.class_names else str(self.only_class))
        return gallery_title(page, pages, len(pool), len(self.test_labels), self.only_wrong,
                             bool(self.predictions), cls, width=width)


def page_of(pool: int, per: int, page: int) -> tuple[int, int]:
    """(page, pages): the page wrapped into range, and how many there are (at least 1)."""
    pages = max(1, -(-pool // max(per, 1)))
    return page % pages, pages


def gallery_title(page: int, pages: int, shown: int, total: int, only_wrong: bool,
                  tested: bool, only_class: str | None = None, *, width: int = 0) -> str:
    """The gallery's border title: what it shows, which page, and the keys that change it;
    for a gallery ``width`` wide, the keys that do not fit left out whole, the least
    used first (the help has them all), instead of the title cut mid-word."""
    of_class = f" of class {only_class}" if only_class is not None else ""
    if only_wrong and tested:
        what = f"misclassified test digits{of_class}: {shown:,} of {total:,}"
    elif only_wrong:
        what = f"test digits{of_class} (misclassified ones after the first test)"
    elif only_class is not None:
        what = f"test digits of class {only_class}: {shown:,} of {total:,}"
    else:
        what = f"test digits: {total:,}"
    keys = ["n/p next/prev", "m " + ("all" if only_wrong else "misclassified"), "f class",
            "g page"]  # the order they are kept in
    parts = [what, f"page {page + 1}/{pages}", *keys]
    while width and len(" · ".join(parts)) > width - 2 and len(parts) > 2:
        parts.pop()
    return " · ".join(parts)


EARLY_IN_EPOCH = 0.5  # of an epoch's samples: until then its rate leans on the last one's


def steady_rate(ev: Any, rate_before: float) -> float:
    """The rate to show and reckon the ETAs with at a Tick. The engine's rate is the
    epoch's so far, which in its first steps is mostly the epoch's start (the shuffle,
    cold caches after the test), a fraction of its real speed: the run's ETA jumped for
    a moment at every epoch (to 1:09 from 0:23 on Fashion-MNIST), and stayed ~20 % high
    for the epoch's first fifth. So the previous epoch's rate, when there is one, moves
    over to this epoch's own as the epoch goes on, all of it its own from half-way."""
    if rate_before <= 0 or ev.epoch_samples >= EARLY_IN_EPOCH * ev.n_train:
        return ev.samples_per_sec
    own = ev.epoch_samples / (EARLY_IN_EPOCH * ev.n_train)
    return own * ev.samples_per_sec + (1 - own) * rate_before


def tick_details(ev: Any, epochs: int, *, show_eta: bool, paused: bool,
                 rate: float | None = None, test_seconds: float = 0.0) -> tuple[str, str]:
    """The detail texts of the epoch and run progress rows at a Tick: counts, then the
    rate (``rate``, by default the Tick's own) and the ETAs, or "paused" while paused (a
    rate would be a stale one). The run's ETA has the tests still to come in it, each
    ``test_seconds`` (the last one's time); the epoch's is its training."""
    epoch_left = ev.n_train - ev.epoch_samples
    later = max(epochs - ev.epoch, 0)
    run_left = epoch_left + later * ev.n_train
    rate = ev.samples_per_sec if rate is None else rate
    speed = eta = ""
    if paused:
        speed = eta = " · paused"
    elif show_eta and rate > 0:  # no clock in the frame when asked (snapshots)
        speed = f" · {rate:,.0f} samples/s · ETA {_duration(epoch_left / rate)}"
        eta = f" · ETA {_duration(run_left / rate + (later + 1) * test_seconds)}"
    return (f"{ev.epoch_samples:,}/{ev.n_train:,}{speed}",
            f"{ev.epoch - 1}/{epochs} epochs · step {ev.step:,}{eta}")


def epoch_end_details(epoch: int, epochs: int, n_train: int, rate: float, *,
                      show_eta: bool, test_seconds: float = 0.0) -> tuple[str, str]:
    """The detail texts of the epoch and run progress rows once an epoch has trained and
    its test runs: the epoch row says so, and the run row keeps its ETA (from the last
    rate, with this test and the later ones at ``test_seconds`` each) instead of losing
    it until the next Tick, which also kept the rows' bars changing width at 60 columns."""
    later = max(epochs - epoch, 0)
    seconds = later * n_train / rate + (later + 1) * test_seconds if rate > 0 else 0.0
    eta = f" · ETA {_duration(seconds)}" if show_eta and rate > 0 and later else ""
    return f"{n_train:,}/{n_train:,} · testing…", f"{epoch}/{epochs} epochs{eta}"


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


@dataclass(frozen=True)
class EngineStarted:
    """Not from the engine: the app has started one (the run, a restart, a followed
    folder); the state is LOADING until the engine says more."""


def state_after(state: AppState, ev: protocol.EngineEvent | EngineStarted, *,
                error: bool = False) -> AppState:
    """The dashboard's state once an engine event is in (pure: the one place that
    decides it). ``error``: an error has been reported (an engine that stops after one
    ends in ERROR, not STOPPED). Pausing holds through the run's progress events."""
    paused = state == AppState.PAUSED
    if isinstance(ev, (protocol.Loading, EngineStarted)):
        return AppState.LOADING
    if isinstance(ev, run.DownloadProgress):
        return AppState.DOWNLOADING
    if isinstance(ev, run.RunStarted):
        return AppState.TESTING
    if isinstance(ev, run.EvalProgress):
        return state if paused else AppState.TESTING
    if isinstance(ev, (run.EpochStarted, run.TestEnd)):
        return state if paused else AppState.TRAINING
    if isinstance(ev, protocol.PauseChanged):
        return AppState.PAUSED if ev.paused else AppState.TRAINING
    if isinstance(ev, run.RunFinished):
        return AppState(ev.status)
    if isinstance(ev, protocol.EngineFailed):
        return state if state.ended else AppState.ERROR
    if isinstance(ev, protocol.EngineStopped) and (state.active or state.loading):
        return AppState.ERROR if error else AppState.STOPPED
    return state


def error_after(error: str, internal: bool, ev: Any) -> tuple[str, bool]:
    """The error the dashboard reports once an event is in (pure), and whether it is
    internal (a bug: exit 1, its traceback in a file) rather than bad input (exit 2):
    the engine's failure, or a loss that stopped being a number; else as it was."""
    if isinstance(ev, protocol.EngineFailed):
        return ev.message, bool(ev.detail_file)
    if isinstance(ev, run.NonFiniteLoss):
        return (f"The loss became {ev.loss} at epoch {ev.epoch}, step {ev.step}: training "
                f"stopped before applying it. Lower the learning rate (e) and restart (r)."), internal
    return error, internal


#: the keys refused while watching: the run is another process's
WATCH_REFUSED = ("toggle_pause", "edit", "restart", "save")


@dataclass(frozen=True)
class KeyContext:
    """What decides which dashboard keys apply, besides the model."""

    state: AppState
    engine: bool                 # an engine is attached (a run, or a followed folder)
    watching: bool               # following another process's run folder
    start_paused: bool = False   # space while loading: training starts paused
    alternatives: tuple[str, ...] = ()  # other datasets found here, when data is missing
    compact: bool = False        # a small terminal: one pane for plots or digits
    digits: bool = False         # (compact) the pane shows the digits, not the plots


def key_applies(action: str, ctx: KeyContext, model: DashboardModel) -> bool:
    """Whether a dashboard key applies now (pure: the footer shows the ones that do)."""
    state = ctx.state
    if ctx.watching and action in WATCH_REFUSED:
        return False
    running = ctx.engine and state.active
    loading = ctx.engine and state.loading
    if action == "toggle_pause":  # while loading: training will start paused
        return (running and state != AppState.PAUSED) or (loading and not ctx.start_paused)
    if action == "resume":
        return (running and state == AppState.PAUSED) or (loading and ctx.start_paused)
    if action == "save":
        return running or (ctx.engine and state in (AppState.FINISHED, AppState.STOPPED))
    if action == "show_digits":
        return ctx.compact and not ctx.digits
    if action == "show_plots":
        return ctx.compact and ctx.digits
    if action in ("next_digits", "prev_digits", "goto_page", "class_filter"):
        # while loading: the page turns once the digits come
        return model.test_images is not None or loading
    if action == "misclassified":
        return bool(model.predictions) or loading or (state == AppState.TESTING and not model.test_acc)
    if action in ("confusion", "hardest"):
        return model.last_test is not None and model.test_images is not None
    if action == "edit":
        return state != AppState.STARTING
    if action == "other_dataset":
        return bool(ctx.alternatives) and not ctx.watching
    if action == "draw":  # asks the live network: not while watching
        return not ctx.watching and ctx.engine and model.test_images is not None
    return True
