"""The confusion matrix: counts in shaded cells, totals, per-class accuracy bars, and a
cell cursor (arrows move it, Enter asks for that cell's digits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from core.report import bar, class_accuracy, short_name

CORNER = "true\\pred"
BASE = (24, 24, 28)
RIGHT = (18, 120, 40)   # diagonal cells: green, deeper for a larger share of the row
WRONG = (170, 30, 30)   # off-diagonal cells: red


def _blend(to: tuple[int, int, int], amount: float) -> Color:
    a = min(max(amount, 0.0), 1.0)
    return Color.from_rgb(*(round(b + (t - b) * a) for b, t in zip(BASE, to)))


def cell_style(count: int, row_total: int, diagonal: bool) -> Style:
    """Shade by the cell's share of its row (square root, so a few errors still show)."""
    if count == 0 or row_total == 0:
        return Style(color="grey42")
    share = (count / row_total) ** 0.5
    return Style(color="white", bgcolor=_blend(RIGHT if diagonal else WRONG, 0.25 + 0.75 * share))


def row_labels(classes: Sequence[str], width: int) -> list[str]:
    return [str(i) if c == str(i) else f"{i} {short_name(c, width - 2)}" for i, c in enumerate(classes)]


class Layout(NamedTuple):
    """How the matrix is laid out at a width (ConfusionMatrix._geometry)."""

    label_w: int
    cell_w: int
    bar_w: int
    names: list[str]
    corner: str
    bottom: str  # the column totals' label
    brackets: bool  # around the cursor's cell
    totals: bool  # the row totals' column

    def width(self, n: int) -> int:
        return (self.label_w + n * self.cell_w + (self.cell_w + 1 if self.totals else 0)
                + self.gap + self.bar_w + 6)

    @property
    def gap(self) -> int:
        """A space before the accuracy, unless the last cell's own trailing one serves."""
        return 1 if self.totals or self.brackets else 0


class ConfusionMatrix(Widget, can_focus=True):
    DEFAULT_CSS = """
    ConfusionMatrix { height: auto; width: auto; }
    """
    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("enter", "select", "Show digits"),
    ]

    cursor: reactive[tuple[int, int]] = reactive((0, 0))

    class Selected(Message):
        """Enter on a cell: show the test digits of class ``true`` predicted as ``pred``."""

        def __init__(self, true: int, pred: int) -> None:
            super().__init__()
            self.true, self.pred = true, pred

    class Moved(Message):
        def __init__(self, true: int, pred: int) -> None:
            super().__init__()
            self.true, self.pred = true, pred

    def __init__(self, *, compact: bool = False, ascii: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.confusion: tuple[tuple[int, ...], ...] = ()
        self.class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
        self.compact = compact
        self.ascii = ascii

    def show(self, confusion: Sequence[Sequence[int]], classes: Sequence[str]) -> None:
        self.confusion = tuple(tuple(r) for r in confusion)
        self.class_names = tuple(classes)
        self.refresh(layout=True)

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            self.refresh(layout=True)

    # -------------------------------------------------------------- geometry
    _room = 1_000  # the width it may take (its container's), from the last layout

    def _geometry(self) -> Layout:
        """The first layout that fits the room it has. Narrower, in turn: a shorter
        bar; the class index alone for a label, not a name cut short (the line under the matrix
        names the cell's classes); no bar; no brackets around the cursor's cell (it
        stays in reverse); no row totals (the accuracy stays). Never a column cut off."""
        n = len(self.confusion) or 10
        biggest = len(str(max((sum(r) for r in self.confusion), default=0)))
        whole = max(len(c) for c in self.class_names) + 2  # "0 T-shirt/top": names whole
        layouts = [(whole, 20, True, True), (whole, 4, True, True), (0, 4, True, True),
                   (0, 0, True, True), (0, 0, False, True), (0, 0, False, False)]
        if self.compact:
            layouts = layouts[1:]
        for name_w, bar_w, brackets, totals in layouts:
            names = (row_labels(self.class_names, name_w) if name_w
                     else [str(i) for i in range(len(self.class_names))])
            corner = CORNER if name_w else ("t\\p" if totals else "")
            bottom = "total" if totals else "Σ"
            label_w = max(len(corner), len(bottom), *(len(s) for s in names)) + 1
            cell_w = max(5 if name_w else 4, biggest + (2 if brackets else 1))
            layout = Layout(label_w, cell_w, bar_w, names, corner, bottom, brackets, totals)
            if layout.width(n) <= self._room:
                break
        return layout

    def get_content_width(self, container, viewport) -> int:
        self._room = container.width or self._room
        return self._geometry().width(len(self.confusion) or 10)

    def get_content_height(self, container, viewport, width) -> int:
        return (len(self.confusion) or 10) + 2

    # -------------------------------------------------------------- drawing
    def render(self) -> Text:
        if not self.confusion:
            return Text("The confusion matrix appears after the first test.", style="dim")
        g = self._geometry()
        label_w, cell_w, bar_w, names, corner, brackets = (g.label_w, g.cell_w, g.bar_w, g.names,
                                                           g.corner, g.brackets)
        n = len(self.confusion)
        ct, cp = self.cursor
        out = Text(no_wrap=True, overflow="crop")
        out.append(corner.ljust(label_w), "dim")
        for p in range(n):
            out.append(f"{p:>{cell_w}}", "bold reverse" if p == cp else "bold")
        if g.totals:
            out.append(f"{'total' if cell_w >= 5 else 'sum':>{cell_w + 1}}", "dim")
        out.append(" " * g.gap)
        head = "accuracy" if bar_w + 6 >= 8 else "acc." if g.gap else " acc."
        out.append(head.ljust(bar_w + 6), "dim")
        accs = class_accuracy([self.confusion[i][i] for i in range(n)],
                              [sum(r) for r in self.confusion])
        for t, row in enumerate(self.confusion):
            out.append("\n")
            out.append(names[t].ljust(label_w), "bold reverse" if t == ct else "bold")
            total = sum(row)
            for p, count in enumerate(row):
                text = f"{count:>{cell_w - 1}} " if count else f"{'·':>{cell_w - 1}} "
                style = cell_style(count, total, t == p)
                if (t, p) == (ct, cp):
                    style = Style(bold=True, reverse=True, color="white", bgcolor="black")
                    if brackets:
                        text = f"[{count:>{cell_w - 2}}]" if count else f"[{'·':>{cell_w - 2}}]"
                out.append(text, style)
            if g.totals:
                out.append(f"{total:>{cell_w + 1}}", "dim")
            out.append(" " * g.gap)
            acc = accs[t]
            if bar_w:
                out.append(bar((acc or 0) / 100, bar_w, ascii=self.ascii),
                           "green" if (acc or 0) >= 90 else "yellow" if (acc or 0) >= 70 else "red")
            out.append("    -" if acc is None else f"{acc:5.1f}%")
        out.append("\n")
        out.append(g.bottom.ljust(label_w), "dim")
        cols = [sum(self.confusion[t][p] for t in range(n)) for p in range(n)]
        for c in cols:
            out.append(f"{c:>{cell_w}}", "dim")
        if g.totals:
            out.append(f"{sum(cols):>{cell_w + 1}}", "dim")
        return out

    # -------------------------------------------------------------- keys
    def watch_cursor(self) -> None:
        self.post_message(self.Moved(*self.cursor))

    def action_move(self, dt: int, dp: int) -> None:
        n = len(self.confusion) or 10
        t, p = self.cursor
        self.cursor = ((t + dt) % n, (p + dp) % n)

    def action_select(self) -> None:
        if self.confusion:
            self.post_message(self.Selected(*self.cursor))
