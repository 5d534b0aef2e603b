"""The header line: dataset, network, optimizer, device and state."""

from __future__ import annotations

from pathlib import PurePath

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

STATE_STYLES = {
    "starting": ("○", "dim"), "loading": ("◌", "yellow"), "downloading": ("↓", "yellow"),
    "training": ("●", "green"), "paused": ("‖", "bold yellow"), "finished": ("✓", "bold green"),
    "stopped": ("■", "yellow"), "diverged": ("✗", "bold red"), "error": ("✗", "bold red"),
    "testing": ("●", "cyan"),
}


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $primary-background; color: $text; padding: 0 1; }
    """

    dataset: reactive[str] = reactive("")
    network: reactive[str] = reactive("")
    optimizer: reactive[str] = reactive("")
    short_optimizer: reactive[str] = reactive("")  # lr and batch size only
    device: reactive[str] = reactive("")
    state: reactive[str] = reactive("starting")
    mode: reactive[str] = reactive("")  # "watching (read-only)" for `mnist-tui watch`

    def layouts(self) -> list[list[str]]:
        """The parts after the state, fullest first: narrower, the device goes, then the
        parameter count, the optimizer's name and momentum, the dataset; lr and batch
        size (the values a user edits) stay to the last."""
        net = self.network.split(" · ")[0]
        short = self.short_optimizer or self.optimizer
        return [[self.dataset, self.device, self.network, self.optimizer],
                [self.dataset, self.network, self.optimizer],
                [self.dataset, net, self.optimizer],
                [self.dataset, net, short],
                [short, self.dataset, net],
                [short, self.dataset],
                [short]]

    def modes(self) -> list[str]:
        """The mode, then shorter: watch's folder by its name alone, then "watching"
        (at 60x20 the whole path had pushed lr and batch size off the header)."""
        if not self.mode.startswith("watching "):
            return [self.mode]
        path = self.mode.removeprefix("watching ").removesuffix(" (read-only)")
        return [self.mode, f"watching {PurePath(path).name}", "watching"]

    def render(self) -> Text:
        mark, style = STATE_STYLES.get(self.state, ("?", ""))
        width = max(self.content_size.width, 1)
        t = Text()
        for mode in self.modes():
            for parts in self.layouts():
                t = Text(no_wrap=True, overflow="ellipsis")
                t.append("mnist-tui", "bold")
                t.append(" │ ", "dim")
                t.append(f"{mark} {self.state}", style)  # first: it must survive a narrow terminal
                if mode:
                    t.append(f" · {mode}", "bold yellow")
                for part in parts:
                    if part:
                        t.append(" │ ", "dim")
                        t.append(part)
                if t.cell_len <= width:
                    return t
        # Cut here, with an ellipsis: Textual's conversion of the Text drops its overflow.
        t.truncate(width, overflow="ellipsis")
        return t
