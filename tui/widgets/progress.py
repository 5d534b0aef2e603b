"""Progress of the epoch, the whole run, and a download while it runs.

Each row draws itself (title, bar, detail) and updates with a plain repaint: Label
updates would re-run the layout of the whole screen, ten times a second. The app writes
speed and ETA in the detail text, from the engine's own rate.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget

TITLE_WIDTH = 14
BAR_WIDTH = 32


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

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)

    def render(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(self.title.ljust(TITLE_WIDTH)[:TITLE_WIDTH])
        frac = self.fraction
        if frac is None:
            t.append("━" * BAR_WIDTH, "dim")
            t.append("   --%")
        else:
            filled = int(round(frac * BAR_WIDTH))
            t.append("━" * filled, "green" if frac >= 1 else "bold blue")
            t.append("━" * (BAR_WIDTH - filled), "grey23")
            t.append(f" {frac * 100:4.0f}%")
        if self.detail:
            t.append(f" {self.detail}", "dim")
        return t


class TrainingProgress(Vertical):
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
