"""Which columns the runs table shows: a checklist (space or Enter toggles, Esc closes)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection


class ColumnsScreen(ModalScreen[set[str]]):
    """Dismissed with the keys of the columns to show."""

    DEFAULT_CSS = """
    ColumnsScreen { align: center middle; }
    ColumnsScreen > Vertical { width: 44; max-width: 100%; height: auto; max-height: 100%;
                               border: round $primary; background: $surface; padding: 0 1; }
    ColumnsScreen Static { height: auto; color: $text-muted; }
    ColumnsScreen SelectionList { height: auto; max-height: 1fr; border: none; padding: 0; }
    """
    BINDINGS = [Binding("escape,v,q", "done", "Done")]

    def __init__(self, columns: list[tuple[str, str]], shown: set[str]) -> None:
        """``columns``: (key, title) in table order; ``shown``: the keys shown now."""
        super().__init__()
        self.columns = columns
        self.shown = set(shown)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Columns shown (space: show / hide · Esc: done)")
            yield SelectionList[str](*(Selection(title, key, key in self.shown)
                                       for key, title in self.columns))

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_done(self) -> None:
        self.dismiss(set(self.query_one(SelectionList).selected))
