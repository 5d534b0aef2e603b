"""The process boundary (tui.engine.protocol): every kind of engine event has its Textual
message; every command is plain data that pickles."""

from __future__ import annotations

import pickle
import typing

from tui.engine import protocol
from tui.dashboard.messages import MESSAGES, EngineMessage, message_for


def test_every_engine_event_has_its_message_and_nothing_else_does():
    kinds = set(typing.get_args(protocol.EngineEvent))
    assert set(MESSAGES) == kinds
    for kind, message in MESSAGES.items():
        assert message.__name__ == kind.__name__ and issubclass(message, EngineMessage)
    assert message_for(protocol.Saved("x"), 3).generation == 3
    assert message_for(object(), 0) is None  # a kind outside the protocol: dropped


def test_commands_are_plain_data_that_crosses_a_process():
    commands = [protocol.Pause(), protocol.Resume(), protocol.Edit({"lr": 0.1}), protocol.Save(),
                protocol.Stop(), protocol.Quit("SIGTERM"), protocol.Trace(3),
                protocol.PredictImage(1, bytes(784)), protocol.Drawn()]
    assert {type(c) for c in commands} == set(typing.get_args(protocol.Command))
    assert [pickle.loads(pickle.dumps(c)) for c in commands] == commands
