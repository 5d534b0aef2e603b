"""Current hyperparameters, and edits waiting to take effect."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from core import config as cfg
from core.config import Hyperparameters
from core.config import show_value

__all__ = ["HparamsPane", "show_value"]


NARROW, WIDE = 30, 48  # the pane's width, and while edits wait (name, value → new (when))


class HparamsPane(Static):
    DEFAULT_CSS = """
    HparamsPane { width: 30; border: round $primary 50%; border-title-color: $text-muted;
                  padding: 0 1; height: 100%; }
    """

    def on_mount(self) -> None:
        self.border_title = "hyperparameters (e)"

    def show(self, hp: Hyperparameters, pending: dict[str, Any], *, ended: bool = False,
             waiting: str | None = None) -> None:
        """``ended``: no run in progress, so every waiting edit waits for a restart.
        ``waiting``: no values yet (``watch`` before its run has started): what it waits for."""
        if waiting is not None:
            self.update(Text(waiting, style="dim italic"))
            return
        # The names are never cut (test_batch_size was "test_batch_…" beside a waiting
        # edit): the pane widens while edits wait, and a long value folds.
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim", no_wrap=True, min_width=max(map(len, cfg.FIELD_NAMES)))
        table.add_column(overflow="fold")
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
        self.styles.width = WIDE if pending else NARROW
        self.update(table)
