"""The dashboard's App: a thin shell around what every screen shares.

It starts the run (a ``Transport``: the training process, a thread, or a followed run
folder) and holds the one worker that turns the transport's events into messages
(``tui.dashboard.messages``) for the dashboard screen (``tui.dashboard.screen``), which shows
them; it holds the run's state, the model the screens draw from (``tui.dashboard.viewmodel``),
and quitting (``tui.dashboard.signals``). The keys that work on every screen are its base's
(``tui.dashboard.runkeys``); the dashboard's own, its screen's.
"""

from __future__ import annotations

import queue
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import on, work
from textual.worker import get_current_worker

import tui.dashboard.messages as msg
from core.edits import EditState
from tui.engine.bridge import ProcessTransport, RunSpec, ThreadTransport
from tui.engine.protocol import (Command, EngineFailed, EngineStopped, PauseChanged, Quit, Saved,
                                 Transport)
from tui.dashboard.receipt import print_receipt, receipt_text
from tui.dashboard.runkeys import RunKeysApp
from tui.dashboard.screen import DashboardScreen
from tui.dashboard.runview import RunView
from tui.dashboard.signals import SignalExit
from tui.dashboard.states import AppState
from tui.dashboard.viewmodel import LOG_LINES, DashboardModel, EngineStarted, error_after, state_after
from tui.widgets import toasts

__all__ = ["MnistTuiApp", "make_app", "print_receipt", "receipt_text"]



class MnistTuiApp(RunKeysApp):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere work too
    CSS = toasts.CSS
    TITLE = "mnist-tui"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, spec: RunSpec, *, engine: str = "process", show_eta: bool = True,
                 ascii: bool = False, run_dir: str | None = None, watch: str | None = None,
                 transport: Transport | None = None) -> None:
        """``transport``: the first run's, already started (the command line starts the
        training process before it imports Textual); a restart starts a new one."""
        super().__init__()
        self.watch_dir = watch  # read-only: follow a run another process writes
        self.spec = (replace(spec, run_dir=run_dir) if run_dir else spec).placed()
        self.engine_kind = engine
        self.show_eta = show_eta
        self.ascii = ascii
        self.run_dir = Path(self.spec.run_dir)
        self._base_run_dir = self.run_dir
        self._started_transport = transport
        self.restarts = 0
        self.generation = 0
        self.engine: Transport | None = None
        self.state = AppState.STARTING
        self.error = ""
        self.error_internal = False
        self.refused = False  # a --resume refused: the receipt is that one line
        self.start_paused = False  # space while loading: training starts paused
        self.view = DashboardModel(EditState(spec.hparams))
        self.dashboard = DashboardScreen(self.view)
        self.signals = SignalExit(self)
        self.log_lines: deque[str] = deque(maxlen=LOG_LINES)  # what the log pane shows, unwrapped
        self._frozen = False

    @property
    def exit_signal(self) -> int:
        return self.signals.exit_signal

    def get_default_screen(self) -> DashboardScreen:
        return self.dashboard

    def on_mount(self) -> None:
        self.signals.install()

    @on(RunView.Ready)
    def _dashboard_ready(self) -> None:
        self.start_engine()
        if self.watch_dir is None:
            self.call_after_refresh(self._compose_edit_form)

    # ------------------------------------------------------------------ the engine
    def start_engine(self) -> None:
        self.generation += 1
        transport, self._started_transport = self._started_transport, None
        try:
            if transport is None:
                transport = self._new_transport()
                transport.start()
        except (OSError, ValueError, RuntimeError) as exc:  # no process or thread could start
            self.engine = None
            self.dashboard.post_message(msg.EngineFailed(
                EngineFailed(f"could not start training: {exc}"), self.generation))
            return
        self.engine = transport
        self.take_in(EngineStarted())
        self.pump(transport, self.generation)

    def _new_transport(self) -> Transport:
        if self.watch_dir is not None:
            from tui.engine.watch import FolderTransport

            return FolderTransport(self.watch_dir)
        spec = self.spec if self.restarts == 0 else replace(
            self.spec, hparams=self.view.hp, run_dir=str(self.run_dir), resume=None, resumed=None)
        return (ThreadTransport if self.engine_kind == "thread" else ProcessTransport)(spec)

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine")
    def pump(self, engine: Transport, generation: int) -> None:
        """The one bridge: engine events become messages; no widget is touched here."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                ev = engine.get(timeout=0.1)
            except queue.Empty:
                if not engine.alive():
                    self.dashboard.post_message(msg.EngineFailed(
                        EngineFailed("the training process ended unexpectedly"), generation))
                    return
                continue
            except (EOFError, OSError, ValueError):  # queue closed while shutting down
                return
            message = msg.message_for(ev, generation)
            if message is not None:
                self.dashboard.post_message(message)
            if isinstance(ev, Saved):
                self.signals.saved.set()  # for the signal thread, which cannot rely on the loop
            if isinstance(ev, EngineStopped):
                return

    def send(self, command: Command) -> bool:
        """A command to the run; False when no engine is attached."""
        if self.engine is None:
            return False
        self.engine.send(command)
        return True

    def stop_engine(self, reason: str = "quit") -> None:
        """End the engine; a run still in progress records ``reason`` as the cause in
        its end row ("quit", "restart", "SIGHUP", ...), which `runs` names."""
        engine, self.engine = self.engine, None
        self.workers.cancel_group(self, "engine")
        if engine is not None:
            engine.send(Quit(reason))
            engine.close()

    def on_inside_screen_digit_wanted(self, message: Any) -> None:
        """"Inside the network" (above the dashboard) asks for a digit to be traced."""
        self.dashboard.want_digit(message.index)

    def accepts(self, message: msg.EngineMessage) -> bool:
        """Whether an engine message is still wanted: not from an engine replaced by a
        restart, not while the app shuts down (its widgets are being removed), not a
        refused --resume (the app closes on it: ``resume_refused``)."""
        return (message.generation == self.generation and bool(self.screen_stack)
                and self.is_running and not self.resume_refused(message.event))

    def take_in(self, event: Any) -> None:
        """An event's effect on the app's state: the one place it changes, by the pure
        rules of ``tui.dashboard.viewmodel`` (``error_after``, ``state_after``)."""
        self.error, self.error_internal = error_after(self.error, self.error_internal, event)
        if isinstance(event, (EngineStarted, PauseChanged)):
            self.start_paused = False  # (a pause asked for while loading has happened)
        state = state_after(self.state, event, error=bool(self.error))
        if state != self.state:
            self.set_state(state)

    def restart(self, *, dataset: str | None = None) -> None:
        """A new run: with the edits that waited, in a new run folder (never over one)."""
        if dataset is not None:  # the data is missing: another dataset found here
            self.spec = replace(self.spec, dataset=dataset, data_dir=None)
        hp = self.view.for_restart()
        self.restarts += 1
        self.run_dir = Path(f"{self._base_run_dir}-restart{self.restarts}")
        while self.run_dir.exists():  # left by an earlier session: never written over
            self.restarts += 1
            self.run_dir = Path(f"{self._base_run_dir}-restart{self.restarts}")
        self.dashboard.log_line(f"Restarting: {hp.architecture()}, seed {hp.seed}")
        self.stop_engine("restart")
        self.view.reset_run()
        self.view.page = 0
        self.error, self.error_internal = "", False
        self.dashboard.reset()
        self.start_engine()

    # ------------------------------------------------------------------ state
    def set_state(self, state: AppState) -> None:
        changed = state != self.state
        self.state = AppState(state)
        self.dashboard.show_state(self.state)
        if changed:  # the footer rebuilds only if the keys that apply changed (KeyFooter)
            self.refresh_bindings()

    def freeze_heap(self) -> None:
        """After the first test everything the dashboard keeps for its lifetime exists:
        move it out of the cyclic GC's way, so that a full collection (which a key
        press would wait for) scans only what came after."""
        if not self.is_headless and not self._frozen:
            import gc

            gc.collect()
            gc.freeze()
            self._frozen = True

    def shutdown(self) -> None:
        self.stop_engine(self.signals.cause or "quit")
        self.exit()

    def resume_refused(self, failed: Any) -> bool:
        """``--resume`` of a run that cannot be continued (core refused its checkpoint or
        folder) before anything started: the dashboard closes, and the terminal shows
        that one line, exit 2, as the headless path does. Not for an internal error
        (exit 1, its traceback in a file) nor for missing data (a panel offers others)."""
        if not (isinstance(failed, EngineFailed) and self.spec.resume and self.restarts == 0
                and self.watch_dir is None and self.state.loading and not failed.detail_file and not failed.searched):
            return False
        self.take_in(failed)
        self.refused = True
        self.shutdown()
        return True

    def receipt(self) -> str:
        """What the terminal shows after the dashboard closes: the run folder, how far
        it got, its best test, and the commands that continue or follow it."""
        if self.refused:
            return f"mnist-tui: error: {self.error}"
        folder = Path(self.watch_dir) if self.watch_dir is not None else self.run_dir
        view = self.view
        return receipt_text(folder, max(view.test_epochs, default=0), view.hp.epochs, view.best,
                            self.error, watching=self.watch_dir is not None)

    def on_unmount(self) -> None:
        self.signals.restore()
        self.stop_engine()


def make_app(spec: RunSpec | None = None, *, data_dir: str | None = None, engine: str = "process",
             show_eta: bool = True, ascii: bool = False, **hparams: Any) -> MnistTuiApp:
    """Build the app; tests pass small data, a fixed seed and ``engine="thread"``."""
    if spec is None:
        from core.config import Hyperparameters

        spec = RunSpec(hparams=Hyperparameters(**hparams).validate(), data_dir=data_dir)
    return MnistTuiApp(spec, engine=engine, show_eta=show_eta, ascii=ascii)
