"""The keys, on one screen."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("space", "pause / resume training"),
    ("e", "edit hyperparameters (training goes on meanwhile)"),
    ("r", "restart with the current settings and waiting edits"),
    ("n", "next page of test digits"),
    ("m", "show only misclassified digits (again: all)"),
    ("c", "confusion matrix, per-class accuracy, most confused pairs (Enter: a cell's digits)"),
    ("h", "hardest examples: highest loss, with their softmax probabilities"),
    ("s", "save a checkpoint"),
    ("?", "this help"),
    ("q", "quit (asks first while a run is in progress)"),
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
                            border: thick $primary; background: $surface; padding: 1 2; }
    HelpScreen #help-foot { color: $text-muted; padding-top: 1; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", justify="right")
        table.add_column()
        for key, what in KEYS:
            table.add_row(key, what)
        with Vertical():
            yield Static("[b]mnist-tui keys[/b]\n")
            yield Static(table)
            yield Static("Edits take effect now (lr, momentum, epochs, test batch), at the next "
                         "epoch (batch size) or on restart (network, activation, seed, optimizer).",
                         id="help-foot")

    def action_close(self) -> None:
        self.dismiss(None)
