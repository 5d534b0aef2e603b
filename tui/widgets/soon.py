"""Redraws that follow training at a human pace: at once after a quiet spell, otherwise
once, a moment later, with the newest data."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Soon:
    """Calls ``draw`` at once when it has not run for ``seconds``, otherwise once when
    they are up (however often it was asked meanwhile). ``draw`` says it ran with
    ``drawn()`` (a draw asked for directly, a key's, counts too); ``now()`` draws a
    waiting one at once. (The dashboard's digit cards, the log pane's lines.)"""

    def __init__(self, owner: Any, seconds: float, draw: Callable[[], None]):
        self.owner, self.seconds, self.draw = owner, seconds, draw
        self._timer: Any = None
        self._at = float("-inf")

    def ask(self) -> None:
        if self._timer is not None:
            return
        wait = self.seconds - (time.monotonic() - self._at)
        if wait <= 0:
            self.draw()
        else:
            self._timer = self.owner.set_timer(wait, self.draw)

    def drawn(self) -> None:
        self.cancel()
        self._at = time.monotonic()

    def cancel(self) -> None:
        """Nothing waits to be drawn any more."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def now(self) -> None:
        if self._timer is not None:
            self.draw()
