"""Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """The footer recomposes all its keys (a widget each) whenever the screen's
    bindings are refreshed: on every state change and every time a view opens or
    closes, although the keys mostly stay the same; a key pressed just after closing a
    view waited behind that rebuild. This one compares what it would show with what it
    shows.

    The rebuild comes a few callbacks after the change (Textual publishes the new
    bindings when the screen is idle; the footer recomposes after the next refresh):
    ``checks`` counts the comparisons made, ``rebuilds`` those that asked for a new
    set of keys (tests wait on them instead of assuming one frame is enough)."""

    _shown: tuple | None = None
    checks = 0
    rebuilds = 0

    def shown_keys(self) -> tuple:
        return tuple((binding.key, binding.description, binding.action, enabled, tooltip)
                     for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                     if binding.show)

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            if screen is not screen.app.screen:
                return  # under another screen: nothing to show until it is back on top
            self.checks += 1
            keys = self.shown_keys()
            if keys == self._shown:
                return
            self._shown = keys
            self.rebuilds += 1
        super().bindings_changed(screen)
