"""Helpers every screen shares (no screen imported here: no cycle)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.signal import Signal

from core.events import DigitTrace, LayerStats, TestEnd


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


class RunSignals:
    """What the views opened above the dashboard follow, as Textual signals: a view
    subscribes when it is mounted (``follow``) and is dropped when it closes; nothing is
    looked up by name. ``test``: each TestEnd; ``stats``: each LayerStats; ``weights``:
    the first layer's weights on pausing, (array, when); ``trace``: a DigitTrace with
    its image and the class names. ``layer_stats()``: the ones kept so far, for a view
    that catches up as it opens."""

    def __init__(self, owner: Any,
                 layer_stats: Callable[[], Sequence[LayerStats]] = tuple) -> None:
        self.test: Signal[TestEnd] = Signal(owner, "test")
        self.stats: Signal[LayerStats] = Signal(owner, "layer-stats")
        self.weights: Signal[tuple[Any, str]] = Signal(owner, "first-weights")
        self.trace: Signal[tuple[DigitTrace, Any, Sequence[str]]] = Signal(owner, "digit-trace")
        self.layer_stats = layer_stats


def follow(signal: Signal | None, view: Any, callback: Callable[[Any], None]) -> None:
    """``view`` hears ``signal`` (``None``: a view opened on its own, which follows
    nothing) at once, in the order the events came, until it closes."""
    if signal is not None:
        signal.subscribe(view, callback, immediate=True)
