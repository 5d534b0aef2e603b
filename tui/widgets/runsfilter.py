"""The runs table's filter line."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class RunsFilter(Input):
    """An Input that also takes the keys its screen routes to it (``take``): keys typed
    in one burst after "/" were queued for the table before the focus moved here."""

    def take(self, event: events.Key) -> bool:
        """Apply a key meant for the filter: Esc clears it, Enter keeps it (both leave
        it to the screen to move the focus), backspace, a printable character. False: not
        the filter's key."""
        if event.key == "escape":
            self.value = ""
        elif event.key == "backspace":
            self.action_delete_left()
        elif event.is_printable and event.character:
            self.insert_text_at_cursor(event.character)
        else:
            return event.key == "enter"
        return True
