"""The log pane: a RichLog that keeps its newest lines in view when its size changes,
and wraps its lines to the width it has."""

from __future__ import annotations

from collections import deque

from textual import events
from textual.widgets import RichLog


class LogPane(RichLog):
    """RichLog scrolls to the end only when a line is written: after a resize to a
    smaller height the newest lines were out of view until the next one came.

    RichLog also wraps at 78 columns at least (its ``min_width``) and only when a line
    is written: at 60x20, or after narrowing the terminal, the ends of lines were cut
    off (the pane does not scroll sideways). Here lines wrap at the pane's width, and
    the lines kept are wrapped again when the width changes (the newest REWRAP of
    them: a resize wraps 2,000 lines in about half a second on a slow machine; the
    older ones are left out of the pane then)."""

    REWRAP = 400

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_width", 1)
        super().__init__(*args, **kwargs)
        self._texts: deque[str] = deque(maxlen=self.max_lines or None)
        self._wrapped_for = 0

    def write(self, content, *args, **kwargs):
        if isinstance(content, str):
            self._texts.append(content)
        return super().write(content, *args, **kwargs)

    def clear(self):
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
