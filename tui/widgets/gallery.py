"""Test digits with their label, the current prediction and its confidence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group
from rich.text import Text
from textual import events
from textual.containers import Container
from textual.message import Message
from textual.widgets import Static

from tui.render.digits import render

CARD_WIDTH = 30  # 28 cells + a margin
COMPACT_WIDTH = 16  # 14 cells + a margin
CARD_HEIGHT = 9  # the gallery's cards: a half-size digit (7 rows) over a two-line caption


def card_width(classes: Sequence[str]) -> int:
    """A gallery card's width: the half-size digit (14 cells) or its caption's longest
    second line (``→ Ankle boot 100%``), whichever is wider, and a margin of 2."""
    longest = max((len(c) for c in classes), default=1)
    return max(14, len("→  100%") + longest) + 2


class DigitCard(Static):
    DEFAULT_CSS = """
    DigitCard { width: 30; height: 15; padding: 0 1; }
    """

    def show(self, pixels: np.ndarray, label: str, pred: str | None, confidence: float | None,
             *, ascii: bool, scale: int, index: int, lines: int = 1) -> None:
        # The card's size is fixed by CSS: a repaint, not a layout of the whole screen.
        self.update(digit_card(pixels, label, pred, confidence, ascii=ascii, scale=scale,
                               index=index, lines=lines), layout=False)


def digit_card(pixels: np.ndarray, label: str, pred: str | None, confidence: float | None,
               *, ascii: bool, scale: int, index: int, lines: int = 1) -> Group:
    """A digit drawn in the terminal over its caption: ✓/✗, true → predicted,
    confidence (right and wrong told apart by more than colour). ``lines=2``: the true
    class on the first line, the prediction on the second (``✓ Ankle boot`` /
    ``→ Ankle boot 97%``), so that long class names fit a half-size card."""
    if lines == 2:
        first, second = Text(no_wrap=True), Text(no_wrap=True)
        if pred is None:
            first.append(f"#{index} true {label}")
        else:
            ok = pred == label
            first.append("✓ " if ok else "✗ ", "bold green" if ok else "bold red")
            first.append(label, "bold")
            second.append("→ ")
            second.append(pred, "bold" if ok else "bold red")
            second.append(f" {confidence * 100:.0f}%", "dim")
        return Group(render(pixels, ascii=ascii, scale=scale), first, second)
    caption = Text(no_wrap=True, overflow="ellipsis")
    if pred is None:
        caption.append(f"#{index} true {label}")
    else:
        ok = pred == label
        caption.append("✓ " if ok else "✗ ", "bold green" if ok else "bold red")
        caption.append(f"{label}", "bold")
        caption.append(" → " if scale == 1 else ">")
        caption.append(f"{pred}", "bold" if ok else "bold red")
        caption.append(f" ({confidence * 100:.0f}%)" if scale == 1 else f" {confidence * 100:.0f}%",
                       "dim")
    caption.truncate(CARD_WIDTH - 2 if scale == 1 else COMPACT_WIDTH - 2, overflow="ellipsis")
    return Group(render(pixels, ascii=ascii, scale=scale), caption)


class DigitGallery(Container):
    """As many half-size cards as the pane holds, in rows; the app gives it the
    indices to show."""

    # A top border: the title (what is shown, which page) on the row the cards leave free.
    DEFAULT_CSS = """
    DigitGallery { height: 100%; border-top: solid $primary 50%; border-title-color: $text-muted;
                   layout: grid; grid-size: 5; grid-rows: 9; }
    DigitGallery > DigitCard { height: 9; padding: 0; }
    DigitGallery > #gallery-empty { width: 1fr; content-align: center middle; color: $text-muted; }
    """

    class CapacityChanged(Message):
        """The gallery's new size holds another number of cards: show it a new page."""

    _capacity = 0
    classes_shown: Sequence[str] = tuple("0123456789")

    def compose(self):
        yield Static("digits appear once the data is loaded", id="gallery-empty")

    def on_resize(self, event: events.Resize) -> None:
        # After the layout, with the size the gallery really has (the app's resize
        # handler runs before the layout and cannot know it).
        if self.capacity() != self._capacity:
            self._capacity = self.capacity()
            self.post_message(self.CapacityChanged())

    def grid(self) -> tuple[int, int]:
        """(columns, rows) of cards the pane holds."""
        width = self.content_size.width or 90
        height = self.content_size.height or CARD_HEIGHT
        return max(1, width // card_width(self.classes_shown)), max(1, height // CARD_HEIGHT)

    def capacity(self) -> int:
        cols, rows = self.grid()
        return cols * rows

    def show(self, images: np.ndarray, labels: Sequence[int], classes: Sequence[str],
             indices: Sequence[int], preds: Sequence[int] | None,
             confs: Sequence[float] | None, *, ascii: bool, message: str = "") -> None:
        cards = list(self.query(DigitCard))
        cols, _ = self.grid()
        width = card_width(classes)
        with self.app.batch_update():
            self.styles.grid_size_columns = cols
            while len(cards) < len(indices):
                card = DigitCard()
                cards.append(card)
                self.mount(card)
            for card, i in zip(cards, indices):
                if not card.display:
                    card.display = True
                if card.styles.width is None or card.styles.width.value != width:
                    card.styles.width = width
                card.show(images[i].reshape(28, 28), classes[labels[i]],
                          classes[preds[i]] if preds else None,
                          confs[i] if confs else None,
                          ascii=ascii, scale=2, index=i, lines=2)
            for card in cards[len(indices):]:
                card.display = False
            empty = self.query_one("#gallery-empty", Static)
            empty.display = not indices
            if message:
                empty.update(message)
