"""One Textual message per kind of engine event.

The app's one worker (``MnistTuiApp.pump``) wraps each event that comes out of the
transport in the message of its kind (``message_for``) and posts it to the dashboard
screen, whose ``@engine_handler(Kind)`` methods show it. Each message carries the event
as it came (``.event``) and the generation of the engine that sent it: a restart starts a
new engine, and whatever the old one still had on the way is dropped where it arrives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from textual import on
from textual.message import Message

from core import events as core
from tui import bridge
from tui.watch import WatchReset as _WatchReset


class EngineMessage(Message, bubble=False):
    """An event from the engine; subclasses name its kind (``KIND``)."""

    KIND: type = object

    def __init__(self, event: Any, generation: int = 0) -> None:
        self.event = event
        self.generation = generation  # which engine sent it (a restart starts a new one)
        super().__init__()


# The engine's own events (tui.bridge) ...
class Loading(EngineMessage):
    KIND = bridge.Loading


class DataReady(EngineMessage):
    KIND = bridge.DataReady


class Tick(EngineMessage):
    KIND = bridge.Tick


class Backfill(EngineMessage):
    KIND = bridge.Backfill


class EditResult(EngineMessage):
    KIND = bridge.EditResult


class Saved(EngineMessage):
    KIND = bridge.Saved


class PauseChanged(EngineMessage):
    KIND = bridge.PauseChanged


class EngineFailed(EngineMessage):
    KIND = bridge.EngineFailed


class Notice(EngineMessage):
    KIND = bridge.Notice


class ReadProgress(EngineMessage):
    KIND = bridge.ReadProgress


class FirstWeights(EngineMessage):
    KIND = bridge.FirstWeights


class ImagePredicted(EngineMessage):
    KIND = bridge.ImagePredicted


class EngineStopped(EngineMessage):
    KIND = bridge.EngineStopped


class WatchReset(EngineMessage):
    KIND = _WatchReset


# ... and core's (core.events); BatchEnd never comes: the loop sends Ticks instead.
class DownloadProgress(EngineMessage):
    KIND = core.DownloadProgress


class RunStarted(EngineMessage):
    KIND = core.RunStarted


class EpochStarted(EngineMessage):
    KIND = core.EpochStarted


class NonFiniteLoss(EngineMessage):
    KIND = core.NonFiniteLoss


class EvalProgress(EngineMessage):
    KIND = core.EvalProgress


class TestEnd(EngineMessage):
    KIND = core.TestEnd


class EpochEnd(EngineMessage):
    KIND = core.EpochEnd


class HparamsChanged(EngineMessage):
    KIND = core.HparamsChanged


class RunFinished(EngineMessage):
    KIND = core.RunFinished


class LayerStats(EngineMessage):
    KIND = core.LayerStats


class DigitTrace(EngineMessage):
    KIND = core.DigitTrace


MESSAGES: dict[type, type[EngineMessage]] = {m.KIND: m for m in EngineMessage.__subclasses__()}


def message_for(event: Any, generation: int) -> EngineMessage | None:
    """The message of ``event``'s kind; None for a kind nobody shows."""
    kind = MESSAGES.get(type(event))
    return kind(event, generation) if kind is not None else None


def engine_handler(kind: type[EngineMessage]) -> Callable:
    """``@on(kind)`` for a handler that takes the event itself. The app decides whether
    it is still wanted (``app.accepts``: not from a replaced engine, not while closing)
    and hears when it has been handled (``app.event_handled``: the tests' next_event)."""

    def decorate(method: Callable[[Any, Any], None]) -> Callable:
        @functools.wraps(method)
        def handler(self, message: EngineMessage) -> None:
            if not self.is_attached:  # the app has closed (or is closing)
                return
            app = self.app
            if not app.accepts(message):
                return
            with app.batch_update():
                method(self, message.event)
            app.event_handled(message.event)

        return on(kind)(handler)

    return decorate
