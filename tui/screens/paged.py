"""A screen of cards, page by page (n / p), with a title line: the base of the views
that show test digits (a confusion-matrix cell, the hardest examples)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from core.events import TestEnd
from tui.screens.common import RunSignals, follow
from tui.widgets.digitgrid import DigitGrid
from tui.widgets.footer import KeyFooter


class PagedCardsScreen(Screen):
    DEFAULT_CSS = """
    PagedCardsScreen > #paged-title { height: auto; background: $primary-background; padding: 0 1; }
    PagedCardsScreen > DigitGrid { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Back", key_display="q"),
        Binding("n", "page(1)", "Next"),
        Binding("p", "page(-1)", "Previous"),
    ]
    EMPTY = "Nothing to show after the latest test."

    def __init__(self, signals: RunSignals | None = None) -> None:
        super().__init__()
        self.page = 0
        self.run_signals = signals  # the dashboard's run, followed test by test

    # what a subclass says
    def items(self) -> Sequence[Any]:
        raise NotImplementedError

    def card_size(self) -> tuple[int, int]:
        raise NotImplementedError

    def card(self, item: Any, rank: int) -> RenderableType:
        raise NotImplementedError

    def heading(self) -> Text:
        raise NotImplementedError

    def update_items(self, test: TestEnd | None) -> None:
        """Recompute what ``items`` returns after a test (default: nothing to do)."""

    # the rest
    def compose(self) -> ComposeResult:
        yield Static(id="paged-title")
        yield DigitGrid()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.show_test(self.app.view.last_test)
        follow(self.run_signals and self.run_signals.test, self, self.show_test)

    def on_resize(self) -> None:
        self._draw()

    def show_test(self, test: TestEnd | None) -> None:
        """The latest test (and each test after it while this screen is open)."""
        self.update_items(test)
        self._draw()

    def _draw(self) -> None:
        grid = self.query_one(DigitGrid)
        items, size = self.items(), self.card_size()
        per = grid.capacity(size)
        pages = max(1, -(-len(items) // per))
        self.page %= pages
        start = self.page * per
        cards = [self.card(item, start + k + 1) for k, item in enumerate(items[start:start + per])]
        title = self.heading()
        if pages > 1:
            title.append(f" · page {self.page + 1}/{pages} (n/p)", "dim")
        self.query_one("#paged-title", Static).update(title)
        grid.show(cards, size, message="" if cards else self.EMPTY)

    def action_page(self, delta: int) -> None:
        self.page += delta
        self._draw()

    def action_close(self) -> None:
        self.dismiss()
