"""A digit drawn by hand, made into what the network sees; and the drawings kept.

No UI and no PyTorch here (numpy only): the dashboard's process uses it and must stay
light. A canvas is a float32 array of any size, 0 (paper) to 1 (ink).

``preprocess`` does what was done to the NIST digits that became MNIST: the drawing is
cropped to its bounding box, scaled (anti-aliased: box-filter area averaging when it
shrinks, bilinear when it grows) so that its longer side is 20 pixels, keeping the
aspect ratio, and placed in a 28x28 field with its centre of mass at the field's centre.
The shift is by whole pixels, as MNIST's was: every MNIST test digit has a bounding box
whose longer side is exactly 20 and a centre of mass within half a pixel of (14, 14),
so a whole-pixel shift keeps the strokes as sharp as MNIST's.

The drawings store is ``<run_dir>/drawings/``: a pair of IDX files, as MNIST's own
(``images-idx3-ubyte``: N x 28 x 28 bytes, ``labels-idx1-ubyte``: N bytes), that
``core.datasets.MNISTDataset(images, labels)`` reads as a test set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core import safewrite
from core.errors import DatasetError
from core.idx import append_idx, read_idx

SIZE = 28  # the field
BOX = 20  # the longer side of the digit inside it
CENTRE = 14.0  # where the centre of mass goes (MNIST's, in pixel-index coordinates)
INK = 0.5 / 255  # less than this rounds to 0 in a byte: paper

DRAWINGS = "drawings"
IMAGES_FILE = "images-idx3-ubyte"
LABELS_FILE = "labels-idx1-ubyte"


# ----------------------------------------------------------------------- the brush

def brush_radius(side: int) -> float:
    """A brush for a canvas ``side`` pixels wide: a digit drawn across most of the
    canvas gets strokes about as thick, relative to its height, as MNIST's (2-3 of 20)."""
    return max(1.2, side * 0.055)


def stamp(canvas: np.ndarray, y: float, x: float, radius: float, *, erase: bool = False) -> None:
    """Press a soft round brush on ``canvas`` (in place) at ``(y, x)``, in continuous
    pixel coordinates (pixel ``i`` spans ``[i, i+1)``). Full ink within ``radius / 2``
    of the centre, fading linearly to none at ``radius``: grey edges, as pen strokes
    scanned for MNIST have. Painting keeps the darker of old and new; erasing takes
    away as much ink as painting would put there."""
    h, w = canvas.shape
    r = float(radius)
    y0, y1 = max(0, int(np.floor(y - r))), min(h, int(np.ceil(y + r)) + 1)
    x0, x1 = max(0, int(np.floor(x - r))), min(w, int(np.ceil(x + r)) + 1)
    if y0 >= y1 or x0 >= x1:
        return
    yy = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    xx = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    d = np.sqrt((yy - y) ** 2 + (xx - x) ** 2)
    soft = max(r / 2, 0.75)
    v = np.clip((r - d) / soft, 0.0, 1.0).astype(canvas.dtype)
    region = canvas[y0:y1, x0:x1]
    if erase:
        np.maximum(region - v, 0, out=region)
    else:
        np.maximum(region, v, out=region)


def stroke(canvas: np.ndarray, start: tuple[float, float], end: tuple[float, float],
           radius: float, *, erase: bool = False) -> None:
    """Stamps along the segment from ``start`` to ``end`` ((y, x) each), at most half a
    pixel apart, so a fast drag still leaves an unbroken line."""
    (ya, xa), (yb, xb) = start, end
    n = max(1, int(np.ceil(2 * max(abs(yb - ya), abs(xb - xa)))))
    for t in np.linspace(0.0, 1.0, n + 1)[1:]:
        stamp(canvas, ya + (yb - ya) * t, xa + (xb - xa) * t, radius, erase=erase)


# ------------------------------------------------------------------- resampling

def _weights(n: int, m: int) -> np.ndarray:
    """An (m, n) matrix taking n samples to m: box-filter area averaging when shrinking
    (each output pixel the mean of the input it covers, fractions weighted), bilinear
    interpolation when growing."""
    if m == n:
        return np.eye(n, dtype=np.float64)
    if m < n:
        f = m / n  # output pixel i covers input [i/f, (i+1)/f)
        lo = np.arange(m)[:, None] / f
        hi = (np.arange(m)[:, None] + 1) / f
        j = np.arange(n)[None, :]
        overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
        return overlap * f
    centres = (np.arange(m) + 0.5) * n / m - 0.5
    centres = np.clip(centres, 0, n - 1)
    left = np.floor(centres).astype(int)
    right = np.minimum(left + 1, n - 1)
    frac = centres - left
    w = np.zeros((m, n), dtype=np.float64)
    w[np.arange(m), left] += 1 - frac
    w[np.arange(m), right] += frac
    return w


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` resampled to ``height`` x ``width`` (float64), anti-aliased."""
    img = np.asarray(image, dtype=np.float64)
    return _weights(img.shape[0], height) @ img @ _weights(img.shape[1], width).T


# ----------------------------------------------------------------- preprocessing

def bounding_box(canvas: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), bottom and right exclusive, of the ink; None if none."""
    ink = np.asarray(canvas) >= INK
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def preprocess(canvas: np.ndarray) -> np.ndarray | None:
    """The 28x28 uint8 image the network is shown for a drawing, MNIST's way (see the
    module's docstring); None when nothing is drawn."""
    c = np.asarray(canvas, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"a canvas is a 2-D array, not one of shape {c.shape}")
    box = bounding_box(c)
    if box is None:
        return None
    top, bottom, left, right = box
    crop = np.where(c[top:bottom, left:right] >= INK, c[top:bottom, left:right], 0.0)
    h, w = crop.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    digit = np.clip(resize(crop, nh, nw), 0.0, 1.0)
    peak = digit.max()
    if peak <= 0:
        return None
    if peak < 250 / 255:  # faint ink (a dot shrunk, a light brush): as dark as MNIST's strokes
        digit = digit / peak
    mass = digit.sum()
    cy = (digit.sum(axis=1) * np.arange(nh)).sum() / mass
    cx = (digit.sum(axis=0) * np.arange(nw)).sum() / mass
    oy, ox = int(np.floor(CENTRE - cy + 0.5)), int(np.floor(CENTRE - cx + 0.5))
    field = np.zeros((SIZE, SIZE), dtype=np.float64)
    # the part of the digit that lands inside the field (a very lopsided one may not fit)
    fy0, fx0 = max(0, oy), max(0, ox)
    fy1, fx1 = min(SIZE, oy + nh), min(SIZE, ox + nw)
    if fy0 < fy1 and fx0 < fx1:
        field[fy0:fy1, fx0:fx1] = digit[fy0 - oy:fy1 - oy, fx0 - ox:fx1 - ox]
    return np.rint(field * 255).astype(np.uint8)


# ------------------------------------------------------------------ the drawings

def drawings_paths(run_dir: str | os.PathLike) -> tuple[Path, Path]:
    """(images, labels) of the drawings kept in ``run_dir``."""
    d = Path(run_dir) / DRAWINGS
    return d / IMAGES_FILE, d / LABELS_FILE


def count_drawings(run_dir: str | os.PathLike) -> int:
    images, labels = drawings_paths(run_dir)
    if not labels.exists():
        return 0
    return len(read_idx(labels))


def save_drawing(run_dir: str | os.PathLike, image: np.ndarray, label: int,
                 num_classes: int = 10) -> int:
    """Append a 28x28 uint8 ``image`` with its ``label`` to the drawings of ``run_dir``;
    return how many drawings it holds now. Each file is replaced atomically; should a
    crash fall between the two, the next save drops the image that has no label."""
    image = np.asarray(image)
    if image.shape != (SIZE, SIZE) or image.dtype != np.uint8:
        raise ValueError(f"a drawing is a 28x28 uint8 image, not {image.shape} {image.dtype}")
    if not 0 <= int(label) < num_classes:
        raise ValueError(f"label {label} is not a class (0 to {num_classes - 1})")
    images_path, labels_path = drawings_paths(run_dir)
    # the run folder and its drawings folder: real folders, never a link (core.safewrite)
    os.close(safewrite.open_folder(run_dir, create=True))
    os.close(safewrite.open_folder(images_path.parent, create=True))
    safewrite.refuse_unsafe(images_path.parent, (IMAGES_FILE, LABELS_FILE))
    labelled = len(read_idx(labels_path)) if labels_path.exists() else 0
    try:
        append_idx(images_path, image[None], keep=labelled)
        return append_idx(labels_path, np.array([label], dtype=np.uint8))
    except OSError as exc:
        raise DatasetError(f"{images_path.parent}: cannot save the drawing ({exc.strerror})") from None
