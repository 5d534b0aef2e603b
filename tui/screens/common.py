"""Helpers every screen shares (no screen imported here: no cycle)."""

from __future__ import annotations

from core.events import TestEnd


def size_classes(width: int, height: int) -> tuple[bool, bool]:
    """(compact, tiny) for a terminal of this size (see app.tcss)."""
    return width < 100 or height < 34, width < 60 or height < 20


def is_compact(size) -> bool:
    """Under 100x34: the compact layout (``size``: a Size or (width, height))."""
    return size_classes(*size)[0]


def test_title(test: TestEnd | None) -> str:
    if test is None:
        return "no test yet"
    when = "before training" if test.epoch == 0 else f"after epoch {test.epoch}"
    return f"test {when}: {test.accuracy:.2f}% ({test.correct:,}/{test.total:,})"
