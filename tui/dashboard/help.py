"""The keys, on one screen."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("space", "pause / resume training (while loading: start paused)"),
    ("e", "edit hyperparameters (training goes on meanwhile)"),
    ("r", "restart with the current settings and waiting edits (asks first during a run)"),
    ("n", "next page of test digits"),
    ("m", "show only misclassified digits (again: all)"),
    ("z", "plots: the recent tests, zoomed in / the whole run"),
    ("o", "smooth the train loss: 0.6, 0.9, 0.99, off (TensorBoard's smoothing)"),
    ("l", "loss on a log scale / linear"),
    ("d", "when the data is missing: train on a dataset found on this machine"),
    ("c", "confusion matrix, per-class accuracy, most confused pairs (Enter: a cell's digits)"),
    ("h", "hardest examples: highest loss, with their softmax probabilities"),
    ("w", "inside the network: first-layer weights, layer health, one digit traced"),
    ("d", "draw a digit and ask the network, live (Esc: back)"),
    ("s", "save a checkpoint"),
    ("?", "this help"),
    ("q", "quit (asks first while a run is in progress)"),
)


TEXT_WIDTH = 58  # inside the box: 64 columns less the border and the padding


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
                            border: thick $primary; background: $surface; padding: 1 2; }
    HelpScreen #help-foot { color: $text-muted; padding-top: 1; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        # Plain Text, not a Rich Table: a table is measured and laid out again on every
        # render, and opening this screen is the key press a user waits on.
        width = max(len(key) for key, _ in KEYS)
        body = Text()
        body.append("mnist-tui keys\n\n", "bold")
        for key, what in KEYS:
            body.append(key.rjust(width), "bold cyan")
            indent = "\n" + " " * (width + 2)
            body.append("  " + indent.join(textwrap.wrap(what, TEXT_WIDTH - width - 2)) + "\n")
        body.rstrip()
        with Vertical():
            yield Static(body, id="help-keys")
            yield Static("Edits take effect now (lr, momentum, epochs, test batch), at the next "
                         "epoch (batch size) or on restart (network, activation, seed, optimizer).",
                         id="help-foot")

    def action_close(self) -> None:
        self.dismiss(None)
