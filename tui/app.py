"""The dashboard: watch the network learn, and steer it from the keyboard."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.widgets import RichLog
from textual.worker import get_current_worker

from core import config as cfg
from core.config import Hyperparameters
from core.runfolder import default_run_dir
from core.events import (
    DownloadProgress, EpochEnd, EpochStarted, EvalProgress, HparamsChanged, NonFiniteLoss, RunFinished,
    RunStarted, TestEnd,
)
from tui.engine import (
    Backfill, DataReady, Edit, EditResult, EngineFailed, EngineStopped, Loading, Pause, PauseChanged,
    Notice, PredictImage, ProcessEngine, ReadProgress, Resume, RunSpec, Save, Saved, ThreadEngine, Tick, Trace,
)
from tui.messages import EngineEvent
from tui.screens.confirm import ConfirmScreen
from tui.screens.edit import EditScreen
from tui.screens.help import HelpScreen
from tui.widgets.footer import KeyFooter
from tui.widgets.gallery import DigitGallery
from tui.widgets.hparams import HparamsPane, show_value
from tui.widgets.logpane import LogPane
from tui.widgets.nodata import NoDataPanel
from tui.plotdata import SMOOTHING
from tui.widgets.plots import AccuracyPlot, LossPlot, Mark
from tui.widgets.progress import TrainingProgress
from tui.widgets.status import StatusBar

SIGNAL_EXIT_SECONDS = 20.0  # after SIGTERM / SIGHUP or q: the longest wait for the checkpoint
PLOT_SECONDS = 0.5        # redraw plots at most twice a second
PLOTS = ("loss", "accuracy")
ACTIVE = ("training", "testing", "paused")
MAIN_SCREEN_ONLY = ("next_digits", "misclassified", "confusion", "hardest", "restart", "inside")
LOADING = ("starting", "loading", "downloading")
ENDED = ("finished", "stopped", "diverged", "error")


class MnistTuiApp(App):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere work too
    TITLE = "mnist-tui"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        Binding("space", "toggle_pause", "Pause"),
        Binding("space", "resume", "Resume"),  # the same key: the footer says what it does now
        Binding("e", "edit", "Edit"),
        Binding("r", "restart", "Rerun"),  # short: "space Resume ... q Quit" fits 80 columns
        Binding("n", "next_digits", "Next"),
        Binding("m", "misclassified", "Wrong"),
        Binding("c", "confusion", "Matrix"),
        Binding("h", "hardest", "Hard"),
        # Not in the footer: at 80 columns its keys fill the line already (listed under ?).
        Binding("w", "inside", "Inside", show=False),
        Binding("d", "draw", "Draw"),
        # Not in the footer, so that d Draw and q Quit fit 80 columns: a checkpoint is
        # written after every test and on quitting anyway (s is in the help screen).
        Binding("s", "save", "Save", show=False),
        # The plots' keys: the plot titles say what they show (the footer has no room).
        Binding("z", "zoom", "Zoom", show=False),
        Binding("o", "smooth", "Smooth", show=False),
        Binding("l", "log_scale", "Log", show=False),
        Binding("d", "other_dataset", "Other data"),  # only when the data is missing
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True),
    ]

    def __init__(self, spec: RunSpec, *, engine: str = "process", show_eta: bool = True,
                 ascii: bool = False, run_dir: str | None = None, watch: str | None = None) -> None:
        super().__init__()
        self.watch_dir = watch  # read-only: follow a run another process writes
        self.spec = spec
        self.engine_kind = engine
        self.show_eta = show_eta
        self.ascii = ascii
        self.run_dir = Path(run_dir or spec.run_dir or spec.resume or default_run_dir())
        self._base_run_dir = self.run_dir
        self.restarts = 0
        self.generation = 0
        self.engine: ProcessEngine | ThreadEngine | None = None
        self.state = "starting"
        self.hp: Hyperparameters = spec.hparams
        self.pending: dict[str, Any] = {}
        self.error = ""
        self._frozen = False
        self._saved = threading.Event()
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self.exit_signal = 0  # 128 + the signal that ended the app (SIGTERM 143, SIGHUP 129)
        self._reset_data()
        self.test_images: np.ndarray | None = None
        self.test_labels: list[int] = []
        self.class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
        self.n_train = 0
        self.page = 0
        self.only_wrong = False
        self.start_paused = False  # space while loading: training starts paused
        self.alternatives: tuple[str, ...] = ()  # other datasets found here, when data is missing
        self._plots_dirty: set[str] = set()  # "loss" and / or "accuracy"
        self._plot_turns = list(PLOTS)
        self._last_tick: Tick | None = None
        self.saved_paths: list[str] = []
        self.log_lines: list[str] = []  # what the log pane shows, unwrapped
        self._state_events: dict[str, asyncio.Event] = {}
        self._event_waiters: dict[type, list[asyncio.Future]] = {}

    def _reset_data(self) -> None:
        self.train_x: list[int] = []
        self.train_y: list[float] = []
        self.test_x: list[int] = []
        self.test_loss: list[float] = []
        self.test_acc: list[float] = []
        self.test_epochs: list[int] = []
        self.marks: list[Mark] = []  # applied edits: where, and what changed
        self.predictions: tuple[int, ...] = ()
        self.confidences: tuple[float, ...] = ()
        self.last_test: TestEnd | None = None
        self.epoch = 0
        self.layer_stats: list[Any] = []  # core.events.LayerStats, for "Inside the network"

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield TrainingProgress(id="progress")
        with Horizontal(id="plots"):
            yield LossPlot(id="loss-plot")
            yield AccuracyPlot(id="acc-plot")
        with Horizontal(id="middle"):
            yield DigitGallery(id="gallery")
            yield HparamsPane(id="hparams")
        yield NoDataPanel(id="nodata")
        yield LogPane(id="log", max_lines=2000, wrap=True, markup=False, auto_scroll=True)
        yield KeyFooter()

    @property
    def _main(self):
        """The dashboard's screen: queries go there even while a modal screen is on top
        (``App.query_one`` searches the active screen)."""
        return self.screen_stack[0]

    def on_mount(self) -> None:
        self._apply_size_classes()
        self._main.query_one("#log", RichLog).border_title = "log"
        self.set_interval(PLOT_SECONDS, self._redraw_plots_if_dirty)
        self._refresh_static()
        if self.watch_dir is not None:
            self._main.query_one(StatusBar).mode = f"watching {self.watch_dir} (read-only)"
            self._main.query_one(HparamsPane).border_title = "hyperparameters"
        self._event_loop = asyncio.get_running_loop()
        # Plain signal handlers, not the event loop's: after a hang-up the loop can be stuck
        # writing to the dead terminal, and a Python handler still runs (lock waits are
        # interruptible). The handler only starts a thread; see _after_signal.
        self._signals: dict[signal.Signals, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                continue  # started under nohup: a hang-up stays ignored, as nohup asks
            try:
                self._signals[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError, AttributeError):  # not the main thread; Windows
                pass
        self.start_engine()
        if self.watch_dir is None:
            self.call_after_refresh(self._compose_edit_form)

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: App.size still holds the previous one here (App._on_resize,
        # which stores it, runs after this subclass handler).
        self._apply_size_classes(event.size)
        self._plots_dirty.update(PLOTS)

    def on_digit_gallery_capacity_changed(self, message: DigitGallery.CapacityChanged) -> None:
        self._show_digits()  # the new size, once laid out (a resize, or compact on / off)

    def _apply_size_classes(self, size: Size | None = None) -> None:
        compact, tiny = size_classes(*(size or self.size))
        self._main.set_class(compact, "-compact")
        self._main.set_class(tiny, "-tiny")
        try:
            self._main.query_one(DigitGallery).set_class(compact, "-compact")
            self._main.query_one(KeyFooter).compact = compact
        except Exception:  # not composed yet
            pass

    # ------------------------------------------------------------------ engine
    def start_engine(self) -> None:
        spec = replace(self.spec, hparams=self.hp, run_dir=str(self.run_dir),
                       resume=self.spec.resume if self.restarts == 0 else None)
        self.generation += 1
        try:
            if self.watch_dir is not None:
                from tui.watch import FolderEngine

                self.engine = FolderEngine(self.watch_dir)
            else:
                self.engine = (ThreadEngine if self.engine_kind == "thread" else ProcessEngine)(spec)
            self.engine.start()
        except (OSError, ValueError, RuntimeError) as exc:  # no process or thread could start
            self.engine = None
            self._on_EngineFailed(EngineFailed(f"could not start training: {exc}"))
            return
        self.set_state("loading")
        self.pump(self.engine, self.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine")
    def pump(self, engine: ProcessEngine | ThreadEngine, generation: int) -> None:
        """The one bridge: engine events become messages; no widget is touched here."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                ev = engine.get(timeout=0.1)
            except queue.Empty:
                if not engine.alive():
                    self.post_message(EngineEvent(
                        EngineFailed("the training process ended unexpectedly"), generation))
                    return
                continue
            except (EOFError, OSError, ValueError):  # queue closed while shutting down
                return
            if isinstance(ev, Saved):
                self._saved.set()  # for _after_signal, which cannot rely on the event loop
            self.post_message(EngineEvent(ev, generation))
            if isinstance(ev, EngineStopped):
                return

    def stop_engine(self) -> None:
        engine, self.engine = self.engine, None
        self.workers.cancel_group(self, "engine")
        if engine is not None:
            engine.close()

    # ------------------------------------------------------------------ events
    def on_engine_event(self, message: EngineEvent) -> None:
        if message.generation != self.generation or not self.screen_stack or not self.is_running:
            # From an engine replaced by a restart, or arriving while the app shuts down
            # (its widgets are being removed: a handler's query would fail).
            return
        ev = message.event
        handler = getattr(self, f"_on_{type(ev).__name__}", None)
        if handler is not None:
            with self.batch_update():
                handler(ev)
        for future in self._event_waiters.pop(type(ev), []):
            if not future.done():
                future.set_result(ev)

    def next_event(self, kind: type) -> asyncio.Future:
        """A future resolved with the next engine event of type ``kind`` once handled."""
        future = asyncio.get_running_loop().create_future()
        self._event_waiters.setdefault(kind, []).append(future)
        return future

    def _on_Loading(self, ev: Loading) -> None:
        self.set_state("loading")
        self.log_line(ev.text)

    def _on_DownloadProgress(self, ev: DownloadProgress) -> None:
        self.set_state("downloading")
        prog = self._main.query_one(TrainingProgress)
        prog.add_class("-downloading")
        mb = ev.done / 1e6
        total = f"{ev.total / 1e6:.1f} MB" if ev.total else "? MB"
        prog.row("download").set(f"Download {ev.file_index}/{ev.file_count}", ev.done,
                                 ev.total or None, f"{ev.filename} {mb:.1f}/{total}")

    def _on_ReadProgress(self, ev: ReadProgress) -> None:
        """watch: a long run's metrics being read; the bar goes once it is all in."""
        prog = self._main.query_one(TrainingProgress)
        prog.set_class(ev.done < ev.total, "-downloading")
        prog.row("download").set("Reading", ev.done, ev.total or None,
                                 f"{ev.name} {ev.done / 1e6:.1f}/{ev.total / 1e6:.1f} MB")

    def _on_DataReady(self, ev: DataReady) -> None:
        self._main.query_one(TrainingProgress).remove_class("-downloading")
        self.test_images = np.frombuffer(ev.test_images, np.uint8).reshape(-1, 784)
        self.test_labels = list(np.frombuffer(ev.test_labels, np.uint8).tolist())
        self.class_names = ev.classes
        self.n_train = ev.n_train
        self.refresh_bindings()  # n applies from now on
        self._main.query_one(StatusBar).dataset = ev.title
        if self.watch_dir is None:
            self.log_line(f"{ev.title}: {ev.n_train:,} training and {ev.n_test:,} test images from {ev.source}")
        else:
            self.log_line(f"{ev.title}: {ev.n_test:,} test images from {ev.source}")
        self._show_digits()

    def _on_RunStarted(self, ev: RunStarted) -> None:
        self.hp = Hyperparameters.from_dict(ev.hparams)
        self.n_train = ev.n_train
        status = self._main.query_one(StatusBar)
        status.network = f"{ev.architecture} · {ev.n_params:,} params"
        status.device = ev.device
        self._refresh_static()
        self.set_state("testing")

    def _on_EpochStarted(self, ev: EpochStarted) -> None:
        self.epoch = ev.epoch
        self.set_state("training" if self.state != "paused" else "paused")
        prog = self._main.query_one(TrainingProgress)
        prog.row("epoch").set(f"Epoch {ev.epoch}/{ev.epochs}", 0, ev.n_train)
        prog.row("run").set("Run", ev.epoch - 1, ev.epochs, f"{ev.epoch - 1}/{ev.epochs} epochs")

    def _on_Tick(self, ev: Tick) -> None:
        self._last_tick = ev
        for x, y in ev.points:
            self.train_x.append(x)
            self.train_y.append(y)
        for line in ev.lines:
            self.log_line(line)
        self._plots_dirty.add("loss")  # the accuracy plot changes only with a test
        self._show_tick(ev)

    def _show_tick(self, ev: Tick) -> None:
        prog = self._main.query_one(TrainingProgress)
        epoch_detail, run_detail = tick_details(ev, self.hp.epochs, show_eta=self.show_eta,
                                                paused=self.state == "paused")
        prog.row("epoch").set(f"Epoch {ev.epoch}/{self.hp.epochs}", ev.epoch_samples, ev.n_train,
                              epoch_detail)
        prog.row("run").set("Run", (ev.epoch - 1) + ev.epoch_samples / max(ev.n_train, 1),
                            self.hp.epochs, run_detail)

    def _on_EvalProgress(self, ev: EvalProgress) -> None:
        if self.state != "paused":
            self.set_state("testing")

    def _on_TestEnd(self, ev: TestEnd) -> None:
        from core.events import format_test

        self.test_x.append(ev.seen)
        self.test_loss.append(ev.avg_loss)
        self.test_acc.append(ev.accuracy)
        self.test_epochs.append(ev.epoch)
        self.predictions, self.confidences = ev.predictions, ev.confidences
        first_test, self.last_test = self.last_test is None, ev
        if first_test:
            self.refresh_bindings()  # c, h and m apply from now on
            if not self.is_headless and not self._frozen:
                # Everything the dashboard keeps for its lifetime exists now: move it out
                # of the cyclic GC's way. A full collection then scans only what came
                # after: measured 55 ms full-collection pauses (a key press waits) -> 13 ms.
                import gc

                gc.collect()
                gc.freeze()
                self._frozen = True
        for screen in self.screen_stack[1:]:  # open analysis views follow each test
            if hasattr(screen, "show_test"):
                screen.show_test(ev)
        self.log_line(format_test(ev))
        self._plots_dirty.update(PLOTS)  # drawn by the timer, a frame apart from the digits
        self._show_digits()
        if self.state != "paused":
            self.set_state("training")

    def _on_EpochEnd(self, ev: EpochEnd) -> None:
        prog = self._main.query_one(TrainingProgress)
        prog.row("epoch").set(f"Epoch {ev.epoch}/{self.hp.epochs}", self.n_train, self.n_train,
                              f"{self.n_train:,}/{self.n_train:,}")
        prog.row("run").set("Run", ev.epoch, self.hp.epochs, f"{ev.epoch}/{self.hp.epochs} epochs")

    def _on_HparamsChanged(self, ev: HparamsChanged) -> None:
        word = cfg.EFFECT_WORDS[ev.effect]
        desc = ", ".join(f"{k} {show_value(o)} → {show_value(n)}" for k, (o, n) in ev.changes.items())
        if ev.applied:
            self.hp = replace(self.hp, **{k: n for k, (_, n) in ev.changes.items()})
            for k in ev.changes:
                self.pending.pop(k, None)
            self.marks.append(Mark(ev.seen, mark_label(ev.changes)))
            self._plots_dirty.update(PLOTS)
            self.log_line(f"Applied at step {ev.step:,} (epoch {ev.epoch}): {desc}")
        else:
            for k, (_, n) in ev.changes.items():
                if n == getattr(self.hp, k):
                    self.pending.pop(k, None)
                else:
                    self.pending[k] = n
            self.log_line(f"Waiting ({word}): {desc}")
        self._refresh_static()

    def _on_EditResult(self, ev: EditResult) -> None:
        if not ev.ok:
            reasons = "; ".join(f"{k}: {v}" for k, v in ev.problems.items())
            self.notify(f"Edit refused: {reasons}", severity="error")
            self.log_line(f"Edit refused: {reasons}")

    def _on_NonFiniteLoss(self, ev: NonFiniteLoss) -> None:
        self.error = (f"The loss became {ev.loss} at epoch {ev.epoch}, step {ev.step}: training "
                      f"stopped before applying it. Lower the learning rate (e) and restart (r).")
        self.log_line(self.error)
        self.notify(self.error, severity="error", timeout=10)

    def _on_RunFinished(self, ev: RunFinished) -> None:
        from core.events import format_max_accuracy

        self._redraw_plots_if_dirty(everything=True)  # the final picture, complete at once
        self.log_line(f"Total epochs: {ev.epochs_done}")
        if ev.best_epoch >= 0:
            self.log_line(format_max_accuracy(ev.best_accuracy))
        self.set_state(ev.status)
        prog = self._main.query_one(TrainingProgress)
        prog.row("run").set("Run", ev.epochs_done, self.hp.epochs,
                            f"{ev.epochs_done}/{self.hp.epochs} epochs · {ev.status}")

    def _on_Backfill(self, ev: Backfill) -> None:
        for x, y in ev.train_points:
            self.train_x.append(x)
            self.train_y.append(y)
        for epoch, seen, loss, acc in ev.tests:
            self.test_epochs.append(epoch)
            self.test_x.append(seen)
            self.test_loss.append(loss)
            self.test_acc.append(acc)
        self.marks.extend(m if isinstance(m, Mark) else Mark(int(m), "edit") for m in ev.marks)
        self.log_line(ev.text)
        self._plots_dirty.update(PLOTS)

    def _on_WatchReset(self, ev: Any) -> None:
        self._reset_data()
        self._plots_dirty.update(PLOTS)
        self._redraw_plots_if_dirty(everything=True)

    def _on_PauseChanged(self, ev: PauseChanged) -> None:
        self.start_paused = False
        self.set_state("paused" if ev.paused else "training")
        self.log_line(f"{'Paused' if ev.paused else 'Resumed'} at step {ev.step:,}")
        if self._last_tick is not None:  # "paused" instead of a rate and an ETA, or back
            self._show_tick(self._last_tick)
        if ev.paused:
            self._redraw_plots_if_dirty(everything=True)

    def _on_Notice(self, ev: Notice) -> None:
        """Something that does not end the run (a failed write: the engine has paused)."""
        self.log_line(ev.message)
        self.notify(ev.message, severity=ev.severity, timeout=15)

    def _on_Saved(self, ev: Saved) -> None:
        self.saved_paths.append(ev.path)
        self.log_line(f"Checkpoint saved: {ev.path}")
        self.notify(f"Checkpoint saved: {ev.path}")

    def _on_EngineFailed(self, ev: EngineFailed) -> None:
        self.error = ev.message
        if ev.searched:  # the data is missing: the panel says where it looked and what to do
            self.alternatives = tuple(ev.alternatives)
            self._main.query_one(NoDataPanel).show(ev.message, ev.searched, self.spec.dataset,
                                                    self.spec.data_dir, self.alternatives)
            self._main.add_class("-nodata")
            self.refresh_bindings()
        self.log_line(f"Error: {ev.message}")
        if ev.detail_file:
            self.log_line(f"(details in {ev.detail_file})")
        self.notify(ev.message, severity="error", timeout=15)
        if self.state not in ENDED:
            self.set_state("error")

    def _on_EngineStopped(self, ev: EngineStopped) -> None:
        if self.state in ACTIVE or self.state in ("loading", "downloading", "starting"):
            self.set_state("error" if self.error else "stopped")

    # ------------------------------------------------------------------ drawing
    def set_state(self, state: str) -> None:
        changed = state != self.state
        self.state = state
        self._main.query_one(StatusBar).state = state
        if changed:  # the footer rebuilds only if the keys that apply changed (KeyFooter)
            self.refresh_bindings()
        self._state_event(state).set()
        for other, event in self._state_events.items():
            if other != state:
                event.clear()

    def _state_event(self, state: str) -> asyncio.Event:
        if state not in self._state_events:
            self._state_events[state] = asyncio.Event()
        return self._state_events[state]

    async def wait_for_state(self, *states: str) -> str:
        """Wait (on an event, no polling) until the app is in one of ``states``."""
        waiters = [asyncio.ensure_future(self._state_event(s).wait()) for s in states]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        return self.state

    def log_line(self, text: str) -> None:
        self.log_lines.append(text)
        self._main.query_one("#log", RichLog).write(text)

    def _refresh_static(self) -> None:
        hp = self.hp
        opt = (f"SGD lr {hp.lr:g} momentum {hp.momentum:g}" if hp.optimizer == "sgd"
               else f"Adam lr {hp.lr:g} beta1 {hp.momentum:g}")
        self._main.query_one(StatusBar).optimizer = f"{opt} · batch {hp.batch_size}"
        self._main.query_one(HparamsPane).show(hp, self.pending)

    def _redraw_plots_if_dirty(self, everything: bool = False) -> None:
        """Redraw one dirty plot per call (the timer's), or all of them.

        A plot costs ~7-15 ms to draw and a test dirties both plots and the digits at
        once: one per frame keeps the longest stretch a key press can wait behind short.
        """
        if not self._plots_dirty or not self.is_running or self._main.has_class("-tiny"):
            return  # (not running: the app is shutting down, its widgets going)
        turn = [name for name in self._plot_turns if name in self._plots_dirty]
        for name in turn if everything else turn[:1]:
            self._plots_dirty.discard(name)
            self._plot_turns.remove(name)
            self._plot_turns.append(name)  # the other one goes first next time
            if name == "loss":
                self._main.query_one(LossPlot).replot(self.train_x, self.train_y, self.test_x,
                                                      self.test_loss, self.marks)
            else:
                best = max(zip(self.test_acc, self.test_epochs), default=(0.0, -1),
                           key=lambda t: (t[0], -t[1]))
                self._main.query_one(AccuracyPlot).replot(self.test_x, self.test_acc, best)

    def _digit_pool(self) -> list[int] | range:
        """The test examples the gallery pages through (misclassified only, when asked)."""
        if self.only_wrong and self.predictions:
            return [i for i, (p, y) in enumerate(zip(self.predictions, self.test_labels)) if p != y]
        return range(len(self.test_labels))

    def digit_indices(self) -> list[int]:
        """The test examples on the current page."""
        if self.test_images is None:
            return []
        pool = self._digit_pool()
        per = self._main.query_one(DigitGallery).capacity()
        self.page, _ = page_of(len(pool), per, self.page)
        return list(pool[self.page * per:(self.page + 1) * per])

    def _show_digits(self) -> None:
        if self.test_images is None:
            return
        gallery = self._main.query_one(DigitGallery)
        indices = self.digit_indices()
        message = "no misclassified digits" if self.only_wrong and not indices else ""
        gallery.show(self.test_images, self.test_labels, self.class_names, indices,
                     self.predictions or None, self.confidences or None,
                     ascii=self.ascii, message=message)
        pool = self._digit_pool()
        page, pages = page_of(len(pool), gallery.capacity(), self.page)
        gallery.border_title = gallery_title(page, pages, len(pool), len(self.test_labels),
                                             self.only_wrong, bool(self.predictions))

    # ------------------------------------------------------------------ keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ONLY and len(self.screen_stack) > 1:
            return False  # the analysis views have their own keys; these act on the dashboard
        if self.watch_dir is not None and action in ("toggle_pause", "edit", "restart", "save"):
            return False  # watching: the run belongs to another process
        running = self.engine is not None and self.state in ACTIVE
        loading = self.engine is not None and self.state in LOADING
        if action == "toggle_pause":  # while loading: training will start paused
            return (running and self.state != "paused") or (loading and not self.start_paused)
        if action == "resume":
            return (running and self.state == "paused") or (loading and self.start_paused)
        if action == "save":
            return running or (self.engine is not None and self.state in ("finished", "stopped"))
        if action == "next_digits":  # while loading: the page turns once the digits come
            return self.test_images is not None or loading
        if action == "misclassified":
            return bool(self.predictions) or loading or (self.state == "testing" and not self.test_acc)
        if action in ("confusion", "hardest"):
            return self.last_test is not None and self.test_images is not None
        if action == "edit":
            return self.state not in ("starting",)
        if action == "other_dataset":
            return bool(self.alternatives) and self.watch_dir is None
        if action == "draw":  # asks the live network: not while watching, not on another view
            return (self.watch_dir is None and self.engine is not None
                    and self.test_images is not None and len(self.screen_stack) == 1)
        return True

    def action_toggle_pause(self) -> None:
        if self.engine is None:
            return
        if self.state in LOADING:
            # The engine reads its commands once the run has started: it pauses there,
            # before the first step.
            self.start_paused = not self.start_paused
            self.engine.send(Pause() if self.start_paused else Resume())
            self.log_line("Training will start paused (space: resume)" if self.start_paused
                          else "Training will start at once")
            self.refresh_bindings()
        elif self.state == "paused":
            self.engine.send(Resume())
        else:
            self.engine.send(Pause())

    def action_resume(self) -> None:
        self.action_toggle_pause()

    def action_edit(self) -> None:
        restart_only = self.state in ENDED or self.engine is None
        current = replace(self.hp, **self.pending)
        min_epochs = max(self.epoch, 1) if not restart_only else 1

        def done(changes: dict[str, Any] | None) -> None:
            if not changes:
                return
            if restart_only:
                for k, v in changes.items():
                    if v == getattr(self.hp, k):
                        self.pending.pop(k, None)
                    else:
                        self.pending[k] = v
                self.log_line("Waiting (on restart): " + ", ".join(
                    f"{k} → {show_value(v)}" for k, v in changes.items()))
                self._refresh_static()
            elif self.engine is not None:
                self.engine.send(Edit(changes))

        form = self._edit_form()
        form.load(current, min_epochs=min_epochs, restart_only=restart_only)
        self.push_screen(form, done)

    def _edit_form(self) -> EditScreen:
        """The one form, filled in afresh for each opening (see EditScreen)."""
        if not self.is_screen_installed("edit"):
            self.install_screen(EditScreen(replace(self.hp, **self.pending)), "edit")
        return self.get_screen("edit")

    def _compose_edit_form(self) -> None:
        """Build the form off-screen while the data loads, so that the first e shows it
        as fast as the others (composing it: 240-450 ms here, the user's first press).
        App._get_screen is how push_screen starts a screen; without it, the first
        opening composes, as before."""
        if not self.is_running:
            return
        try:
            self._get_screen(self._edit_form())
        except AttributeError:  # another Textual
            pass

    def action_restart(self) -> None:
        if self.state in ACTIVE:  # as q does: a run in progress is not thrown away unasked
            def done(yes: bool | None) -> None:
                if yes:
                    self.restart()
            self.push_screen(ConfirmScreen("A run is in progress. Restart and start it over? "
                                           "(This run's folder and checkpoint stay as they are.)"),
                             done)
        else:
            self.restart()

    def action_other_dataset(self) -> None:
        """The data is missing; train on a dataset whose files are here instead."""
        if not self.alternatives:
            return
        self.spec = replace(self.spec, dataset=self.alternatives[0], data_dir=None)
        self.restart()

    def restart(self) -> None:
        self.start_paused = False
        self.alternatives = ()
        self._main.remove_class("-nodata")
        self.hp = replace(self.hp, **self.pending)
        self.pending = {}
        self.restarts += 1
        self.run_dir = Path(f"{self._base_run_dir}-restart{self.restarts}")
        while self.run_dir.exists():  # left by an earlier session: never written over
            self.restarts += 1
            self.run_dir = Path(f"{self._base_run_dir}-restart{self.restarts}")
        self.log_line(f"Restarting: {self.hp.architecture()}, seed {self.hp.seed}")
        self.stop_engine()
        self._reset_data()
        self.page = 0
        self.error = ""
        self._plots_dirty.update(PLOTS)
        self._redraw_plots_if_dirty(everything=True)
        self._refresh_static()
        self.start_engine()

    def action_next_digits(self) -> None:
        self.page += 1
        self._show_digits()

    def action_misclassified(self) -> None:
        self.only_wrong = not self.only_wrong
        self.page = 0
        self._show_digits()

    def action_confusion(self) -> None:
        from tui.screens.confusion import ConfusionScreen

        self.push_screen(ConfusionScreen())

    def action_hardest(self) -> None:
        from tui.screens.hardest import HardestScreen

        self.push_screen(HardestScreen())

    def action_zoom(self) -> None:
        """The recent tests on axes that fit them, or the whole run."""
        loss, acc = self._main.query_one(LossPlot), self._main.query_one(AccuracyPlot)
        loss.whole = acc.whole = not loss.whole
        self._replot_now()

    def action_smooth(self) -> None:
        """The train loss smoothed as TensorBoard does, at the next of its weights."""
        plot = self._main.query_one(LossPlot)
        plot.smoothing = SMOOTHING[(SMOOTHING.index(plot.smoothing) + 1) % len(SMOOTHING)] \
            if plot.smoothing in SMOOTHING else 0.0
        self._replot_now("loss")

    def action_log_scale(self) -> None:
        plot = self._main.query_one(LossPlot)
        plot.log = not plot.log
        self._replot_now("loss")

    def _replot_now(self, *names: str) -> None:
        self._plots_dirty.update(names or PLOTS)
        self._redraw_plots_if_dirty(everything=True)  # a key press: its answer at once

    # ------------------------------------------- inside the network (tui/screens/inside.py)
    def action_inside(self) -> None:
        from tui.screens.inside import InsideScreen

        indices = self.digit_indices()
        self.push_screen(InsideScreen(ascii=self.ascii, stats=self.layer_stats,
                                      architecture=self.hp.architecture(),
                                      digit=indices[0] if indices else 0,
                                      watching=self.watch_dir is not None))

    def _on_LayerStats(self, ev: Any) -> None:
        self.layer_stats = [*self.layer_stats[-399:], ev]
        for screen in self.screen_stack[1:]:
            if hasattr(screen, "show_stats"):
                screen.show_stats(ev)
                if ev.after_test:  # the traced digit follows training too
                    self._want_digit(screen.digit)

    def _on_FirstWeights(self, ev: Any) -> None:
        """Paused: the tiles of "Inside the network" show the weights as they are now."""
        weights = np.frombuffer(ev.weights, dtype=np.float32).reshape(ev.shape)
        for screen in self.screen_stack[1:]:
            if hasattr(screen, "show_weights"):
                screen.show_weights(weights, f"paused at epoch {ev.epoch + 1}, step {ev.step:,}")

    def _on_DigitTrace(self, ev: Any) -> None:
        image = self.test_images[ev.index] if self.test_images is not None else None
        for screen in self.screen_stack[1:]:
            if hasattr(screen, "show_digit"):
                screen.show_digit(ev, image, self.class_names)

    def on_inside_screen_digit_wanted(self, message) -> None:
        self._want_digit(message.index)

    def _want_digit(self, index: int) -> None:
        if self.engine is not None and self.test_labels:
            self.engine.send(Trace(index % len(self.test_labels)))

    # ------------------------------------------- draw a digit (tui/screens/draw.py)
    _draw_predictor: Any = None  # the open DrawScreen's link to the training process

    def action_draw(self) -> None:
        from tui.screens.draw import DrawScreen, EnginePredictor

        def send(request_id: int, image: bytes) -> bool:
            if self.engine is None:
                return False
            self.engine.send(PredictImage(request_id, image))
            return True

        self._draw_predictor = EnginePredictor(send)
        self.push_screen(DrawScreen(self._draw_predictor, classes=self.class_names,
                                    run_dir=self.run_dir, ascii=self.ascii))

    def _on_ImagePredicted(self, ev: Any) -> None:  # the live network's answer to a drawing
        if self._draw_predictor is not None:
            self._draw_predictor.deliver(ev)

    def action_save(self) -> None:
        if self.engine is not None:
            self.engine.send(Save())

    def action_help(self) -> None:
        # One instance, composed once and kept: opening it is then a restyle and a paint
        # (measured while training: ~30 ms for a new screen each time -> see bench/).
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), "help")
        self.push_screen("help")

    def action_quit_app(self) -> None:
        if self.state in ACTIVE and self.watch_dir is None:
            def done(yes: bool | None) -> None:
                if yes:
                    self._save_then(self.shutdown)  # nothing lost: --resume continues it
            self.push_screen(ConfirmScreen("A run is in progress. Quit and stop training? "
                                           "(A checkpoint is saved; --resume continues it.)"), done)
        else:
            self.shutdown()

    def receipt(self) -> str:
        """What the terminal shows after the dashboard closes: the run folder, how far
        it got, its best test, and the commands that continue or follow it."""
        folder = Path(self.watch_dir) if self.watch_dir is not None else self.run_dir
        return receipt_text(folder, self.test_epochs, self.test_acc, self.hp.epochs,
                            self.error, watching=self.watch_dir is not None)

    def shutdown(self) -> None:
        self.stop_engine()
        self.exit()

    def _on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        """SIGTERM or SIGHUP (a dropped SSH session): save a checkpoint, then quit."""
        if self.exit_signal:
            return
        self.exit_signal = 128 + signum
        threading.Thread(target=self._after_signal, args=(signal.Signals(signum),),
                         name="mnist-tui-signal", daemon=True).start()

    def _after_signal(self, sig: signal.Signals) -> None:
        """In a thread of its own (the event loop may be blocked on a dead terminal):
        ask the engine for a checkpoint and wait for it (the pump thread sees it), then
        exit: normally, or for good after a few seconds."""
        engine = self.engine
        if engine is not None and self.watch_dir is None and self.state in ACTIVE:
            self._saved.clear()
            engine.send(Save())
            self._saved.wait(SIGNAL_EXIT_SECONDS)
        # shutdown closes the engine; if the loop is stuck, the engine ends by itself
        # once this process is gone (it watches its parent).
        self._loop_call(self.shutdown)
        if not self.is_headless:  # under Pilot the process is the test runner's
            time.sleep(3.0)  # a normal exit (terminal restored) comes well before
            os._exit(self.exit_signal)

    def _save_then(self, then) -> None:
        """Ask the engine for a checkpoint; call ``then`` once it is written (or after a
        while: the checkpoint of the last test is still there)."""
        if self.engine is None or self.state not in ACTIVE:
            then()
            return
        saved = self.next_event(Saved)
        self.engine.send(Save())

        async def finish() -> None:
            try:
                await asyncio.wait_for(saved, SIGNAL_EXIT_SECONDS / 2)
            except asyncio.TimeoutError:
                pass
            then()

        self.run_worker(finish(), group="save-then")

    def _loop_call(self, callback) -> None:
        """Run ``callback`` on the event loop from another thread, without waiting."""
        loop = self._event_loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback)

    def on_unmount(self) -> None:
        for sig, previous in getattr(self, "_signals", {}).items():
            signal.signal(sig, previous)
        self.stop_engine()


def size_classes(width: int, height: int) -> tuple[bool, bool]:
    """(compact, tiny) for a terminal of this size (see app.tcss)."""
    return width < 100 or height < 34, width < 60 or height < 20


def receipt_text(folder: Path, test_epochs: list[int], test_acc: list[float], epochs: int,
                 error: str = "", *, watching: bool = False) -> str:
    """The receipt (see MnistTuiApp.receipt); only what exists: no resume command
    without a checkpoint, the error alone when no run folder was written."""
    import shlex

    lines = [f"mnist-tui: error: {error}"] if error else []
    if not (folder / "config.json").exists():
        return "\n".join(lines)
    done = max(test_epochs, default=0)
    lines.append(f"run folder: {folder}")
    summary = f"{done}/{epochs} epochs" if not watching else f"{done} epochs"
    if test_acc:
        best, best_epoch = max(zip(test_acc, test_epochs), key=lambda t: (t[0], -t[1]))
        summary += f" · best accuracy {best:.2f}% (epoch {best_epoch})"
    lines.append(summary)
    path = shlex.quote(str(folder))
    if not watching and (folder / "checkpoint-last.pt").exists():
        lines.append(f"continue it: mnist-tui --resume {path}")
    lines.append(f"watch it:    mnist-tui watch {path}")
    return "\n".join(lines)


def print_receipt(app: MnistTuiApp) -> None:
    """Print the receipt on the normal terminal; after a hang-up there may be none
    (writing then must not turn the exit into a traceback)."""
    try:
        text = app.receipt()
        if text:
            print(text, flush=True)
    except (OSError, ValueError):  # a closed or gone terminal
        pass


def mark_label(changes: dict[str, tuple[Any, Any]]) -> str:
    """What an applied edit changed, for its mark on the loss plot: "lr 0.05"."""
    return ", ".join(f"{k} {show_value(new)}" for k, (_, new) in changes.items())


def page_of(pool: int, per: int, page: int) -> tuple[int, int]:
    """(page, pages): the page wrapped into range, and how many there are (at least 1)."""
    pages = max(1, -(-pool // max(per, 1)))
    return page % pages, pages


def gallery_title(page: int, pages: int, shown: int, total: int, only_wrong: bool,
                  tested: bool) -> str:
    """The gallery's border title: what it shows, which page, and the keys that change it."""
    if only_wrong and tested:
        what = f"misclassified test digits: {shown:,} of {total:,}"
    elif only_wrong:
        what = "test digits (misclassified ones after the first test)"
    else:
        what = f"test digits: {total:,}"
    return f"{what} · page {page + 1}/{pages} · n next · m {'all' if only_wrong else 'misclassified'}"


def tick_details(ev: Tick, epochs: int, *, show_eta: bool, paused: bool) -> tuple[str, str]:
    """The detail texts of the epoch and run progress rows at this tick: counts, then
    the rate and the ETAs, or "paused" while paused (a rate would be a stale one)."""
    epoch_left = ev.n_train - ev.epoch_samples
    run_left = epoch_left + max(epochs - ev.epoch, 0) * ev.n_train
    rate = ev.samples_per_sec
    speed = eta = ""
    if paused:
        speed = eta = " · paused"
    elif show_eta and rate > 0:  # no clock in the frame when asked (snapshots)
        speed = f" · {rate:,.0f} samples/s · ETA {_duration(epoch_left / rate)}"
        eta = f" · ETA {_duration(run_left / rate)}"
    return (f"{ev.epoch_samples:,}/{ev.n_train:,}{speed}",
            f"{ev.epoch - 1}/{epochs} epochs · step {ev.step:,}{eta}")


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def make_app(spec: RunSpec | None = None, *, data_dir: str | None = None, engine: str = "process",
             show_eta: bool = True, ascii: bool = False, **hparams: Any) -> MnistTuiApp:
    """Build the app; tests pass small data, a fixed seed and ``engine="thread"``."""
    if spec is None:
        spec = RunSpec(hparams=Hyperparameters(**hparams).validate(), data_dir=data_dir)
    return MnistTuiApp(spec, engine=engine, show_eta=show_eta, ascii=ascii)
