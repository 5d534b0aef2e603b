"""A page of cards laid out in a grid: as many columns and rows as the space allows."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from textual.containers import Container
from textual.widgets import Static


class GridCard(Static):
    DEFAULT_CSS = """
    GridCard { padding: 0 1 0 0; }
    """


class DigitGrid(Container):
    DEFAULT_CSS = """
    DigitGrid { layout: grid; height: 1fr; grid-size: 1; grid-gutter: 0 0; }
    DigitGrid > #grid-empty { color: $text-muted; padding: 1 2; width: 100%; }
    """

    def __init__(self, card_size: tuple[int, int] = (30, 16), **kwargs) -> None:
        super().__init__(**kwargs)
        self.card_size = card_size

    def compose(self):
        yield Static("", id="grid-empty")

    def layout_for(self, card_size: tuple[int, int]) -> tuple[int, int]:
        """(columns, rows) of cards of ``card_size`` that fit."""
        w, h = self.size
        cw, ch = card_size
        return max(1, (w or 80) // cw), max(1, (h or ch) // ch)

    def capacity(self, card_size: tuple[int, int] | None = None) -> int:
        cols, rows = self.layout_for(card_size or self.card_size)
        return cols * rows

    def show(self, cards: Sequence[RenderableType], card_size: tuple[int, int],
             message: str = "") -> None:
        self.card_size = card_size
        cols, _ = self.layout_for(card_size)
        self.styles.grid_size_columns = cols
        self.styles.grid_columns = f"{card_size[0]}"
        self.styles.grid_rows = f"{card_size[1]}"
        existing = list(self.query(GridCard))
        with self.app.batch_update():
            while len(existing) < len(cards):
                card = GridCard()
                existing.append(card)
                self.mount(card)
            for widget, renderable in zip(existing, cards):
                widget.display = True
                widget.update(renderable)
            for widget in existing[len(cards):]:
                widget.display = False
            empty = self.query_one("#grid-empty", Static)
            empty.display = not cards
            empty.update(message)
