"""Lines of ready-made Rich segments: a renderable Textual draws without converting.

A Rich Text of many spans goes through Textual's Text -> Content conversion on every
draw: a 392-cell digit took 5-15 ms, a plotext canvas ~8 ms of its ~18. Built once as
segments (runs of one style sharing a segment), they cost a fraction of that.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment


UPPER_HALF = "\u2580"  # ▀: foreground the upper pixel, background the lower one


def half_block_line(top, bottom, style_of) -> list[Segment]:
    """One line of half-block cells from two rows of levels (``style_of(top, bottom)``
    gives each cell's style); a run of cells of the same style is one segment."""
    line: list[Segment] = []
    run_style, run = None, 0
    for t, b in zip(top, bottom):
        style = style_of(t, b)
        if style is not run_style and run:
            line.append(Segment(UPPER_HALF * run, run_style))
            run = 0
        run_style, run = style, run + 1
    if run:
        line.append(Segment(UPPER_HALF * run, run_style))
    return line


class SegmentLines:
    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines
        self.width = max((sum(cell_len(seg.text) for seg in line) for line in lines), default=0)

    @property
    def plain(self) -> str:
        return "\n".join("".join(seg.text for seg in line) for line in self.lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        newline = Segment.line()
        for line in self.lines:  # each line ends in a newline, as a Text's does
            yield from line
            yield newline

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)
