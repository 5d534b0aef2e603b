"""The log pane: a RichLog that keeps its newest lines in view when its size changes,
and wraps its lines to the width it has."""

from __future__ import annotations

from collections import deque

from textual import events
from textual.widgets import RichLog

from tui.widgets.soon import Soon


class LogPane(RichLog):
    """RichLog scrolls to the end only when a line is written: after a resize to a
    smaller height the newest lines were out of view until the next one came.

    RichLog also wraps at 78 columns at least (its ``min_width``) and only when a line
    is written: at 60x20, or after narrowing the terminal, the ends of lines were cut
    off (the pane does not scroll sideways). Here lines wrap at the pane's width, and
    the lines kept are wrapped again when the width changes (the newest REWRAP of
    them: a resize wraps 2,000 lines in about half a second on a slow machine; the
    older ones are left out of the pane then).

    Training's own lines (``write_soon``) are written a few at a time: each line
    written grows the log's virtual size, and Textual lays the whole screen out again
    for that. On the 8k/2k split, where a test comes every 0.13 s, the log asked for 82
    of a 25-epoch run's 84 full layouts."""

    REWRAP = 400
    FLUSH_SECONDS = 0.5  # training's lines: at most one write (one layout) this often

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_width", 1)
        super().__init__(*args, **kwargs)
        self._texts: deque[str] = deque(maxlen=self.max_lines or None)
        self._wrapped_for = 0
        self._pending: list[str] = []
        self._soon = Soon(self, self.FLUSH_SECONDS, self.flush)

    def write(self, content, *args, **kwargs):
        """A line now (after the training lines held back, which come first)."""
        self.flush()
        if isinstance(content, str):
            self._texts.append(content)
        return super().write(content, *args, **kwargs)

    def write_soon(self, text: str) -> None:
        """A line of training's (its progress, its tests): at once when the log has been
        quiet for FLUSH_SECONDS, otherwise with the others that come until then."""
        self._pending.append(text)
        self._soon.ask()

    def flush(self) -> None:
        """Write the lines held back by ``write_soon``."""
        if not self._pending:
            self._soon.cancel()
            return
        self._soon.drawn()
        pending, self._pending = self._pending, []
        for text in pending:
            self._texts.append(text)
            super().write(text)

    def clear(self):
        self._soon.cancel()
        self._pending = []
        self._texts.clear()
        return super().clear()

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if self._texts and width and self._wrapped_for not in (0, width):
            texts = list(self._texts)[-self.REWRAP:]
            super().clear()
            self._texts.clear()
            self._texts.extend(texts)
            for text in texts:
                super().write(text)
        if width:
            self._wrapped_for = width
        if self.auto_scroll:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
