"""The hardest test examples: those with the highest loss after the latest test, each
with a bar chart of its 10 softmax probabilities."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from core.events import TestEnd
from tui.screens.confusion import is_compact, test_title
from tui.widgets.digitgrid import DigitGrid
from tui.widgets.probcard import card_size, prob_card


class HardestScreen(Screen):
    DEFAULT_CSS = """
    HardestScreen > #hard-title { height: 1; background: $primary-background; padding: 0 1; }
    HardestScreen > DigitGrid { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,h,q", "close", "Back"),
        Binding("n", "page(1)", "Next"),
        Binding("p", "page(-1)", "Previous"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page = 0

    def compose(self) -> ComposeResult:
        yield Static(id="hard-title")
        yield DigitGrid()
        yield Footer()

    def on_mount(self) -> None:
        self.show_test(self.app.last_test)

    def on_resize(self) -> None:
        self._draw()

    def show_test(self, test: TestEnd | None) -> None:  # noqa: ARG002 - drawn from app.last_test
        self._draw()

    def _draw(self) -> None:
        app, grid = self.app, self.query_one(DigitGrid)
        test = app.last_test
        hardest = test.hardest if test is not None else ()
        scale = 2 if is_compact(app) else 1
        size = card_size(app.class_names, scale)
        per = grid.capacity(size)
        pages = max(1, -(-len(hardest) // per))
        self.page %= pages
        start = self.page * per
        cards = [prob_card(app.test_images[p.index].reshape(28, 28), p, app.class_names,
                           ascii=app.ascii, scale=scale, rank=start + k + 1)
                 for k, p in enumerate(hardest[start:start + per])]
        self.query_one("#hard-title", Static).update(Text.assemble(
            ("Hardest examples", "bold"), f" (highest loss) · {test_title(test)}",
            " · t: true class, p: predicted",
            (f" · page {self.page + 1}/{pages} (n/p)" if pages > 1 else "", "dim")))
        grid.show(cards, size, message="" if cards else "The hardest examples appear after the first test.")

    def action_page(self, delta: int) -> None:
        self.page += delta
        self._draw()

    def action_close(self) -> None:
        self.dismiss()
