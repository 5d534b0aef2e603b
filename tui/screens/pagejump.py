"""g: go to a page of the test digits (a number, checked at the field)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Input, Label


class PageScreen(ModalScreen[int | None]):
    """Asks for a page from 1 to ``pages``; Enter goes there, Esc leaves."""

    DEFAULT_CSS = """
    PageScreen { align: center middle; }
    PageScreen > Vertical { width: 40; max-width: 100%; height: auto; border: round $primary;
                            background: $surface; padding: 0 1; }
    PageScreen #page-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, pages: int) -> None:
        super().__init__()
        self.pages = pages

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Go to page (1-{self.pages:,}):")
            yield Input(type="integer", validators=[Integer(1, self.pages)], id="page-input")
            yield Label("", id="page-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            self.query_one("#page-error", Label).update(f"a page from 1 to {self.pages:,}")
            return
        self.dismiss(int(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
