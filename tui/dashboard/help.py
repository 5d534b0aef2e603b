"""The keys, on one screen."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("space", "pause / resume training (while loading: start paused)"),
    ("e", "edit hyperparameters (training goes on meanwhile)"),
    ("r", "rerun: start over with the current settings and the waiting edits (asks first "
          "during a run)"),
    ("v", "at 80x24 and other small sizes: plots / test digits in the one pane"),
    ("n / p", "next / previous page of test digits"),
    ("g", "go to a page of test digits"),
    ("f", "only the test digits of one class: 0, 1, ... 9, all"),
    ("m", "show only misclassified digits (again: all)"),
    ("z", "plots: the recent tests, zoomed in / the whole run"),
    ("o", "smooth the train loss: 0.6, 0.9, 0.99, off (TensorBoard's smoothing)"),
    ("l", "loss axis: auto (log once the losses shown span decades), log, linear"),
    ("c", "confusion matrix, per-class accuracy, most confused pairs (Enter: a cell's digits)"),
    ("h", "hardest examples: highest loss, with their softmax probabilities"),
    ("w", "inside the network: first-layer weights, layer health, one digit traced"),
    ("d", "draw a digit and ask the network, live (Esc: back); when the data is missing: "
          "train on a dataset found on this machine instead"),
    ("s", "save a checkpoint"),
    ("?", "this help"),
    ("q", "quit (asks first while a run is in progress); on the c, h, w and digit screens: "
          "back (as Esc)"),
)


TEXT_WIDTH = 58  # inside the box: 64 columns less the border and the padding


def when_edits_apply() -> str:
    """The note under the keys, from core's one rule (``core.config.effect_of``): every
    field, the CNN's ``model`` and ``lr_step_gamma`` too."""
    from core.config import EFFECT_WORDS, FIELD_NAMES, LIVE, NEXT_EPOCH, RESTART, effect_of

    def names(effect: str) -> str:
        return ", ".join(n for n in FIELD_NAMES if effect_of(n) == effect)

    return "Edits take effect: " + "; ".join(
        f"{EFFECT_WORDS[e]} ({names(e)})" for e in (LIVE, NEXT_EPOCH, RESTART)) + "."


FOOT = when_edits_apply()


def help_text(width: int) -> Text:
    """The keys and the note, wrapped to ``width`` columns: each description indented
    under its first line (Rich's own wrapping would start its next lines in column 1)."""
    keyw = max(len(key) for key, _ in KEYS)
    room = max(width - keyw - 2, 12)
    body = Text()
    body.append("mnist-tui keys", "bold")
    hint = "Esc closes · ↑↓ PgDn End scroll"  # (a terminal shorter than the help)
    body.append(("  " + hint if width >= len("mnist-tui keys  ") + len(hint) else "") + "\n\n", "dim")
    for key, what in KEYS:
        body.append(key.rjust(keyw), "bold cyan")
        indent = "\n" + " " * (keyw + 2)
        body.append("  " + indent.join(textwrap.wrap(what, room)) + "\n")
    body.append("\n")
    body.append("\n".join(textwrap.wrap(FOOT, max(width, 12))), "dim")
    return body


class HelpText(Static):
    """The help, wrapped to the width it has (64 columns, or a narrower terminal's)."""

    def render(self) -> Text:
        return help_text(self.content_size.width or TEXT_WIDTH)

    def get_content_height(self, container, viewport, width: int) -> int:
        # The lines at the width it will be drawn at (the scroll's height, and End, go by it).
        return len(help_text(width or TEXT_WIDTH).plain.splitlines())


class HelpScreen(ModalScreen[None]):
    """Scrolls (arrows, PageUp / PageDown, Home / End) when the terminal is shorter
    than the help."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll { width: 64; max-width: 100%; height: auto; max-height: 100%;
                                  border: thick $primary; background: $surface; padding: 0 2;
                                  scrollbar-size-vertical: 1; }
    HelpScreen HelpText { height: auto; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        # Plain Text, not a Rich Table: a table is measured and laid out again on every
        # render, and opening this screen is the key press a user waits on.
        with VerticalScroll(id="help-scroll"):
            yield HelpText(id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()  # so that the arrows and PageDown scroll it

    _composed_for = None

    async def on_screen_resume(self) -> None:
        # Kept between openings: the terminal may have been resized meanwhile, and the
        # text's height (the scroll's length) goes by its width: composed anew then (a
        # refresh of its layout left the scroll as long as it was at the old width).
        if self._composed_for not in (None, self.app.size):
            await self.recompose()
        self._composed_for = self.app.size
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
