"""The dashboard's widgets, and the run's events shown in them.

Each kind of engine event arrives as its own message (``tui.dashboard.messages``) and is handled
here by an ``@engine_handler``: the app's state follows it first (pure functions,
``tui.dashboard.viewmodel.state_after`` and ``error_after``, in ``app.take_in``: the
handlers here change no app state), its data goes into the model
(``tui.dashboard.viewmodel``), and the widgets draw from the model. ``DashboardScreen``
(tui/dashboard/screen.py) adds the keys.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.widgets import RichLog

import tui.dashboard.messages as msg
from core import events as run_events
from tui.engine import protocol
from core.config import show_value
from core.events import format_max_accuracy, format_test
from tui.dashboard.messages import engine_handler
from tui.screens.common import RunSignals, size_classes
from tui.dashboard.states import AppState
from tui.dashboard.viewmodel import LOG_LINES, DashboardModel, Mark, mark_label
from tui.widgets.footer import KeyFooter
from tui.widgets.gallery import DigitGallery
from tui.widgets.hparams import HparamsPane
from tui.widgets.logpane import LogPane
from tui.widgets.nodata import NoDataPanel
from tui.widgets.plotsrow import PlotsRow
from tui.widgets.progress import TrainingProgress
from tui.widgets.soon import Soon
from tui.widgets.status import StatusBar


def dataset_title(name: str) -> str:
    """``fashion-mnist`` -> ``Fashion-MNIST``; an unknown name as it is (the engine says why)."""
    from core.datafiles import get_spec
    from core.errors import DatasetError

    try:
        return get_spec(name).title
    except DatasetError:
        return name


def optimizer_text(hp: Any) -> str:
    """The header's ``SGD lr 0.2 momentum 0.9 · batch 50`` (values exact: show_value)."""
    lr, momentum = show_value(hp.lr), show_value(hp.momentum)
    opt = {"sgd": f"SGD lr {lr} momentum {momentum}", "adam": f"Adam lr {lr} beta1 {momentum}",
           "adadelta": f"Adadelta lr {lr}"}.get(hp.optimizer, f"{hp.optimizer} lr {lr}")
    if hp.lr_step_gamma != 1:
        opt += f" ×{show_value(hp.lr_step_gamma)}/ep"  # the schedule (StepLR)
    return f"{opt} · batch {hp.batch_size}"


def optimizer_texts(hp: Any) -> tuple[str, str]:
    """The header's optimizer, and its short form for narrow terminals (``lr 0.2 · batch 50``)."""
    return optimizer_text(hp), f"lr {show_value(hp.lr)} · batch {hp.batch_size}"


DIGITS_SECONDS = 0.5  # a test's captions on the cards at most this often


class RunView(Screen):
    """The layout, what draws it, and a handler per kind of event of the run."""

    class Ready(Message):
        """The dashboard is composed and mounted: the app starts the run."""

    def __init__(self, model: DashboardModel) -> None:
        super().__init__()
        self.model = model
        self.alternatives: tuple[str, ...] = ()  # other datasets found here, when data is missing
        self._last_tick: Any = None
        # A test's predictions on the cards, at most every DIGITS_SECONDS: on the 8k/2k
        # split a test comes every 0.13 s, and new captions on every card each time cost
        # the UI a quarter of its CPU while training, for changes no one could read.
        self.digits_soon = Soon(self, DIGITS_SECONDS, self.show_digits)
        self._draw_predictor: Any = None  # the open DrawScreen's link to the training process
        self.plots = PlotsRow(model, id="plots")  # kept: the timer can outlive the layout
        self.run_signals = RunSignals(self, lambda: self.model.layer_stats)  # the views above follow
        self.hparams_known = True  # (False in watch until the run says: no defaults shown)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield TrainingProgress(id="progress")
        yield self.plots
        with Horizontal(id="middle"):
            yield DigitGallery(id="gallery")
            yield HparamsPane(id="hparams")
        yield NoDataPanel(id="nodata")
        yield LogPane(id="log", max_lines=LOG_LINES, wrap=True, markup=False, auto_scroll=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.apply_size_classes(self.app.size)
        self.query_one("#log", RichLog).border_title = "log"
        self.hparams_known = self.app.watch_dir is None  # watch: until the run's start row
        self.refresh_static()
        if self.app.watch_dir is not None:
            self.query_one(StatusBar).mode = f"watching {self.app.watch_dir} (read-only)"
            self.query_one(HparamsPane).border_title = "hyperparameters"
        self.post_message(self.Ready())  # bubbles up to the app

    def on_resize(self, event: events.Resize) -> None:
        self.apply_size_classes(event.size)
        self.plots.mark()

    def on_digit_gallery_capacity_changed(self, message: DigitGallery.CapacityChanged) -> None:
        self.show_digits()  # the new size, once laid out (a resize, or compact on / off)

    def apply_size_classes(self, size: Size) -> None:
        compact, tiny = size_classes(*size)
        changed = compact != self.has_class("-compact")
        self.set_class(compact, "-compact")
        self.set_class(tiny, "-tiny")
        self.query_one(KeyFooter).compact = compact
        if changed:
            self.refresh_bindings()  # v (plots / digits) is a key of the compact layout only

    # ------------------------------------------------------------------ drawing
    def log_line(self, text: str, *, soon: bool = False) -> None:
        """A line in the log; ``soon``: one of training's many (written a few at a time,
        ``LogPane.write_soon``)."""
        self.app.log_lines.append(text)
        log = self.query_one("#log", LogPane)
        if soon:
            log.write_soon(text)
        else:
            log.write(text)

    def refresh_static(self) -> None:
        """The header's optimizer and the pane: none in watch before the run's start row."""
        hp, known = self.model.hp, self.hparams_known
        status = self.query_one(StatusBar)
        status.optimizer, status.short_optimizer = optimizer_texts(hp) if known else ("", "")
        self.query_one(HparamsPane).show(hp, self.model.pending, ended=self.app.state.ended,
                                         waiting=None if known else f"waiting for {self.app.watch_dir}")

    def show_state(self, state: AppState) -> None:
        self.query_one(StatusBar).state = state
        if state.ended:  # waiting edits now wait for a restart: the pane says so
            self.refresh_static()

    def digit_indices(self) -> list[int]:
        """The test examples on the gallery's current page."""
        return self.model.page_indices(self.query_one(DigitGallery).capacity())

    def show_digits(self) -> None:
        self.digits_soon.drawn()
        m = self.model
        if m.test_images is None:
            return
        gallery = self.query_one(DigitGallery)
        indices = self.digit_indices()
        message = ("no misclassified digits" if m.only_wrong else "no digits of this class") \
            if not indices else ""
        gallery.show(m.test_images, m.test_labels, m.class_names, indices,
                     m.predictions or None, m.confidences or None,
                     ascii=self.app.ascii, message=message)
        gallery.border_title = m.gallery_title(gallery.capacity(), gallery.size.width)

    def show_tick(self, ev: Any) -> None:
        epochs = self.model.hp.epochs
        epoch_detail, run_detail = self.model.tick_details(
            ev, show_eta=self.app.show_eta, paused=self.app.state == AppState.PAUSED)
        prog = self.query_one(TrainingProgress)
        prog.row("epoch").set(f"Epoch {ev.epoch}/{epochs}", ev.epoch_samples, ev.n_train, epoch_detail)
        prog.row("run").set("Run", (ev.epoch - 1) + ev.epoch_samples / max(ev.n_train, 1),
                            epochs, run_detail)

    def reset(self) -> None:
        """A restart: the new run's picture starts empty."""
        self.alternatives = ()
        self._last_tick = None
        self.remove_class("-nodata")
        prog = self.query_one(TrainingProgress)
        prog.row("epoch").set("Epoch", 0, None)  # not the last run's 100% ... finished
        prog.row("run").set("Run", 0, None)
        self.plots.now()
        status = self.query_one(StatusBar)  # the new run's network and data, at once
        status.network = self.model.hp.architecture()
        status.dataset = dataset_title(self.app.spec.dataset)
        self.refresh_static()

    # ------------------------------------------------------------------ events
    @engine_handler(msg.Loading)
    def on_loading(self, ev: protocol.Loading) -> None:
        self.log_line(ev.text)

    @engine_handler(msg.DownloadProgress)
    def on_download(self, ev: run_events.DownloadProgress) -> None:
        """The dataset downloading: its bar, and a log line per file and mirror tried."""
        if self.query_one(TrainingProgress).show_download(ev):
            self.log_line(f"Downloading {ev.filename} ({ev.file_index}/{ev.file_count}) from {ev.url}")

    @engine_handler(msg.ReadProgress)
    def on_read_progress(self, ev: protocol.ReadProgress) -> None:
        """watch: a long run's metrics being read; the bar goes once it is all in."""
        prog = self.query_one(TrainingProgress)
        prog.set_class(ev.done < ev.total, "-downloading")
        prog.row("download").set("Reading", ev.done, ev.total or None,
                                 f"{ev.name} {ev.done / 1e6:.1f}/{ev.total / 1e6:.1f} MB")

    @engine_handler(msg.DataReady)
    def on_data_ready(self, ev: protocol.DataReady) -> None:
        self.query_one(TrainingProgress).remove_class("-downloading")
        self.model.data_ready(ev.test_images, ev.test_labels, ev.classes, ev.n_train)
        self.query_one(DigitGallery).classes_shown = ev.classes  # (the cards' width)
        self.app.refresh_bindings()  # n applies from now on
        self.query_one(StatusBar).dataset = ev.title
        if self.app.watch_dir is None:
            self.log_line(f"{ev.title}: {ev.n_train:,} training and {ev.n_test:,} test images from {ev.source}")
        else:
            self.log_line(f"{ev.title}: {ev.n_test:,} test images from {ev.source}")
        self.show_digits()

    @engine_handler(msg.RunStarted)
    def on_run_started(self, ev: run_events.RunStarted) -> None:
        from core.config import Hyperparameters
        from core.edits import EditState

        self.model.edits = EditState(Hyperparameters.from_dict(ev.hparams), self.model.edits.pending)
        self.model.n_train = ev.n_train
        self.hparams_known = True
        status = self.query_one(StatusBar)
        status.network = f"{ev.architecture} · {ev.n_params:,} params"
        status.device = ev.device
        self.refresh_static()

    @engine_handler(msg.EpochStarted)
    def on_epoch_started(self, ev: run_events.EpochStarted) -> None:
        self.model.epochs_done, self.model.in_epoch = ev.epoch - 1, True
        prog = self.query_one(TrainingProgress)
        prog.row("epoch").set(f"Epoch {ev.epoch}/{ev.epochs}", 0, ev.n_train)
        prog.row("run").set("Run", ev.epoch - 1, ev.epochs, f"{ev.epoch - 1}/{ev.epochs} epochs")
        if not self.model.drawn_start:  # the training process waits for this (bridge.START_WAIT)
            self.model.drawn_start = True
            self.call_after_refresh(self.app.send, protocol.Drawn())

    @engine_handler(msg.Tick)
    def on_tick(self, ev: protocol.Tick) -> None:
        self._last_tick = ev
        self.model.train.extend(ev.points)
        for line in ev.lines:
            self.log_line(line, soon=True)
        self.plots.mark("loss")  # the accuracy plot changes only with a test
        self.show_tick(ev)

    @engine_handler(msg.EvalProgress)
    def on_eval_progress(self, ev: run_events.EvalProgress) -> None:
        """(The state says testing: tui.dashboard.viewmodel.state_after.)"""

    @engine_handler(msg.TestEnd)
    def on_test_end(self, ev: run_events.TestEnd) -> None:
        if self.model.test_ended(ev):
            self.app.refresh_bindings()  # c, h and m apply from now on
            self.app.freeze_heap()
        self.run_signals.test.publish(ev)  # the open analysis views follow each test
        self.log_line(format_test(ev), soon=True)
        self.plots.mark()  # drawn by the timer, a frame apart from the digits
        self.digits_soon.ask()

    @engine_handler(msg.EpochEnd)
    def on_epoch_end(self, ev: run_events.EpochEnd) -> None:
        rate = self._last_tick.samples_per_sec if self._last_tick is not None else 0.0
        epoch_detail, run_detail = self.model.epoch_ended(ev.epoch, rate, show_eta=self.app.show_eta)
        epochs, n = self.model.hp.epochs, self.model.n_train
        prog = self.query_one(TrainingProgress)
        prog.row("epoch").set(f"Epoch {ev.epoch}/{epochs}", n, n, epoch_detail)
        prog.row("run").set("Run", ev.epoch, epochs, run_detail)

    @engine_handler(msg.HparamsChanged)
    def on_hparams_changed(self, ev: run_events.HparamsChanged) -> None:
        self.log_line(self.model.hparams_changed(ev))
        if ev.applied:
            self.plots.mark()
        self.refresh_static()

    @engine_handler(msg.EditResult)
    def on_edit_result(self, ev: protocol.EditResult) -> None:
        if not ev.ok:
            reasons = "; ".join(f"{k}: {v}" for k, v in ev.problems.items())
            self.app.notify(f"Edit refused: {reasons}", severity="error")
            self.log_line(f"Edit refused: {reasons}")

    @engine_handler(msg.NonFiniteLoss)
    def on_non_finite_loss(self, ev: run_events.NonFiniteLoss) -> None:
        """(What it says is the app's error: tui.dashboard.viewmodel.error_after.)"""
        self.log_line(self.app.error)
        self.app.notify(self.app.error, severity="error", timeout=10)

    @engine_handler(msg.RunFinished)
    def on_run_finished(self, ev: run_events.RunFinished) -> None:
        self.plots.now()  # the final picture, complete at once
        self.digits_soon.now()  # and the last test's captions
        self.log_line(f"Total epochs: {ev.epochs_done}")
        if ev.best_epoch >= 0:
            self.log_line(format_max_accuracy(ev.best_accuracy))
        epochs = self.model.hp.epochs
        prog = self.query_one(TrainingProgress)
        prog.row("run").set(
            "Run", ev.epochs_done, epochs, f"{ev.epochs_done}/{epochs} epochs · {ev.status}")
        row = prog.row("epoch")
        if row.total:  # the count its bar shows and the run's end, not a rate and an ETA
            row.set(row.title, row.done, row.total,
                    f"{int(row.done):,}/{int(row.total):,} · {ev.status}")

    @engine_handler(msg.Backfill)
    def on_backfill(self, ev: protocol.Backfill) -> None:
        self.model.train.extend(ev.train_points)
        for epoch, seen, loss, acc in ev.tests:
            self.model.add_test(epoch, seen, loss, acc)
        self.model.marks.extend(Mark(e.seen, mark_label(e.changes)) for e in ev.edits)
        self.log_line(ev.text)
        self.plots.mark()

    @engine_handler(msg.WatchReset)
    def on_watch_reset(self, ev: protocol.WatchReset) -> None:
        self.model.reset_run()
        self.plots.now()

    @engine_handler(msg.PauseChanged)
    def on_pause_changed(self, ev: protocol.PauseChanged) -> None:
        self.log_line(f"{'Paused' if ev.paused else 'Resumed'} at step {ev.step:,}")
        if self._last_tick is not None:  # "paused" instead of a rate and an ETA, or back
            self.show_tick(self._last_tick)
        if ev.paused:
            self.plots.now()

    @engine_handler(msg.Notice)
    def on_notice(self, ev: protocol.Notice) -> None:
        """Something that does not end the run (a failed write: the engine has paused)."""
        self.log_line(ev.message)
        self.app.notify(ev.message, severity=ev.severity, timeout=15)

    @engine_handler(msg.Saved)
    def on_saved(self, ev: protocol.Saved) -> None:
        self.log_line(f"Checkpoint saved: {ev.path}")
        self.app.notify(f"Checkpoint saved: {ev.path}")

    @engine_handler(msg.EngineFailed)
    def on_engine_failed(self, ev: protocol.EngineFailed) -> None:
        app = self.app
        self.query_one(TrainingProgress).remove_class("-downloading")  # no bar left at 0%
        if ev.searched:  # the data is missing: the panel says where it looked and what to do
            self.alternatives = tuple(ev.alternatives)
            self.query_one(NoDataPanel).show(ev.message, ev.searched, app.spec.dataset,
                                             app.spec.data_dir, self.alternatives)
            self.add_class("-nodata")
            app.refresh_bindings()
        self.log_line(f"Error: {ev.message}")
        if ev.detail_file:
            self.log_line(f"(details in {ev.detail_file})")
        if not ev.searched:  # (the no-data panel says it all, in full: no toast over it)
            app.notify(ev.message, severity="error", timeout=15)

    @engine_handler(msg.EngineStopped)
    def on_engine_stopped(self, ev: protocol.EngineStopped) -> None:
        """(The state says stopped, or error: tui.dashboard.viewmodel.state_after.)"""
