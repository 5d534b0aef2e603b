"""Test digits with their label, the current prediction and its confidence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group
from rich.text import Text
from textual import events
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from tui.render.digits import render

CARD_WIDTH = 30  # 28 cells + a margin
COMPACT_WIDTH = 16  # 14 cells + a margin


class DigitCard(Static):
    DEFAULT_CSS = """
    DigitCard { width: 30; height: 15; padding: 0 1; }
    """

    def show(self, pixels: np.ndarray, label: str, pred: str | None, confidence: float | None,
             *, ascii: bool, scale: int, index: int) -> None:
        # The card's size is fixed by CSS: a repaint, not a layout of the whole screen.
        self.update(digit_card(pixels, label, pred, confidence, ascii=ascii, scale=scale,
                               index=index), layout=False)


def digit_card(pixels: np.ndarray, label: str, pred: str | None, confidence: float | None,
               *, ascii: bool, scale: int, index: int) -> Group:
    """A digit drawn in the terminal over one caption line: ✓/✗, true → predicted,
    confidence (right and wrong told apart by more than colour)."""
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


class DigitGallery(Horizontal):
    """As many cards as fit; the app gives it the indices to show."""

    # A top border: the title (what is shown, which page) on the row the cards leave free.
    DEFAULT_CSS = """
    DigitGallery { height: 16; border-top: solid $primary 50%; border-title-color: $text-muted; }
    DigitGallery > DigitCard { height: 15; }
    DigitGallery.-compact { height: 9; }
    DigitGallery.-compact > DigitCard { width: 16; height: 8; }
    DigitGallery > #gallery-empty { width: 1fr; content-align: center middle; color: $text-muted; }
    """

    class CapacityChanged(Message):
        """The gallery's new size holds another number of cards: show it a new page."""

    _capacity = 0

    def compose(self):
        yield Static("digits appear once the data is loaded", id="gallery-empty")

    def on_resize(self, event: events.Resize) -> None:
        # After the layout, with the size the gallery really has (the app's resize
        # handler runs before the layout and cannot know it).
        if self.capacity() != self._capacity:
            self._capacity = self.capacity()
            self.post_message(self.CapacityChanged())

    def capacity(self) -> int:
        width = self.size.width or 120
        per = 16 if self.has_class("-compact") else CARD_WIDTH
        return max(1, width // per)

    def show(self, images: np.ndarray, labels: Sequence[int], classes: Sequence[str],
             indices: Sequence[int], preds: Sequence[int] | None,
             confs: Sequence[float] | None, *, ascii: bool, message: str = "") -> None:
        compact = self.has_class("-compact")
        cards = list(self.query(DigitCard))
        with self.app.batch_update():
            while len(cards) < len(indices):
                card = DigitCard()
                cards.append(card)
                self.mount(card)
            for card, i in zip(cards, indices):
                if not card.display:
                    card.display = True
                card.show(images[i].reshape(28, 28), classes[labels[i]],
                          classes[preds[i]] if preds else None,
                          confs[i] if confs else None,
                          ascii=ascii, scale=2 if compact else 1, index=i)
            for card in cards[len(indices):]:
                card.display = False
            empty = self.query_one("#gallery-empty", Static)
            empty.display = not indices
            if message:
                empty.update(message)
