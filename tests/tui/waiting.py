"""Waiting on the app, for tests, without sleeping: on its workers, on engine events it
has handled, on its states, on the footer's look at the keys. Nothing here is in the
production code: the app is a test-only subclass, the footer is watched through
Textual's public bindings signal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from textual.worker import WorkerCancelled

from tui.dashboard.app import MnistTuiApp


async def workers_done(app) -> None:
    """Wait on an app's workers when some are exclusive: a newer worker of the same
    group cancels an older one, which then never completes (``wait_for_complete``
    raises ``WorkerCancelled`` for it); what matters is that those left have finished."""
    while True:
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


class WatchedApp(MnistTuiApp):
    """The dashboard app, telling its test which engine events its screens handled.

    Each engine handler (``tui.dashboard.messages.engine_handler``) takes the event
    into the app's state (``take_in``) and draws it, both inside one ``batch_update``
    (public App API; Textual opens batches of its own too, some across awaits): an
    event taken in is handled once the batch it was taken in ends. Then it is added
    to ``handled``, the callbacks in ``on_handled`` see it (the screen as it drew it),
    and the futures waiting for it are resolved."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled: list[Any] = []  # every engine event the screens handled, in order
        self.on_handled: list[Callable[[Any], object]] = []
        self._taken: list[tuple[int, Any]] = []  # (batches open when taken in, event)
        self._batches = 0
        self._event_waiters: list[tuple[Callable[[Any], bool], asyncio.Future]] = []
        self._state_events: dict[str, asyncio.Event] = {}
        self.exited = asyncio.Event()  # set when the app asks to exit (q: after the checkpoint)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        super().exit(*args, **kwargs)
        self.exited.set()

    @contextmanager
    def batch_update(self) -> Iterator[None]:
        self._batches += 1
        try:
            with super().batch_update():
                yield
        finally:
            self._batches -= 1
        self._handled()

    def take_in(self, event: Any) -> None:
        super().take_in(event)
        if self._batches:
            self._taken.append((self._batches, event))
        else:  # (not from a handler, outside any batch: handled at once)
            self._tell(event)

    def _handled(self) -> None:
        """Tell of the events taken in within batches that have ended since."""
        done = [event for depth, event in self._taken if depth > self._batches]
        if done:
            self._taken = [(depth, event) for depth, event in self._taken if depth <= self._batches]
            for event in done:
                self._tell(event)

    def _tell(self, event: Any) -> None:
        self.handled.append(event)
        for callback in self.on_handled:
            callback(event)
        waiting = []
        for wanted, future in self._event_waiters:
            if future.done():
                continue
            if wanted(event):
                future.set_result(event)
            else:
                waiting.append((wanted, future))
        self._event_waiters = waiting

    def next_event(self, kind: type) -> asyncio.Future:
        """A future resolved with the next engine event of type ``kind`` once handled."""
        return self.handled_one(lambda ev: type(ev) is kind, past=False)

    def handled_one(self, wanted: Callable[[Any], bool], *, past: bool = True) -> asyncio.Future:
        """A future resolved with the first handled event ``wanted`` accepts: one
        handled already (``past``), or the next one."""
        future = asyncio.get_running_loop().create_future()
        found = [ev for ev in self.handled if wanted(ev)] if past else []
        if found:
            future.set_result(found[0])
        else:
            self._event_waiters.append((wanted, future))
        return future

    def set_state(self, state) -> None:
        super().set_state(state)
        self._state_event(self.state).set()
        for other, event in self._state_events.items():
            if other != self.state:
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


class FooterLooks:
    """Counts a footer's looks at its screen's keys, each counted once whatever it
    decided has been carried out.

    Textual publishes a screen's bindings (``Screen.bindings_updated_signal``); the
    footer, subscribed when mounted, compares and may ask to be recomposed after the
    next refresh. A callback subscribed after it on the same node runs after it, and
    one it asks for after the refresh runs after that recompose has finished
    (callbacks after a refresh are awaited in order)."""

    def __init__(self, footer) -> None:
        self.footer = footer
        self.count = 0
        footer.screen.bindings_updated_signal.subscribe(footer, self._looked)

    def _looked(self, screen) -> None:
        app = screen.app
        if app.app_focus and screen is app.screen and screen is self.footer.screen:
            self.footer.call_after_refresh(self._settled)

    def _settled(self) -> None:
        self.count += 1
