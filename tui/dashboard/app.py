"""The dashboard's App: a thin shell around what every screen shares.

It starts the run (a ``Transport``: the training process, a thread, or a followed run
folder) and holds the one worker that turns the transport's events into messages
(``tui.dashboard.messages``) for the dashboard screen (``tui.dashboard.screen``), which shows
them; it holds the run's state, the model the screens draw from (``tui.dashboard.viewmodel``),
the keys that work on every screen, and quitting (``tui.dashboard.signals``).
"""

from __future__ import annotations

import asyncio
import queue
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import get_current_worker

import tui.dashboard.messages as msg
from core.edits import EditState
from core.runfolder import default_run_dir
from tui.engine.bridge import ProcessTransport, RunSpec, ThreadTransport
from tui.engine.protocol import EngineFailed, EngineStopped, Quit, Saved, Transport
from tui.dashboard.receipt import print_receipt, receipt_text
from tui.screens.confirm import ConfirmScreen
from tui.dashboard.screen import RUN_KEYS, DashboardScreen
from tui.dashboard.help import HelpScreen
from tui.dashboard.runview import RunView
from tui.dashboard.signals import SignalExit, save_then
from tui.dashboard.states import AppState
from tui.dashboard.viewmodel import LOG_LINES, DashboardModel, state_after
from tui.widgets import toasts

__all__ = ["MnistTuiApp", "make_app", "print_receipt", "receipt_text"]



class MnistTuiApp(App):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere work too
    CSS = toasts.CSS
    TITLE = "mnist-tui"
    ENABLE_COMMAND_PALETTE = False

    # The keys that act on the run, on every screen (the dashboard binds them as well,
    # in its footer's order); the dashboard's own keys are DashboardScreen's.
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause"),
        Binding("space", "resume", "Resume"),
        Binding("e", "edit", "Edit"),
        Binding("s", "save", "Save", show=False),  # (as on the dashboard)
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True),
    ]

    def __init__(self, spec: RunSpec, *, engine: str = "process", show_eta: bool = True,
                 ascii: bool = False, run_dir: str | None = None, watch: str | None = None,
                 transport: Transport | None = None) -> None:
        """``transport``: the first run's, already started (the command line starts the
        training process before it imports Textual); a restart starts a new one."""
        super().__init__()
        self.watch_dir = watch  # read-only: follow a run another process writes
        self.spec = spec
        self.engine_kind = engine
        self.show_eta = show_eta
        self.ascii = ascii
        self.run_dir = Path(run_dir or spec.run_dir or spec.resume or default_run_dir())
        self._base_run_dir = self.run_dir
        self._started_transport = transport
        self.restarts = 0
        self.generation = 0
        self.engine: Transport | None = None
        self.state = AppState.STARTING
        self.error = ""
        self.error_internal = False
        self.refused = False  # a --resume refused: the receipt is that one line
        self.view = DashboardModel(EditState(spec.hparams))
        self.dashboard = DashboardScreen(self.view)
        self.signals = SignalExit(self)
        self.log_lines: deque[str] = deque(maxlen=LOG_LINES)  # what the log pane shows, unwrapped
        self._frozen = False
        self._state_events: dict[str, asyncio.Event] = {}
        self._event_waiters: dict[type, list[asyncio.Future]] = {}

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

    def _compose_edit_form(self) -> None:
        """Build the form off-screen while the data loads, so that the first e shows it
        as fast as the others. App._get_screen is how push_screen starts a screen (there
        is no public way to compose one without showing it); without it, the first
        opening composes, as before."""
        if not self.is_running:
            return
        try:
            self._get_screen(self.dashboard.edit_form())
        except AttributeError:  # another Textual
            pass

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
        self.set_state(AppState.LOADING)
        self.pump(transport, self.generation)

    def _new_transport(self) -> Transport:
        if self.watch_dir is not None:
            from tui.engine.watch import FolderTransport

            return FolderTransport(self.watch_dir)
        spec = replace(self.spec, hparams=self.view.hp, run_dir=str(self.run_dir),
                       resume=self.spec.resume if self.restarts == 0 else None)
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
        """An engine event's effect on the state (``tui.dashboard.viewmodel.state_after``)."""
        state = state_after(self.state, event, error=bool(self.error))
        if state != self.state:
            self.set_state(state)

    def event_handled(self, event: Any) -> None:
        for future in self._event_waiters.pop(type(event), []):
            if not future.done():
                future.set_result(event)

    def next_event(self, kind: type) -> asyncio.Future:
        """A future resolved with the next engine event of type ``kind`` once handled."""
        future = asyncio.get_running_loop().create_future()
        self._event_waiters.setdefault(kind, []).append(future)
        return future

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
        self.error = ""
        self.dashboard.reset()
        self.start_engine()

    # ------------------------------------------------------------------ state
    def set_state(self, state: AppState) -> None:
        changed = state != self.state
        self.state = AppState(state)
        self.dashboard.show_state(self.state)
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

    def freeze_heap(self) -> None:
        """After the first test everything the dashboard keeps for its lifetime exists:
        move it out of the cyclic GC's way, so that a full collection (which a key
        press would wait for) scans only what came after."""
        if not self.is_headless and not self._frozen:
            import gc

            gc.collect()
            gc.freeze()
            self._frozen = True

    # ------------------------------------------------------------------ keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in RUN_KEYS:
            return self.dashboard.check_action(action, parameters)
        return True

    def action_toggle_pause(self) -> None:
        self.dashboard.action_toggle_pause()

    def action_resume(self) -> None:
        self.dashboard.action_toggle_pause()

    def action_edit(self) -> None:
        self.dashboard.action_edit()

    def action_save(self) -> None:
        self.dashboard.action_save()

    def action_help(self) -> None:
        self.open_help()

    def open_help(self) -> None:
        # One instance, composed once and kept: opening it again is a restyle and a paint.
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), "help")
        self.push_screen("help")

    def action_quit_app(self) -> None:
        if self.state.active and self.watch_dir is None:
            def done(yes: bool | None) -> None:
                if yes:
                    save_then(self, self.shutdown)  # nothing lost: --resume continues it
            self.push_screen(ConfirmScreen("A run is in progress. Quit and stop training? "
                                           "(A checkpoint is saved; --resume continues it.)"), done)
        else:
            self.shutdown()

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
        self.error, self.refused = failed.message, True
        self.set_state(AppState.ERROR)
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
