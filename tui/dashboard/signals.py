"""Quitting without losing anything: a checkpoint first, on q and on SIGTERM / SIGHUP.

``SignalExit`` installs plain signal handlers, not the event loop's: after a hang-up the
loop can be stuck writing to the dead terminal, and a Python handler still runs (lock
waits are interruptible). The handler only starts a thread, which asks the engine for a
checkpoint, waits for it (the app's worker sees it arrive: ``saved``), then exits:
normally, or for good a few seconds later.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from tui.engine.protocol import Quit, Save

EXIT_SECONDS = 20.0  # after SIGTERM / SIGHUP or q: the longest wait for the checkpoint


class SignalExit:
    """SIGTERM or SIGHUP (a dropped SSH session): save a checkpoint, then quit."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exit_signal = 0  # 128 + the signal that ended the app (SIGTERM 143, SIGHUP 129)
        self.saved = threading.Event()  # set by the app's worker when a Saved comes
        self.installed: dict[signal.Signals, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def cause(self) -> str:
        """The signal that ended the app, by name ("SIGHUP"); "" when none did."""
        if not self.exit_signal:
            return ""
        try:
            return signal.Signals(self.exit_signal - 128).name
        except ValueError:
            return f"signal {self.exit_signal - 128}"

    def install(self) -> None:
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                continue  # started under nohup: a hang-up stays ignored, as nohup asks
            try:
                self.installed[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError, AttributeError):  # not the main thread; Windows
                pass

    def restore(self) -> None:
        for sig, previous in self.installed.items():
            signal.signal(sig, previous)
        self.installed = {}

    def _on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        if self.exit_signal:
            return
        self.exit_signal = 128 + signum
        threading.Thread(target=self._after_signal, name="mnist-tui-signal", daemon=True).start()

    def _after_signal(self) -> None:
        """In a thread of its own (the event loop may be blocked on a dead terminal)."""
        app = self.app
        engine = app.engine
        if engine is not None and app.watch_dir is None and app.state.active:
            self.saved.clear()
            engine.send(Save())
            self.saved.wait(EXIT_SECONDS)
        if engine is not None and app.watch_dir is None:
            engine.send(Quit(self.cause))  # the run's end row names the signal, even if
            # the loop below is stuck on a dead terminal and never reaches shutdown
        # shutdown closes the engine; if the loop is stuck, the engine ends by itself
        # once this process is gone (it watches its parent). It goes through the
        # dashboard's queue, behind the Saved message posted there before ``saved`` was
        # set: the checkpoint is shown (and its waiters told) before the app closes.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(app.dashboard.call_later, app.shutdown)
        if not app.is_headless:  # under Pilot the process is the test runner's
            time.sleep(3.0)  # a normal exit (terminal restored) comes well before
            os._exit(self.exit_signal)


def save_then(app: Any, then: Callable[[], None]) -> None:
    """Ask the engine for a checkpoint; call ``then`` once it is written (or after a
    while: the checkpoint of the last test is still there). As after a signal, a thread
    waits for the app's worker to see the Saved (``SignalExit.saved``), and ``then``
    goes through the dashboard's queue behind the Saved message: it is shown first."""
    if app.engine is None or not app.state.active:
        then()
        return
    saved = app.signals.saved
    saved.clear()
    app.engine.send(Save())
    loop = asyncio.get_running_loop()

    def wait() -> None:
        saved.wait(EXIT_SECONDS / 2)
        try:
            loop.call_soon_threadsafe(app.dashboard.call_later, then)
        except RuntimeError:  # the app has closed meanwhile
            pass

    threading.Thread(target=wait, name="mnist-tui-save", daemon=True).start()
