"""Textual's Footer, rebuilt only when the keys it shows change, and fitted to its width."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

#: The order keys leave a footer too narrow for all of them (every key stays listed in
#: the help screen, ?). Help and quit are never left out; keys not named here go last.
DROP_ORDER = ("draw", "inside", "hardest", "confusion", "class_filter", "goto_page",
              "prev_digits", "misclassified", "next_digits", "restart",
              "pen", "erase", "clear", "move", "save", "edit", "swap_view")
KEEP = ("help", "quit_app", "close", "quit", "leave")


def key_width(display: str, description: str, compact: bool) -> int:
    """The cells a footer key takes (Textual's CSS: compact, "k desc" and a margin of 1;
    else " k desc ")."""
    text = len(display) + (1 + len(description) if description else 0)
    return text + (1 if compact else 3)


def fit_keys(keys: list[tuple[str, str, str]], width: int, compact: bool) -> list[tuple[str, str, str]]:
    """The (display, description, action) keys that fit ``width``, leaving out those
    first in DROP_ORDER (then any other but help and quit, from the left)."""
    shown = list(keys)

    def name(k: tuple[str, str, str]) -> str:
        return k[2].rpartition(".")[2]  # the App's keys on a screen: "app.help"

    def rank(k: tuple[str, str, str]) -> int:
        if name(k) in KEEP:
            return 10_000
        return DROP_ORDER.index(name(k)) if name(k) in DROP_ORDER else 1000 + shown.index(k)

    while shown and sum(key_width(d, desc, compact) for d, desc, _ in shown) > width:
        victim = min(shown, key=rank)
        if name(victim) in KEEP:
            break
        shown.remove(victim)
    return shown


class KeyFooter(Footer):
    """The footer recomposes all its keys (a widget each) whenever the screen's
    bindings are refreshed: on every state change and every time a view opens or
    closes, although the keys mostly stay the same; a key pressed just after closing a
    view waited behind that rebuild. This one compares what it would show with what it
    shows.

    Too narrow for all its keys, it leaves out the least needed first (DROP_ORDER), so
    that ``? Help`` and ``q Quit`` always show."""

    _shown: tuple | None = None

    def shown_keys(self) -> tuple:
        """(key, description, action, enabled, tooltip) of each key shown: those that
        fit the width."""
        keys = [(binding.key, binding.description, binding.action, enabled, tooltip)
                for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                if binding.show]
        displays = {binding.action: self.app.get_key_display(binding)
                    for _, binding, _, _ in self.screen.active_bindings.values() if binding.show}
        fitted = {a for _, _, a in fit_keys([(displays[k[2]], k[1], k[2]) for k in keys],
                                            self.app.size.width, self.compact)}
        return tuple(k for k in keys if k[2] in fitted)

    _fitted_for: tuple[int, bool] | None = None

    def compose(self):
        self._fitted_for = (self.app.size.width, self.compact)
        actions = {k[2] for k in self.shown_keys()}
        # Textual's FooterKey is not exported: a key is what has a key_display and an action.
        for widget in super().compose():
            if not (hasattr(widget, "key_display") and hasattr(widget, "action")) \
                    or widget.action in actions or widget.has_class("-command-palette"):
                yield widget

    def on_resize(self) -> None:
        self.refit()

    def watch_compact(self) -> None:
        self.refit()

    def refit(self) -> None:
        """Composed for another width or style: the keys again, fitted to this one."""
        if self._fitted_for not in (None, (self.app.size.width, self.compact)) and self.is_attached:
            self._shown = None
            self.call_after_refresh(self.recompose)

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            if screen is not screen.app.screen:
                return  # under another screen: nothing to show until it is back on top
            keys = self.shown_keys()
            if keys == self._shown:
                return
            self._shown = keys
        super().bindings_changed(screen)
