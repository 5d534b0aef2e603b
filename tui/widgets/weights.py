"""The first layer's weights: each unit as a 28x28 tile (a CNN's 3x3 filters magnified),
as many as fit, paged."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.text import Text
from textual.widget import Widget

from tui.render import weightart
from tui.render.segments import SegmentLines


class WeightTiles(Widget):
    DEFAULT_CSS = """
    WeightTiles { height: 1fr; min-height: 9; }
    """

    def __init__(self, *, ascii: bool = False, placeholder: str = "",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.placeholder = placeholder or "after the next test"  # until weights come
        self.ascii = ascii
        self.weights: np.ndarray | None = None  # units x 784 (filters x 9) float32
        self.shared = False  # one scale for every tile, or each tile its own
        self.zoom = 1        # 1: 28x14 cells a tile; 2: half size (also when 1 does not fit)
        self.start = 0       # first unit shown
        self.when = ""       # e.g. "after epoch 3"

    # ---------------------------------------------------------------- controls
    def show(self, weights: np.ndarray, when: str = "") -> None:
        w = np.asarray(weights, dtype=np.float32)
        if w.ndim != 2 or w.shape[1] < 1 or weightart.side_of(w.shape[1]) ** 2 != w.shape[1]:
            raise ValueError(f"first-layer weights must be units x a square, not {w.shape}")
        self.weights, self.when = w, when
        # a row of small filter tiles (the CNN's 3x3) needs less than a row of 28x28 ones
        self.styles.min_height = 9 if self.side >= 28 else weightart.tile_size(2, self.side)[1] + 1
        self.start = min(self.start, max(0, len(w) - 1))
        self.refresh()

    @property
    def shown_zoom(self) -> int:
        return 1 if self.zoom == 1 and self.fits(1) else 2

    def grid(self) -> tuple[int, int]:
        """(columns, rows) of tiles that fit now (one line is the heading)."""
        return weightart.fit(self.size.width, max(self.size.height - 1, 1), self.shown_zoom,
                             side=self.side)

    @property
    def side(self) -> int:
        return weightart.side_of(self.weights.shape[1]) if self.weights is not None else 28

    @property
    def per_page(self) -> int:
        c, r = self.grid()
        return c * r

    def page_by(self, pages: int) -> None:
        if self.weights is None:
            return
        n, per = len(self.weights), self.per_page
        last = (n - 1) // per * per
        self.start = max(0, min(last, (self.start // per + pages) * per))
        self.refresh()

    def toggle_scale(self) -> None:
        self.shared = not self.shared
        self.refresh()

    def fits(self, zoom: int) -> bool:
        """Whether one row of tiles of that size fits in the widget's height."""
        return weightart.tile_size(zoom, self.side)[1] + 1 <= self.size.height

    def toggle_zoom(self) -> bool:
        """Full size <-> half size; False (and nothing changes) when full size does not fit."""
        if self.shown_zoom == 2 and not self.fits(1):
            return False
        self.zoom = 2 if self.shown_zoom == 1 else 1
        self.start = self.start // self.per_page * self.per_page
        self.refresh()
        return True

    # ---------------------------------------------------------------- drawing
    def heading(self) -> Text:
        if self.weights is None:
            return Text.assemble(("First layer's weights", "bold"),
                                 f" · {self.placeholder}", no_wrap=True, overflow="ellipsis")
        n, per = len(self.weights), self.per_page
        shown_to = min(self.start + per, n)
        pages = (n + per - 1) // per
        what = "units" if self.side >= 28 else f"{self.side}x{self.side} filters"
        parts = [f"{what} {self.start + 1}-{shown_to} of {n}",
                 f"page {self.start // per + 1}/{pages}",
                 f"scale: {'shared' if self.shared else 'per tile'}", self.when]
        # Narrow: whole parts leave (the time, the scale, the page), never half of one.
        room = self.size.width or 1_000
        for gone in (3, 2, 1):
            if len(" · ".join(["First layer", *filter(None, parts)])) <= room:
                break
            parts[gone] = ""
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("First layer", "bold")
        for i, part in enumerate(parts):
            if part:
                t.append(f" · {part}", "dim" if i == 3 else "")
        return t

    def render(self):
        head = self.heading()
        head.truncate(max(self.size.width, 1), overflow="ellipsis")  # its segments, cropped
        if self.weights is None:
            return head
        cols, rows = self.grid()
        body = weightart.page(self.weights, self.start, cols, rows, shared=self.shared,
                              ascii=self.ascii, zoom=self.shown_zoom)
        key = weightart.legend(ascii=self.ascii)
        head_segs = list(head.render(self.app.console, end=""))
        width = sum(len(s.text) for s in head_segs)
        key_w = sum(len(s.text) for s in key)
        first: list[Segment] = head_segs
        if width + 2 + key_w <= self.size.width:
            first = head_segs + [Segment(" " * (self.size.width - width - key_w))] + key
        return SegmentLines([first, *body.lines])
