"""Drawing first-layer weights as terminal text: pure functions, no widget.

Each unit of the first layer has one weight per input pixel: reshaped to 28x28 it is a
picture of what the unit looks for (a CNN's first convolution: each 3x3 filter,
magnified). A diverging palette shows the sign: blue for
negative weights, dark for zero, orange for positive, on a symmetric scale (the tile's
own largest |w|, or one scale shared by every tile). Half blocks as in tui/render/digits.py:
each cell is two pixels, 28x28 weights fill 28x14 cells (14x7 at half size). The ASCII
ramp marks the sign with different characters.
"""

from __future__ import annotations

import math

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from tui.render.segments import SegmentLines, half_block_line

LEVELS = 8  # per side: 17 colours from -8 to +8
NEGATIVE = (66, 135, 245)
ZERO = (24, 24, 24)
POSITIVE = (255, 140, 40)
#: -3 .. +3: strongly negative "=", zero " ", strongly positive "#"
ASCII_RAMP = "=-, .+#"
LABEL = Style(color="grey70")

_STYLES: dict[tuple[int, int], Style] = {}


def colour(level: int) -> Color:
    """The palette colour of ``level`` in -LEVELS..LEVELS."""
    end = POSITIVE if level > 0 else NEGATIVE
    t = abs(level) / LEVELS
    return Color.from_rgb(*(round(z + (e - z) * t) for z, e in zip(ZERO, end)))


def _style(top: int, bottom: int) -> Style:
    s = _STYLES.get((top, bottom))
    if s is None:
        s = _STYLES[(top, bottom)] = Style(color=colour(top), bgcolor=colour(bottom))
    return s


def shrink(w: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks of a float array (28x28 -> 14x14)."""
    if factor <= 1:
        return np.asarray(w, dtype=np.float32)
    h, wd = w.shape
    p = np.asarray(w, dtype=np.float32)[: h - h % factor, : wd - wd % factor]
    return p.reshape(h // factor, factor, wd // factor, factor).mean(axis=(1, 3))


def levels(w: np.ndarray, scale: float, n: int = LEVELS) -> np.ndarray:
    """Weights as integer levels in -n..n on the symmetric scale ±``scale``. A weight
    with no level (NaN, or infinite on an infinite scale: a diverged run) is level 0."""
    if not scale > 0:
        return np.zeros(np.shape(w), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        x = np.asarray(w, dtype=np.float64) / scale * n
    return np.clip(np.rint(np.nan_to_num(x, nan=0.0)), -n, n).astype(np.int64)


def scales(weights: np.ndarray, shared: bool) -> np.ndarray:
    """Each unit's scale: its own largest |w|, or the largest over all units."""
    m = np.abs(np.asarray(weights, dtype=np.float32)).max(axis=1) if len(weights) else np.zeros(0)
    return np.full_like(m, m.max() if len(m) else 0.0) if shared else m


def side_of(inputs: int) -> int:
    """The side of a unit's square tile: 28 for a first Linear layer's 784 weights, 3
    for a 3x3 convolution filter's 9."""
    return max(1, math.isqrt(inputs))


def tile_pixels(side: int, zoom: int) -> int:
    """A tile's side in pixels: a 28x28 unit at full size, halved at half size (``zoom``
    2); a small filter (3x3) magnified to 12 pixels (6 at half size)."""
    if side >= 28:
        return side // zoom
    return side * max(1, (12 // zoom) // side)


def tile_image(w: np.ndarray, zoom: int) -> np.ndarray:
    """A unit's square weight image at its tile's size: shrunk or magnified."""
    side = w.shape[0]
    if side >= 28:
        return shrink(w, zoom)
    k = tile_pixels(side, zoom) // side
    return np.kron(np.asarray(w, dtype=np.float32), np.ones((k, k), np.float32))


def tile_size(zoom: int, side: int = 28) -> tuple[int, int]:
    """(width, height) in cells of one tile, its label line included."""
    px = tile_pixels(side, zoom)
    return px, (px + 1) // 2 + 1


def tile_lines(w: np.ndarray, scale: float, *, ascii: bool = False) -> list[list[Segment]]:
    """A square weight image (28x28 or 14x14) as lines of cells (two pixel rows each)."""
    p = np.asarray(w, dtype=np.float32)
    if p.shape[0] % 2:
        p = np.vstack([p, np.zeros((1, p.shape[1]), np.float32)])
    if ascii:
        half = len(ASCII_RAMP) // 2
        q = levels((p[0::2] + p[1::2]) / 2, scale, half) + half
        return [[Segment("".join(ASCII_RAMP[i] for i in row.tolist()))] for row in q]
    q = levels(p, scale)
    out: list[list[Segment]] = []
    for r in range(q.shape[0] // 2):
        out.append(half_block_line(q[2 * r].tolist(), q[2 * r + 1].tolist(), _style))
    return out


def fit(width: int, height: int, zoom: int, gap: int = 1, side: int = 28) -> tuple[int, int]:
    """How many tiles (columns, rows) fit in ``width`` x ``height`` cells (at least 1x1)."""
    tw, th = tile_size(zoom, side)
    return max(1, (width + gap) // (tw + gap)), max(1, height // th)


def page(weights: np.ndarray, start: int, cols: int, rows: int, *, shared: bool = False,
         ascii: bool = False, zoom: int = 1, gap: int = 1) -> SegmentLines:
    """Units ``start`` .. ``start + cols*rows - 1`` of ``weights`` (units x 784, or
    filters x 9) as a grid of labelled tiles: "#unit" and the tile's scale above each."""
    weights = np.asarray(weights, dtype=np.float32)
    sc = scales(weights, shared)
    side = side_of(weights.shape[1])
    tw, _ = tile_size(zoom, side)
    lines: list[list[Segment]] = []
    units = list(range(start, min(start + cols * rows, len(weights))))
    for r in range(0, len(units), cols):
        row = units[r:r + cols]
        label: list[Segment] = []
        tiles = []
        for k, u in enumerate(row):
            text = f"#{u + 1}" if zoom > 1 or tw < 12 else f"#{u + 1} ±{sc[u]:.2f}"
            label.append(Segment(text[:tw].ljust(tw + (gap if k < len(row) - 1 else 0)), LABEL))
            tiles.append(tile_lines(tile_image(weights[u].reshape(side, side), zoom),
                                    float(sc[u]), ascii=ascii))
        lines.append(label)
        for i in range(len(tiles[0])):
            line: list[Segment] = []
            for k, t in enumerate(tiles):
                if k:
                    line.append(Segment(" " * gap))
                line.extend(t[i])
            lines.append(line)
    return SegmentLines(lines)


def legend(*, ascii: bool = False) -> list[Segment]:
    """The palette, negative to positive, as a short key."""
    if ascii:
        return [Segment(f"negative {ASCII_RAMP[:3]!r} zero {ASCII_RAMP[3]!r} positive {ASCII_RAMP[4:]!r}")]
    segs = [Segment("− ")]
    segs += [Segment(" ", Style(bgcolor=colour(v))) for v in range(-LEVELS, LEVELS + 1, 2)]
    segs.append(Segment(" +"))
    return segs
