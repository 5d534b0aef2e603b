"""One loop drives a session, whoever consumes it: the headless printer
(``tui/headless.py``) and the dashboard's training process (``tui/engine/bridge.py``).

``drive(session)`` applies the edits given with ``--resume``, then pulls the run's
events, records each in the run folder (its metrics row, checkpoints after a test) and
hands it on with the tutorial's line for it and the write failure, if any; the consumer
prints, sends or pauses between two events. ``interrupt`` gives a run that stops before
its end (a signal, a quit, the output gone) its end row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.errors import WriteError
from core.events import BatchEnd, TestEnd, format_test, format_train
from core.metrics import LOG_INTERVAL
from core.session import Session


@dataclass(frozen=True)
class Driven:
    """One event of the run, recorded."""

    event: Any
    row: dict[str, Any] | None = None    # its metrics row (None: none, or not written)
    line: str | None = None              # the tutorial's line for it
    write_error: WriteError | None = None  # the folder could not be written: the run is intact


def tutorial_line(ev: Any) -> str | None:
    """The tutorial's ``Train Epoch`` line (every LOG_INTERVAL batches) or ``Test set``
    line of an event."""
    if isinstance(ev, BatchEnd):
        return format_train(ev) if ev.batch % LOG_INTERVAL == 0 else None
    if isinstance(ev, TestEnd):
        return format_test(ev)
    return None


def drive(session: Session) -> Iterator[Driven]:
    """The run's events, each recorded before it is handed on (the edits given on
    resuming first: they are recorded as they are applied)."""
    pending, session.pending_edits = session.pending_edits, {}
    for ev in session.apply(**pending):
        yield Driven(ev)
    for ev in session.events():
        try:
            row, problem = session.record(ev), None
        except WriteError as exc:
            row, problem = None, exc
        yield Driven(ev, row, tutorial_line(ev), problem)


def interrupt(session: Session, reason: str, *, save: bool) -> None:
    """The run stops in progress: a checkpoint (``save``) and an end row saying why
    (``reason``: "SIGTERM", "quit" ...), so that `watch` and `runs` can tell. A run that
    has ended already has its end row. Raises ``WriteError`` when the folder cannot be
    written."""
    if session.run.status != "running":
        return
    if save:
        session.save()
    session.end("interrupted", signal=reason)
