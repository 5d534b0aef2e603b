"""Progress of the epoch, the whole run, and a download while it runs. (The app writes
speed and ETA in the detail text, from the engine's own rate.)"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar


class ProgressRow(Horizontal):
    DEFAULT_CSS = """
    ProgressRow { height: 1; }
    ProgressRow > .title { width: 14; }
    ProgressRow > ProgressBar { width: auto; }
    ProgressRow > .detail { width: 1fr; padding-left: 1; color: $text-muted; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = title

    def compose(self) -> ComposeResult:
        yield Label(self._title, classes="title")
        yield ProgressBar(total=None, show_eta=False)
        yield Label("", classes="detail")

    def set(self, title: str, done: float, total: float | None, detail: str = "") -> None:
        self.query_one(".title", Label).update(title)
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=done)
        self.query_one(".detail", Label).update(detail)


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
