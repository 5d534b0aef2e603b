"""Current hyperparameters, and edits waiting to take effect."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from core import config as cfg
from core.config import Hyperparameters
from tui.viewmodel import show_value

__all__ = ["HparamsPane", "show_value"]


class HparamsPane(Static):
    DEFAULT_CSS = """
    HparamsPane { width: 30; border: round $primary 50%; border-title-color: $text-muted;
                  padding: 0 1; height: 100%; }
    """

    def on_mount(self) -> None:
        self.border_title = "hyperparameters (e)"

    def show(self, hp: Hyperparameters, pending: dict[str, Any], *, ended: bool = False) -> None:
        """``ended``: no run in progress, so every waiting edit waits for a restart."""
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim")
        table.add_column()
        shown = hp.fields_that_matter()
        for name in cfg.FIELD_NAMES:
            if name not in shown and name not in pending:
                continue
            value = Text(show_value(getattr(hp, name)))
            if name in pending:
                value.append(f" → {show_value(pending[name])}", "bold yellow")
                effect = cfg.RESTART if ended else cfg.effect_of(name)
                value.append(f" ({cfg.EFFECT_WORDS[effect]})", "yellow")
            table.add_row(name, value)
        self.update(table)
