"""One Textual message per kind of engine event.

The app's one worker (``MnistTuiApp.pump``) wraps each event that comes out of the
transport in the message of its kind (``message_for``) and posts it to the dashboard
screen, whose ``@engine_handler(Kind)`` methods show it. Each message carries the event
as it came (``.event``, typed: ``Tick`` is an ``EngineMessage[protocol.Tick]``) and the
generation of the engine that sent it: a restart starts a new engine, and whatever the
old one still had on the way is dropped where it arrives. Every kind of
``protocol.EngineEvent`` has its message (a test holds it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Generic, TypeVar

from textual import on
from textual.message import Message

from core import events as core
from tui.engine import protocol
from tui.engine.protocol import EngineEvent

E = TypeVar("E", bound=EngineEvent)
S = TypeVar("S")


class EngineMessage(Message, Generic[E], bubble=False):
    """An event from the engine; subclasses name its kind (``KIND``)."""

    KIND: type = object

    def __init__(self, event: E, generation: int = 0) -> None:
        self.event: E = event
        self.generation = generation  # which engine sent it (a restart starts a new one)
        super().__init__()


# The engine's own events (tui.engine.protocol) ...
class Loading(EngineMessage[protocol.Loading]):
    KIND = protocol.Loading


class DataReady(EngineMessage[protocol.DataReady]):
    KIND = protocol.DataReady


class Tick(EngineMessage[protocol.Tick]):
    KIND = protocol.Tick


class Backfill(EngineMessage[protocol.Backfill]):
    KIND = protocol.Backfill


class EditResult(EngineMessage[protocol.EditResult]):
    KIND = protocol.EditResult


class Saved(EngineMessage[protocol.Saved]):
    KIND = protocol.Saved


class PauseChanged(EngineMessage[protocol.PauseChanged]):
    KIND = protocol.PauseChanged


class EngineFailed(EngineMessage[protocol.EngineFailed]):
    KIND = protocol.EngineFailed


class Notice(EngineMessage[protocol.Notice]):
    KIND = protocol.Notice


class ReadProgress(EngineMessage[protocol.ReadProgress]):
    KIND = protocol.ReadProgress


class FirstWeights(EngineMessage[protocol.FirstWeights]):
    KIND = protocol.FirstWeights


class ImagePredicted(EngineMessage[protocol.ImagePredicted]):
    KIND = protocol.ImagePredicted


class EngineStopped(EngineMessage[protocol.EngineStopped]):
    KIND = protocol.EngineStopped


class WatchReset(EngineMessage[protocol.WatchReset]):
    KIND = protocol.WatchReset


# ... and core's (core.events); BatchEnd never comes: the loop sends Ticks instead.
class DownloadProgress(EngineMessage[core.DownloadProgress]):
    KIND = core.DownloadProgress


class RunStarted(EngineMessage[core.RunStarted]):
    KIND = core.RunStarted


class EpochStarted(EngineMessage[core.EpochStarted]):
    KIND = core.EpochStarted


class NonFiniteLoss(EngineMessage[core.NonFiniteLoss]):
    KIND = core.NonFiniteLoss


class EvalProgress(EngineMessage[core.EvalProgress]):
    KIND = core.EvalProgress


class TestEnd(EngineMessage[core.TestEnd]):
    KIND = core.TestEnd


class EpochEnd(EngineMessage[core.EpochEnd]):
    KIND = core.EpochEnd


class HparamsChanged(EngineMessage[core.HparamsChanged]):
    KIND = core.HparamsChanged


class RunFinished(EngineMessage[core.RunFinished]):
    KIND = core.RunFinished


class LayerStats(EngineMessage[core.LayerStats]):
    KIND = core.LayerStats


class DigitTrace(EngineMessage[core.DigitTrace]):
    KIND = core.DigitTrace


MESSAGES: dict[type, type[EngineMessage]] = {m.KIND: m for m in EngineMessage.__subclasses__()}


def message_for(event: EngineEvent, generation: int) -> EngineMessage | None:
    """The message of ``event``'s kind; None for a kind nobody shows."""
    kind = MESSAGES.get(type(event))
    return kind(event, generation) if kind is not None else None


def engine_handler(kind: type[EngineMessage[E]]) -> Callable[[Callable[[S, E], None]], Callable]:
    """``@on(kind)`` for a handler that takes the event itself. The app decides whether
    it is still wanted (``app.accepts``: not from a replaced engine, not while closing),
    takes it into its state (``app.take_in``) before the handler runs."""

    def decorate(method: Callable[[S, E], None]) -> Callable:
        @functools.wraps(method)
        def handler(self, message: EngineMessage) -> None:
            if not self.is_attached:  # the app has closed (or is closing)
                return
            app = self.app
            if not app.accepts(message):
                return
            with app.batch_update():
                app.take_in(message.event)  # the state first: the handler draws in it
                method(self, message.event)

        return on(kind)(handler)

    return decorate
