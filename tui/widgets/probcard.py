"""A hard test example: the digit, its caption and a bar chart of its 10 softmax
probabilities (t marks the true class, p the prediction: not only colour)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.events import Prediction
from core.report import bar, short_name
from tui.render.digits import render


def name_width(classes: Sequence[str], scale: int) -> int:
    """Room for the longest class name, whole (Fashion-MNIST's "T-shirt/top": 11): cut
    to 7, "T-shir." and "Ankle ." read as broken words. A small card makes room with a
    shorter bar instead (bar_width)."""
    return min(max(len(c) for c in classes), 12)


def card_size(classes: Sequence[str], scale: int) -> tuple[int, int]:
    """(width, height) in cells of a card: digit + bars side by side, caption below."""
    digit_w, digit_h = (14, 7) if scale > 1 else (28, 14)
    bars_w = 3 + name_width(classes, scale) + 1 + bar_width(scale, classes) + 5
    return digit_w + 1 + bars_w + 1, max(digit_h, len(classes)) + (1 if scale > 1 else 2)


def bar_width(scale: int, classes: Sequence[str] = ()) -> int:
    if scale > 1:
        return 8 if name_width(classes or ("0",), scale) <= 7 else 5
    return 12


def prob_bars(pred: Prediction, classes: Sequence[str], *, scale: int, ascii: bool) -> Text:
    w = name_width(classes, scale)
    bw = bar_width(scale, classes)
    out = Text(no_wrap=True, overflow="crop")
    for c, p in enumerate(pred.probs):
        if c:
            out.append("\n")
        mark = ("t" if c == pred.label else " ") + ("p" if c == pred.pred else " ") + " "
        if c == pred.label and c == pred.pred:
            style = "bold green"
        elif c == pred.label:
            style = "bold yellow"
        elif c == pred.pred:
            style = "bold red"
        else:
            style = "dim"
        out.append(mark, style)
        out.append(f"{short_name(classes[c], w):<{w}} ", style if c in (pred.label, pred.pred) else "")
        out.append(bar(p, bw, ascii=ascii), style if style != "dim" else "grey50")
        out.append(f"{p * 100:4.0f}%", style)
    return out


def prob_card(pixels: np.ndarray, pred: Prediction, classes: Sequence[str], *, ascii: bool,
              scale: int, rank: int) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_row(render(pixels, ascii=ascii, scale=scale),
                 prob_bars(pred, classes, scale=scale, ascii=ascii))
    caption = Text(no_wrap=True, overflow="ellipsis")
    caption.append(f"{rank}. ", "dim")
    caption.append("✓ " if pred.correct else "✗ ", "bold green" if pred.correct else "bold red")
    caption.append(f"{classes[pred.label]}", "bold")
    caption.append(" → " if scale == 1 else "→")
    caption.append(f"{classes[pred.pred]}", "bold" if pred.correct else "bold red")
    if scale == 1:
        caption.append(f" {pred.confidence * 100:.0f}% · loss {pred.loss:.2f} · #{pred.index}", "dim")
    else:
        caption.append(f" {pred.confidence * 100:.0f}% · loss {pred.loss:.1f}", "dim")
    return Group(grid, caption)
