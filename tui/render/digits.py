"""Drawing a 28x28 digit as terminal text: pure functions, no widget.

Half blocks: each cell's upper half is one pixel and its lower half the pixel below
(foreground and background colours), so 28x28 pixels fill 28x14 cells with their grey
levels kept. The ASCII ramp needs no colour and no Unicode.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from tui.render.segments import SegmentLines, half_block_line

ASCII_RAMP = " .:-=+*#%@"

# 256 cached styles per (top, bottom) would be 65k; cache lazily instead.
_STYLE_CACHE: dict[tuple[int, int], Style] = {}


def _grey(v: int) -> Color:
    return Color.from_rgb(v, v, v)


def _style(top: int, bottom: int) -> Style:
    key = (top, bottom)
    s = _STYLE_CACHE.get(key)
    if s is None:
        s = _STYLE_CACHE[key] = Style(color=_grey(top), bgcolor=_grey(bottom))
    return s


def downsample(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks (28x28 -> 14x14 for factor 2)."""
    h, w = pixels.shape
    p = pixels[: h - h % factor, : w - w % factor].astype(np.float32)
    return p.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3)).astype(np.uint8)


def _quantise(pixels: np.ndarray, levels: int = 32) -> np.ndarray:
    """Fewer distinct greys: fewer styles, same look."""
    step = 256 // levels
    return (pixels.astype(np.int32) // step * step + step // 2).clip(0, 255)


def halfblocks(pixels: np.ndarray) -> SegmentLines:
    """28x28 uint8 pixels as 14 lines of 28 half-block cells, grey levels kept; runs of
    cells with the same style share one segment."""
    p = np.asarray(pixels)
    if p.shape[0] % 2:
        p = np.vstack([p, np.zeros((1, p.shape[1]), p.dtype)])
    q = _quantise(p)
    lines: list[list[Segment]] = []
    for r in range(q.shape[0] // 2):
        lines.append(half_block_line(q[2 * r].tolist(), q[2 * r + 1].tolist(), _style))
    return SegmentLines(lines)


def ascii_art(pixels: np.ndarray, ramp: str = ASCII_RAMP) -> str:
    """28x28 pixels as 14 lines of 28 characters: each character covers two pixel rows."""
    p = np.asarray(pixels).astype(np.float32)
    if p.shape[0] % 2:
        p = np.vstack([p, np.zeros((1, p.shape[1]), np.float32)])
    pairs = (p[0::2] + p[1::2]) / 2
    idx = np.minimum((pairs / 256 * len(ramp)).astype(int), len(ramp) - 1)
    return "\n".join("".join(ramp[i] for i in row) for row in idx)


def render(pixels: np.ndarray, *, ascii: bool = False, scale: int = 1) -> Text | SegmentLines:
    """A digit as a Rich renderable: half blocks or ASCII, full size (scale 1) or halved (2)."""
    p = downsample(pixels, scale) if scale > 1 else np.asarray(pixels)
    if ascii:
        return Text(ascii_art(p), no_wrap=True, overflow="crop")
    return halfblocks(p)
