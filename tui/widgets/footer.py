"""Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """The footer recomposes all its keys (a widget each, ~1 ms apiece here) whenever
    the screen's bindings are refreshed: on every state change and every time a view
    opens or closes, although the keys mostly stay the same. Measured in the running
    dashboard: a key pressed after closing the help screen waited 25-60 ms behind
    that rebuild. This one compares what it would show with what it shows."""

    _shown: tuple | None = None

    def shown_keys(self) -> tuple:
        return tuple((binding.key, binding.description, binding.action, enabled, tooltip)
                     for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                     if binding.show)

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            if screen is not screen.app.screen:
                return  # under another screen: nothing to show until it is back on top
            keys = self.shown_keys()
            if keys == self._shown:
                return
            self._shown = keys
        super().bindings_changed(screen)
