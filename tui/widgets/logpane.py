"""The log pane: a RichLog that keeps its newest lines in view when its size changes."""

from __future__ import annotations

from textual import events
from textual.widgets import RichLog


class LogPane(RichLog):
    """RichLog scrolls to the end only when a line is written: after a resize to a
    smaller height the newest lines were out of view until the next one came."""

    def on_resize(self, event: events.Resize) -> None:
        if self.auto_scroll:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
