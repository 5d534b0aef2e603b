"""The drawing canvas: a square of pixels drawn with half blocks (two pixels a cell,
one above the other), as big as the widget allows, in a frame.

Mouse: press and drag paints; the right button, or shift, erases. Keyboard, for
terminals without mouse reporting: the arrows move a visible cursor (it starts at the
centre), space paints at it, p holds the pen down (moving paints) until p again, x
erases at it, c clears. Every change posts ``DrawingCanvas.Changed`` (queued ones merge).
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from core.drawing import brush_radius, resize, stamp, stroke
from tui.render.segments import UPPER_HALF

MAX_SIDE = 84  # pixels: three times MNIST's; larger only makes keyboard drawing slow
MIN_SIDE = 8
LEVELS = 32  # grey levels shown (fewer styles, same look)


def _quantise(values: np.ndarray) -> np.ndarray:
    step = 256 // LEVELS
    return (np.clip(values * 255, 0, 255).astype(np.int32) // step * step + step // 2)


_STYLES: dict[tuple[int, int], Style] = {}


def _cell_style(top: int, bottom: int) -> Style:
    s = _STYLES.get((top, bottom))
    if s is None:
        s = _STYLES[top, bottom] = Style(color=Color.from_rgb(top, top, top),
                                         bgcolor=Color.from_rgb(bottom, bottom, bottom))
    return s


class DrawingCanvas(Widget, can_focus=True):
    DEFAULT_CSS = """
    DrawingCanvas { width: 1fr; height: 1fr; min-width: 12; min-height: 6; }
    DrawingCanvas > .drawingcanvas--frame { color: $foreground-darken-3; }
    DrawingCanvas:focus > .drawingcanvas--frame { color: $accent; }
    DrawingCanvas > .drawingcanvas--cursor { color: $warning; text-style: bold; }
    DrawingCanvas > .drawingcanvas--pen { color: $error; text-style: bold; }
    """
    COMPONENT_CLASSES = {"drawingcanvas--frame", "drawingcanvas--cursor", "drawingcanvas--pen"}
    BINDINGS = [
        Binding("up", "move(0, -1)", "move", key_display="↑↓←→"),
        Binding("down", "move(0, 1)", "move", show=False),
        Binding("left", "move(-1, 0)", "move", show=False),
        Binding("right", "move(1, 0)", "move", show=False),
        Binding("space", "paint", "paint"),
        Binding("p", "pen", "pen"),
        Binding("x", "erase", "erase"),
        Binding("c", "clear", "clear"),
    ]

    class Changed(Message):
        """The drawing changed; ``canvas.pixels`` holds it."""

        def __init__(self, canvas: DrawingCanvas) -> None:
            super().__init__()
            self.canvas = canvas

        @property
        def control(self) -> DrawingCanvas:
            return self.canvas

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, DrawingCanvas.Changed) and message.canvas is self.canvas

    def __init__(self, *, side: int = 56, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.pixels = np.zeros((side, side), dtype=np.float32)
        self.cursor = (side // 2, side // 4)  # (column, row) of cells: the centre
        self.pen_down = False
        self._drag: str | None = None  # "paint" or "erase" while a mouse button is held
        self._last: tuple[float, float] | None = None

    # ------------------------------------------------------------------ geometry
    @property
    def side(self) -> int:
        return self.pixels.shape[0]

    @property
    def radius(self) -> float:
        return brush_radius(self.side)

    def fitting_side(self, size: Size) -> int:
        """The largest even side (pixels) whose square, framed, fits in ``size`` cells."""
        side = min(size.width - 2, 2 * (size.height - 2), MAX_SIDE)
        return max(MIN_SIDE, side - side % 2)

    def _origin(self) -> tuple[int, int]:
        """(x, y) of the frame's top-left corner: the square is centred in the widget."""
        w, h = self.size
        return max(0, (w - self.side - 2) // 2), max(0, (h - self.side // 2 - 2) // 2)

    def on_resize(self, event: events.Resize) -> None:
        side = self.fitting_side(event.size)
        if side != self.side:
            self._set_side(side)

    def _set_side(self, side: int) -> None:
        """Resample the drawing (it keeps its shape) and the cursor to a new size."""
        old = self.side
        if self.pixels.any():
            self.pixels = np.clip(resize(self.pixels, side, side), 0, 1).astype(np.float32)
        else:
            self.pixels = np.zeros((side, side), dtype=np.float32)
        col, row = self.cursor
        self.cursor = (min(side - 1, col * side // old), min(side // 2 - 1, row * side // old))
        if self.pixels.any():
            self._changed()
        else:
            self.refresh()

    # ------------------------------------------------------------------ drawing
    def _cursor_point(self) -> tuple[float, float]:
        col, row = self.cursor
        return 2 * row + 1.0, col + 0.5  # the middle of the cell, in pixels

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.Changed(self))

    def set_pixels(self, pixels: np.ndarray) -> None:
        """Replace the drawing (values 0 to 1, the canvas's shape)."""
        pixels = np.asarray(pixels, dtype=np.float32)
        if pixels.shape != self.pixels.shape:
            raise ValueError(f"the canvas is {self.pixels.shape}, not {pixels.shape}")
        self.pixels = np.clip(pixels, 0, 1)
        self._changed()

    def clear(self) -> None:
        self.pixels[:] = 0
        self._changed()

    def action_move(self, dx: int, dy: int) -> None:
        col, row = self.cursor
        new = (min(max(col + dx, 0), self.side - 1), min(max(row + dy, 0), self.side // 2 - 1))
        if new == self.cursor:
            return
        start = self._cursor_point()
        self.cursor = new
        if self.pen_down:
            stroke(self.pixels, start, self._cursor_point(), self.radius)
            self._changed()
        else:
            self.refresh()

    def action_paint(self) -> None:
        stamp(self.pixels, *self._cursor_point(), self.radius)
        self._changed()

    def action_erase(self) -> None:
        stamp(self.pixels, *self._cursor_point(), self.radius, erase=True)
        self._changed()

    def action_pen(self) -> None:
        self.pen_down = not self.pen_down
        if self.pen_down:
            self.action_paint()
        else:
            self.refresh()

    def action_clear(self) -> None:
        self.clear()

    # ------------------------------------------------------------------ mouse
    def _cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The canvas cell (column, row) under widget offset (x, y); None off the square."""
        ox, oy = self._origin()
        col, row = x - ox - 1, y - oy - 1
        if 0 <= col < self.side and 0 <= row < self.side // 2:
            return col, row
        return None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        cell = self._cell_at(event.x, event.y)
        if cell is None:
            return
        self._drag = "erase" if event.button == 3 or event.shift else "paint"
        self.capture_mouse()
        self.cursor = cell
        self._last = self._cursor_point()
        stamp(self.pixels, *self._last, self.radius, erase=self._drag == "erase")
        self._changed()
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag is None or self._last is None:
            return
        ox, oy = self._origin()
        point = (2 * (event.y - oy - 1) + 1.0, event.x - ox - 1 + 0.5)
        if point == self._last:
            return
        stroke(self.pixels, self._last, point, self.radius, erase=self._drag == "erase")
        self._last = point
        cell = self._cell_at(event.x, event.y)
        if cell is not None:
            self.cursor = cell
        self._changed()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag is not None:
            self._drag, self._last = None, None
            self.release_mouse()

    # ------------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        ox, oy = self._origin()
        side, rows = self.side, self.side // 2
        row = y - oy
        if not 0 <= row < rows + 2:
            return Strip.blank(width, self.rich_style)
        frame = self.get_component_rich_style("drawingcanvas--frame")
        pad = Segment(" " * ox, self.rich_style)
        right = Segment(" " * max(0, width - ox - side - 2), self.rich_style)
        if row == 0 or row == rows + 1:
            left_c, right_c = ("╭", "╮") if row == 0 else ("╰", "╯")
            label = " pen down " if row == 0 and self.pen_down else ""
            line = "─" * (side - len(label) - 1) + label + "─" if label else "─" * side
            segments = [pad, Segment(left_c + line + right_c, frame), right]
            return Strip(segments).crop(0, width)
        r = row - 1
        q = _quantise(self.pixels[2 * r: 2 * r + 2])
        top, bottom = q[0].tolist(), q[1].tolist()
        segments = [pad, Segment("│", frame)]
        col_c, row_c = self.cursor
        run_style, run = None, 0
        for c in range(side):
            if r == row_c and c == col_c:
                if run:
                    segments.append(Segment(UPPER_HALF * run, run_style))
                    run_style, run = None, 0
                cursor = self.get_component_rich_style(
                    "drawingcanvas--pen" if self.pen_down else "drawingcanvas--cursor")
                grey = Color.from_rgb(bottom[c], bottom[c], bottom[c])
                segments.append(Segment("●" if self.pen_down else "+",
                                        cursor + Style(bgcolor=grey)))
                continue
            style = _cell_style(top[c], bottom[c])
            if style is not run_style and run:
                segments.append(Segment(UPPER_HALF * run, run_style))
                run = 0
            run_style, run = style, run + 1
        if run:
            segments.append(Segment(UPPER_HALF * run, run_style))
        segments += [Segment("│", frame), right]
        return Strip(segments).crop(0, width)
