"""App-level messages."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class EngineEvent(Message):
    """Something the training engine emitted (a core event or a tui.engine message)."""

    def __init__(self, event: Any, generation: int = 0) -> None:
        self.event = event
        self.generation = generation  # which engine sent it (a restart starts a new one)
        super().__init__()
