"""One digit through the network: the digit, each hidden layer's activations as a strip
of shaded cells (one cell a unit; a convolution's: its feature maps as small images, as
many as fit), and the output's ten probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from core.events import DigitTrace
from tui.render.digits import render as render_digit
from tui.render.segments import UPPER_HALF
from tui.render.weightart import shrink

BLOCKS = "▁▂▃▄▅▆▇█"
ASCII_RAMP = " .:-=+*#%@"


def strip(values: Sequence[float], kind: str, *, ascii: bool = False) -> Text:
    """Activations as cells (full blocks, one a unit): grey level = activation (sigmoid 0..1, relu 0..max); tanh
    is diverging (blue negative, orange positive)."""
    # a diverged network's NaN is shown as 0, its infinities as the ends of the scale
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=1e300, neginf=-1e300)
    t = Text(no_wrap=False)
    if kind == "tanh":
        x = np.clip(v, -1, 1)
    else:
        top = 1.0 if kind == "sigmoid" else (float(v.max()) if len(v) and v.max() > 0 else 1.0)
        x = np.clip(v / top, 0, 1)
    if ascii:
        ramp = ASCII_RAMP
        idx = np.minimum(((np.abs(x)) * len(ramp)).astype(int), len(ramp) - 1)
        t.append("".join(ramp[i] for i in idx.tolist()))
        return t
    for val in x.tolist():
        if kind == "tanh":
            end = (255, 140, 40) if val > 0 else (66, 135, 245)
            c = tuple(round(24 + (e - 24) * abs(val)) for e in end)
        else:
            g = round(24 + 231 * val)
            c = (g, g, g)
        t.append("█", Style(color=Color.from_rgb(*c)))  # not a space: wrapping keeps it
    return t


DIGITS = tuple(str(i) for i in range(10))


def _grey(level: float) -> Color:
    g = round(24 + 231 * level)
    return Color.from_rgb(g, g, g)


def feature_maps(values: Sequence[float], shape: Sequence[int], width: int, *,
                 factor: int = 2, ascii: bool = False, gap: int = 1) -> tuple[Text, int]:
    """A convolution's feature maps (``shape`` = channels, height, width) side by side,
    each shrunk by ``factor`` and drawn in half blocks (grey: 0 to the layer's largest
    value), as many as fit in ``width`` cells. Returns the lines and how many maps."""
    c, h, w = (int(d) for d in shape)
    maps = np.asarray(values, dtype=np.float32).reshape(c, h, w)
    top = float(maps.max()) if maps.size and maps.max() > 0 else 1.0
    tiles = []
    tile_w = max(1, w // factor)
    count = max(1, min(c, (width + gap) // (tile_w + gap)))
    for k in range(count):
        m = np.clip(shrink(maps[k], factor) / top, 0, 1)
        if m.shape[0] % 2:
            m = np.vstack([m, np.zeros((1, m.shape[1]), np.float32)])
        tiles.append(m)
    t = Text(no_wrap=True, overflow="crop")
    for r in range(tiles[0].shape[0] // 2):
        if r:
            t.append("\n")
        for k, m in enumerate(tiles):
            if k:
                t.append(" " * gap)
            top_row, bottom = m[2 * r], m[2 * r + 1]
            if ascii:
                idx = np.minimum(((top_row + bottom) / 2 * len(ASCII_RAMP)).astype(int),
                                 len(ASCII_RAMP) - 1)
                t.append("".join(ASCII_RAMP[i] for i in idx.tolist()))
                continue
            for a, b in zip(top_row.tolist(), bottom.tolist()):
                t.append(UPPER_HALF, Style(color=_grey(a), bgcolor=_grey(b)))
    return t, count


def probabilities(probs: Sequence[float], label: int, *, ascii: bool = False,
                  compact: bool = False, names: Sequence[str] | None = None) -> Text:
    """Ten entries "c▇ 97%": a block as tall as the probability; the prediction in bold,
    the true class underlined. ``names``: the classes' names (Fashion-MNIST's "Ankle
    boot"), shown instead of their numbers where they are not the digits themselves."""
    blocks = "_.-:=+*#" if ascii else BLOCKS
    probs = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0).clip(0.0, 1.0).tolist()
    pred = int(np.argmax(probs)) if len(probs) else -1
    t = Text(no_wrap=False)
    for c, p in enumerate(probs):
        style = ("bold green" if c == label else "bold red") if c == pred else (
            "underline yellow" if c == label else "")
        t.append(names[c] if names and c < len(names) else f"{c}", style)
        t.append(blocks[min(len(blocks) - 1, int(p * len(blocks)))], style or "cyan")
        t.append(f"{min(99, round(100 * p)):2d} " if compact else f"{100 * p:3.0f}% ", style)
    return t


class DigitTraceView(Horizontal):
    DEFAULT_CSS = """
    DigitTraceView { height: auto; }
    DigitTraceView > #trace-digit { width: auto; height: auto; margin-right: 1; }
    DigitTraceView > #trace-text { width: 1fr; height: auto; }
    """

    def __init__(self, *, ascii: bool = False, placeholder: str = "",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.placeholder = placeholder or "none yet"
        self.ascii = ascii
        self.compact = False
        self.trace: DigitTrace | None = None
        self.image: np.ndarray | None = None
        self.class_names: tuple[str, ...] = tuple(str(i) for i in range(10))

    def compose(self) -> ComposeResult:
        yield Static(id="trace-digit")
        yield Static(id="trace-text")

    def on_resize(self) -> None:
        if self.trace is not None and self.trace.shapes:
            self._draw()  # as many feature maps as the new width holds

    def show(self, trace: DigitTrace, image: np.ndarray | None = None,
             classes: Sequence[str] | None = None) -> None:
        self.trace, self.image = trace, image
        if classes:
            self.class_names = tuple(classes)
        self._draw()

    def set_compact(self, compact: bool) -> None:
        self.compact = compact
        self._draw()

    def _draw(self) -> None:
        digit = self.query_one("#trace-digit", Static)
        text = self.query_one("#trace-text", Static)
        tr = self.trace
        if tr is None:
            digit.display = False
            text.update(Text(f"One digit through the network · {self.placeholder}", "dim"))
            return
        digit.display = self.image is not None
        if self.image is not None:
            digit.update(render_digit(np.asarray(self.image).reshape(28, 28), ascii=self.ascii,
                                      scale=2 if self.compact else 1))
        names = self.class_names
        pred = int(np.argmax(tr.probs))
        head = Text.assemble(("Digit" if self.compact else "One digit through the network", "bold"))
        if tr.index >= 0:
            head.append(f" #{tr.index}" if self.compact else f" · test digit #{tr.index}")
        ok = pred == tr.label
        head.append(f"{':' if self.compact else ' ·'} predicted {names[pred]}", "bold green" if ok else "bold red")
        head.append(f" ({100 * tr.probs[pred]:.0f}%)")
        if tr.label >= 0:
            head.append(f", true {names[tr.label]}")
        shapes = tr.shapes or tuple((len(a),) for a in tr.activations)
        digit_w = 0 if self.image is None else (14 if self.compact else 28) + 1
        room = max(20, (self.size.width or 80) - digit_w)
        if len(head) > room:  # narrow (60x20): the short form, on one line
            head = Text(f"#{tr.index} " if tr.index >= 0 else "", "bold")
            head.append(f"{names[pred]} {100 * tr.probs[pred]:.0f}%", "bold green" if ok else "bold red")
            head.append(" ✓" if ok else (f" ✗ true {names[tr.label]}" if tr.label >= 0 else ""))
        parts = [head]
        for name, kind, acts, shape in zip(tr.names, tr.kinds, tr.activations, shapes):
            if len(shape) == 3:  # a convolution's feature maps
                if self.compact:  # no heading line: the channel count in front, as strips
                    maps, shown = feature_maps(acts, shape, room - 4, factor=4, ascii=self.ascii)
                    rows = maps.split("\n")
                    parts.extend(Text.assemble(f"{shape[0]:>3} " if i == 0 else "    ", row)
                                 for i, row in enumerate(rows))
                    continue
                maps, shown = feature_maps(acts, shape, room, factor=2, ascii=self.ascii)
                parts.append(Text(f"{name} ({shape[0]} maps {shape[1]}x{shape[2]} {kind}"
                                  f"{f', first {shown}' if shown < shape[0] else ''})", "bold"))
                parts.append(maps)
                continue
            line = Text(f"{name} ({len(acts)} {kind}) ", "bold" if not self.compact else "")
            if self.compact:
                line = Text(f"{len(acts):>3} ")
            line.append_text(strip(acts, kind, ascii=self.ascii))
            parts.append(line)
        out = Text("output ", "bold")
        out.append_text(probabilities(tr.probs, tr.label, ascii=self.ascii, compact=self.compact,
                                      names=names if tuple(names) != DIGITS else None))
        parts.append(out)
        text.update(Text("\n").join(parts))
