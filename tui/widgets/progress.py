"""Progress of the epoch, the whole run, and a download while it runs.

Each row draws itself (title, bar, detail) as one strip and updates with a plain
repaint: Label updates would re-run the layout of the whole screen, ten times a second.
The app writes speed and ETA in the detail text, from the engine's own rate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.strip import Strip
from textual.widget import Widget

TITLE_WIDTH = 14
BAR_WIDTH = 32
_DONE, _FULL = Style(color="blue", bold=True), Style(color="green")
_LEFT, _DIM = Style(color="grey23"), Style(dim=True)


MIN_BAR = 6


def essential(detail: str) -> str:
    """What a row's detail keeps however narrow: its first part (the count) and its
    last when that is the ETA or the state ("ETA 0:41", "paused", "testing", "finished")."""
    parts = detail.split(" · ")
    if len(parts) > 1 and parts[-1].startswith(("ETA", "paused", "testing", "finished", "stopped",
                                                        "diverged")):
        return f"{parts[0]} · {parts[-1]}"
    return parts[0]


def fit_detail(detail: str, room: int) -> str:
    """``detail`` in ``room`` cells: its middle parts (the rate, the step) left out
    first, so that the count and the ETA stay."""
    parts = detail.split(" · ")
    while len(parts) > 2 and len(" · ".join(parts)) > room:
        del parts[-2]
    return " · ".join(parts)


def row_widths(width: int, title: str, detail: str) -> tuple[int, int]:
    """(title, bar) widths for a row ``width`` cells wide: the full 14 + 32 when they
    fit with the percentage and the detail's essential parts (the count and the ETA);
    narrower, the bar shrinks first (to MIN_BAR), then the title's padding; what still
    does not fit is cut at the end with an ellipsis."""
    count = essential(detail)
    need = 6 + (len(count) + 1 if count else 0)  # " 100%" and " 49,000/60,000 · ETA 0:41"
    title_w = TITLE_WIDTH
    bar = width - title_w - need
    if bar < MIN_BAR:
        title_w = min(TITLE_WIDTH, len(title) + 1)
        bar = width - title_w - need
    return title_w, max(MIN_BAR, min(BAR_WIDTH, bar))


def shared_widths(width: int, rows: list[tuple[str, str]]) -> tuple[int, int]:
    """One (title, bar) width for rows drawn one above the other, each row's
    ``(title, detail)``: the widest title any row needs and the narrowest bar, so that
    the bars start and end in the same columns (at 60x20 the epoch row's longer detail
    had made its bar a cell shorter than the run row's)."""
    widths = [row_widths(width, title, detail) for title, detail in rows]
    title_w = max(t for t, _ in widths)
    bars = [max(MIN_BAR, min(BAR_WIDTH, b - (title_w - t))) for t, b in widths]
    return title_w, min(bars)


class ProgressRow(Widget):
    DEFAULT_CSS = """
    ProgressRow { height: 1; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title, self.done, self.total, self.detail = title, 0.0, None, ""

    def set(self, title: str, done: float, total: float | None, detail: str = "") -> None:
        new = (title, float(done), total, detail)
        if new != (self.title, self.done, self.total, self.detail):
            self.title, self.done, self.total, self.detail = new
            self.refresh()
            if isinstance(self.parent, TrainingProgress):
                self.parent.rows_changed()

    def widths(self, width: int) -> tuple[int, int]:
        """(title, bar) widths: those shared with the rows beside it, if any."""
        own = row_widths(width, self.title, self.detail)
        if isinstance(self.parent, TrainingProgress):
            title_w, bar_w = self.parent.widths(width)
            count = essential(self.detail)
            if title_w + bar_w + 6 + (len(count) + 1 if count else 0) <= width:
                return title_w, bar_w
        return own  # (a row narrower than the others: its own widths, its text whole)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)

    def render_line(self, y: int) -> Strip:
        """The row as one strip of ready styles: no Text to convert, ten times a second."""
        width = self.size.width
        base = self.rich_style
        if y or width <= 0:
            return Strip.blank(width, base)
        title_w, bar_w = self.widths(width)
        segments = [Segment(self.title.ljust(title_w)[:title_w])]
        frac = self.fraction
        if frac is None:
            segments += [Segment("━" * bar_w, _DIM), Segment("   --%")]
        else:
            filled = int(round(frac * bar_w))
            segments += [Segment("━" * filled, _FULL if frac >= 1 else _DONE),
                         Segment("━" * (bar_w - filled), _LEFT),
                         Segment(f" {frac * 100:4.0f}%")]
        if self.detail:
            room = width - title_w - bar_w - 7
            segments.append(Segment(f" {fit_detail(self.detail, room)}", _DIM))
        strip = Strip(segments)
        if strip.cell_length > width:  # too narrow: cut with an ellipsis, as Text would
            strip = Strip([*strip.crop(0, width - 1), Segment("…", _DIM)])
        return strip.crop_extend(0, width, None).apply_style(base)

    @property
    def plain(self) -> str:
        """The row's text, as the terminal shows it."""
        return "".join(seg.text for seg in self.render_line(0)).rstrip()


class TrainingProgress(Vertical):
    _downloading: tuple[str, str] = ("", "")  # the file and URL of the latest DownloadProgress

    DEFAULT_CSS = """
    TrainingProgress { height: auto; padding: 0 1; }
    TrainingProgress #download { display: none; }
    TrainingProgress.-downloading #download { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield ProgressRow("Epoch", id="epoch")
        yield ProgressRow("Run", id="run")
        yield ProgressRow("Download", id="download")

    def row(self, name: str) -> ProgressRow:
        return self.query_one(f"#{name}", ProgressRow)

    _widths: tuple[int, tuple[int, int]] | None = None  # (width, its shared widths)

    def widths(self, width: int) -> tuple[int, int]:
        """The (title, bar) widths of every row shown, at ``width`` cells."""
        if self._widths is None or self._widths[0] != width:
            rows = [(r.title, r.detail) for r in self.query(ProgressRow) if r.display
                    and (r.id != "download" or self.has_class("-downloading"))]
            self._widths = (width, shared_widths(width, rows or [("", "")]))
        return self._widths[1]

    def rows_changed(self) -> None:
        """A row's text changed: if the shared widths change with it, every row is
        drawn again (the row itself repaints anyway)."""
        if self._widths is None:
            return
        width, before = self._widths
        self._widths = None
        if self.widths(width) != before:
            for r in self.query(ProgressRow):
                r.refresh()

    def show_download(self, ev: Any) -> bool:
        """A ``DownloadProgress``: the Download row, shown, names the mirror (before the
        file: its name outlasts a narrow terminal). True for a new file or mirror."""
        self.add_class("-downloading")
        host = urlsplit(ev.url).netloc or ev.url
        total = f"{ev.total / 1e6:.1f} MB" if ev.total else "? MB"
        self.row("download").set(f"Download {ev.file_index}/{ev.file_count}", ev.done,
                                 ev.total or None,
                                 f"{ev.done / 1e6:.1f}/{total} · {host} · {ev.filename}")
        new, self._downloading = (ev.filename, ev.url) != self._downloading, (ev.filename, ev.url)
        return new
