"""The bridge between core's events and the screen.

Data flows one way: ``core.session.Session.events()`` -> ``TrainingLoop`` (in the
training process) -> a ``Transport`` -> the app's one worker -> a Textual message per
kind of event (``tui.dashboard.messages``) -> the widget or screen that shows it. Edits flow back
the other way as typed commands, applied between two events. What crosses, both ways,
is declared in ``tui.engine.protocol`` (``Command``, ``EngineEvent``, ``Transport``).

``TrainingLoop`` hands every event on as it is, except ``BatchEnd``, coalesced into at
most ~10 ``Tick``s a second (the screen needs no more; training makes 1,000+ steps a
second). The loop runs in a child process (``ProcessTransport``): training then never
competes with the screen for the GIL (bench/bench_tui.py). ``ThreadTransport`` runs the
same loop in a thread, for tests; ``tui.engine.watch.FolderTransport`` follows a run folder
instead. All three are a ``Transport``. This module imports neither Textual nor (at
import time) PyTorch, so the child starts as light as it can.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from core.errors import MnistTuiError, WriteError
from core.events import HparamsChanged, RunFinished, TestEnd
from core.session import RunSpec
from tui.engine.protocol import (Backfill, Command, DataReady, Drawn, Edit, EditResult, EngineEvent, EngineFailed,
                          EngineStopped, FirstWeights, ImagePredicted, Loading, Notice, Pause,
                          PauseChanged, PredictImage, Quit, Resume, Save, Saved, Stop, Tick,
                          Trace)

TICK_SECONDS = 0.1      # at most 10 progress updates a second
COMMAND_POLL = 0.02     # look for a key's command at least every 20 ms
PAUSED_WAIT = 0.5       # while paused, how long one wait for a command lasts
# The first step waits (at most this long) for the screen to have drawn the run's start.
# A dashboard is busiest then (the test digits, the first test, its first full frames):
# on 2 cores those frames took CPU from the first epochs, which on the 8k/2k split are
# all of a short run (bench/bench_tui.py).
START_WAIT = 2.0


# ------------------------------------------------------------------------- the loop

class _Quit(Exception):
    def __init__(self, reason: str = "quit"):
        super().__init__(reason)
        self.reason = reason


def engine_loop(spec: RunSpec, emit: Callable[[EngineEvent], None], commands: Any,
                parent_alive: Callable[[], bool] = lambda: True,
                on_run: Callable[[Any], None] | None = None) -> None:
    """Open the session, then pull its events until told to quit. ``on_run`` receives
    the ``core.training.Run`` once built (tests inspect it). Every failure is one line
    for the screen (an internal error's traceback goes to a file)."""
    try:
        TrainingLoop(spec, emit, commands, parent_alive, on_run).run()
    except _Quit:
        pass
    except MnistTuiError as exc:
        emit(failure(exc, spec))
    except Exception as exc:  # an internal error: one line on screen, traceback in a file
        fd, path = tempfile.mkstemp(prefix="mnist-tui-error-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(traceback.format_exc())
        emit(EngineFailed(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], path))
    finally:
        emit(EngineStopped())


def failure(exc: MnistTuiError, spec: RunSpec) -> EngineFailed:
    """The screen's account of an error; for missing data, where the files were looked
    for and which other datasets this machine has."""
    searched = tuple(getattr(exc, "searched", ()))
    alternatives: tuple[str, ...] = ()
    if searched:
        from core.datafiles import available_locally

        alternatives = tuple(n for n in available_locally() if n != spec.dataset)
    return EngineFailed(str(exc), searched=searched, alternatives=alternatives)


class TrainingLoop:
    """In the training process: the session's events to ``emit``, commands applied
    between two events."""

    def __init__(self, spec: RunSpec, emit: Callable[[EngineEvent], None], commands: Any,
                 parent_alive: Callable[[], bool], on_run: Callable[[Any], None] | None):
        self.spec, self.emit, self.commands = spec, emit, commands
        self.parent_alive, self.on_run = parent_alive, on_run
        self.session: Any = None
        self.paused = False
        self._last_poll = 0.0
        self._last_tick = 0.0
        self._latest: Any = None             # the newest BatchEnd not yet in a Tick
        self._rows: list[dict[str, Any]] = []  # the train rows logged since the last Tick
        self._lines: list[str] = []
        self._drawn = False                  # the screen has drawn the run's start (Drawn)

    # -------------------------------------------------------------- the run
    def run(self) -> None:
        self.emit(Loading("starting the training process (importing PyTorch)"))  # seconds, said
        from core.session import open_session

        self.session = open_session(self.spec, progress=self._download_progress(),
                                    on_stage=self._stage)
        try:
            self._announce_start()
            self._train()
            self._wait_after_the_end()
        except _Quit as quit:
            self._record_the_end(quit.reason)
            raise
        finally:
            self.session.close()

    def _record_the_end(self, reason: str) -> None:
        """Quit with the run in progress: an end row, as a headless run writes when it is
        interrupted, so that `watch` and `runs` can say how it stopped."""
        from core.driver import interrupt

        try:
            interrupt(self.session, reason, save=False)
        except WriteError:
            pass  # a full disk: the checkpoint of the last test (or of s) is what there is

    def _stage(self, stage: str, dataset: str) -> None:
        from core.datafiles import get_spec

        if stage == "folder":  # the dataset of the run (a resumed one's, not the default)
            self.emit(Loading(f"loading {get_spec(dataset).title}"))

    def _download_progress(self) -> Callable[[Any], None]:
        last = [0.0]

        def on_download(p: Any) -> None:
            now = time.monotonic()
            # (a new file or mirror, done 0, and a file's end are always passed on)
            if now - last[0] >= TICK_SECONDS or p.done == 0 or (p.total and p.done >= p.total):
                last[0] = now
                self.emit(p)

        return on_download

    def _announce_start(self) -> None:
        import numpy as np

        session, run = self.session, self.session.run
        data, test = session.data, run.test_data
        self.emit(DataReady(data.spec.title, data.spec.classes, len(run.train_data), len(test),
                            test.images.cpu().numpy().tobytes(),
                            test.labels.cpu().numpy().astype(np.uint8).tobytes(),
                            str(data.files["test_images"].parent)))
        if self.on_run is not None:
            self.on_run(run)
        self.emit(Loading(f"run folder: {session.path}"))
        if session.resumed:
            self.emit(backfill(run, session.past, self.spec.resume))

    def _train(self) -> None:
        """``core.driver.drive``'s events to the screen (BatchEnds as Ticks); commands
        between two of them."""
        from core.driver import drive
        from core.events import BatchEnd, EpochStarted

        for d in drive(self.session):
            ev = d.event
            if d.write_error is not None:
                self._write_failed(d.write_error)
            now = time.monotonic()
            if isinstance(ev, BatchEnd):
                self._batch(ev, d.row, d.line)
                if now - self._last_tick >= TICK_SECONDS:
                    self._flush_tick()
            else:
                self._flush_tick()
                self.emit(ev)
                if isinstance(ev, EpochStarted) and not self._drawn:
                    self._wait_until_drawn()
                    now = time.monotonic()
            if now - self._last_poll >= COMMAND_POLL:
                self._last_poll = now
                self._poll()
        self._flush_tick()

    def _wait_until_drawn(self) -> None:
        """Before the first step: until the screen says it has drawn the run's start
        (``Drawn``), for at most START_WAIT seconds, handling the other commands
        meanwhile (a pause there holds training as it would anywhere)."""
        end = time.monotonic() + START_WAIT
        while not self._drawn:
            left = end - time.monotonic()
            if left <= 0:
                self._drawn = True  # a slow screen (or none that says so): train anyway
                return
            if not self.parent_alive():
                raise _Quit("the dashboard went away")
            try:
                cmd = self.commands.get(timeout=min(left, PAUSED_WAIT))
            except queue.Empty:
                continue
            self._handle(cmd)
            if self.paused:
                self._drawn = True  # paused on the first frames: the screen is there
                self._poll()

    def _wait_after_the_end(self) -> None:
        """The run has ended: keep answering (save a checkpoint, quit) until told to quit."""
        while True:
            self.paused = True
            self._poll()

    # -------------------------------------------------------------- ticks
    def _batch(self, ev: Any, row: dict[str, Any] | None, line: str | None) -> None:
        self._latest = ev
        if row is not None:  # the row the folder logged: a point of the train-loss curve
            self._rows.append(row)
        if line is not None:
            self._lines.append(line)

    def _flush_tick(self) -> None:
        """The steps since the last Tick, as one Tick: the latest step's progress, and
        the train rows logged since (``core.metrics.train_curve``, as watch reads them)."""
        from core.metrics import train_curve

        ev = self._latest
        if ev is None:
            return
        self.emit(Tick(ev.epoch, ev.batch, ev.batches, ev.epoch_samples, ev.n_train, ev.seen,
                       ev.step, ev.samples_per_sec,
                       tuple((p.seen, p.loss) for p in train_curve(self._rows)),
                       tuple(self._lines)))
        self._latest = None
        self._rows, self._lines = [], []
        self._last_tick = time.monotonic()

    # -------------------------------------------------------------- commands
    def _poll(self) -> None:
        """Handle the waiting commands; while paused, wait for the next one."""
        while True:
            if not self.parent_alive():
                raise _Quit("the dashboard went away")
            try:
                cmd = (self.commands.get(timeout=PAUSED_WAIT) if self.paused
                       else self.commands.get_nowait())
            except queue.Empty:
                if self.paused:
                    continue
                return
            self._handle(cmd)

    def _handle(self, cmd: Command) -> None:
        if isinstance(cmd, Quit):
            raise _Quit(cmd.reason)
        if isinstance(cmd, Pause):
            self._pause()
        elif isinstance(cmd, Resume) and self.paused:
            self.paused = False
            self.emit(PauseChanged(False, self.session.run.step))
        elif isinstance(cmd, Stop):
            self.session.run.stop()
            self.paused = False
        elif isinstance(cmd, Edit):
            self._edit(cmd.changes)
        elif isinstance(cmd, Save):
            self._save()
        elif isinstance(cmd, Trace):
            self._trace(cmd.index)
        elif isinstance(cmd, PredictImage):
            self._predict_image(cmd)
        elif isinstance(cmd, Drawn):
            self._drawn = True

    def _pause(self) -> None:
        if not self.paused:
            self._flush_tick()  # the screen shows exactly where training stopped
            self.paused = True
            run = self.session.run
            self.emit(PauseChanged(True, run.step))
            from core.inspect import first_layer_weights

            w = first_layer_weights(run.model)
            self.emit(FirstWeights(run.epoch, run.step, w.tobytes(), w.shape))

    def _edit(self, changes: dict[str, Any]) -> None:
        if self.session.run.status != "running":
            self.emit(EditResult(False, {"run": "the run has ended; press r to restart"}))
            return
        try:
            for ev in self.session.apply(**changes):
                self.emit(ev)  # the edit's one announcement (the run does not yield it again)
        except WriteError as exc:
            self._write_failed(exc)  # applied, but not logged in the folder
            self.emit(EditResult(True, {}))
        except MnistTuiError as exc:
            self.emit(EditResult(False, getattr(exc, "problems", {"edit": str(exc)})))
        else:
            self.emit(EditResult(True, {}))

    def _trace(self, index: int) -> None:
        from core.inspect import trace_test_digit

        run = self.session.run
        if 0 <= index < len(run.test_data):
            self.emit(trace_test_digit(run.model, run.test_data, index))

    def _predict_image(self, cmd: PredictImage) -> None:
        from core.training import image_probabilities

        run = self.session.run
        self.emit(ImagePredicted(cmd.request_id, image_probabilities(run.model, cmd.image),
                                 run.epoch, run.step))

    def _save(self) -> None:
        try:
            path = self.session.save()
        except WriteError as exc:
            self._write_failed(exc)
        else:
            self.emit(Saved(str(path)))

    def _write_failed(self, exc: WriteError) -> None:
        """A write into the run folder failed: say so and pause; the run in memory and
        the files written before are intact (free some space, then space or s)."""
        self.emit(Notice(f"{exc}. Training is paused: free some space (or fix the folder), "
                         f"then press space to go on or s to save."))
        self._pause()


def backfill(run: Any, past: list[dict[str, Any]], resumed_from: str | None) -> Backfill:
    """A resumed run's past, for the plots and the log: read from its metrics rows
    (``core.metrics``), as ``watch`` and the runs overlay read them."""
    from core.metrics import event_for, train_curve

    where = f"Resumed {resumed_from} at epoch {run.epoch}, step {run.step:,}"
    if run.batch_in_epoch:
        where += f" ({run.batch_in_epoch} steps into epoch {run.epoch + 1})"
    events = [event_for(r) for r in past if r["kind"] in ("test", "edit")]
    return Backfill(tuple((p.seen, p.loss) for p in train_curve(past)),
                    tuple((e.epoch, e.seen, e.avg_loss, e.accuracy) for e in events
                          if isinstance(e, TestEnd)),
                    tuple(e for e in events if isinstance(e, HparamsChanged) and e.applied),
                    where)


# ------------------------------------------------------------------------ transports

class ThreadTransport:
    """The engine loop in a thread of this process (tests; no process start-up)."""

    def __init__(self, spec: RunSpec):
        self.spec = spec
        self._events: queue.Queue = queue.Queue()
        self._commands: queue.Queue = queue.Queue()
        self.run: Any = None  # the core Run, once built: tests look inside
        self._thread = threading.Thread(
            target=engine_loop, args=(spec, self._events.put, self._commands),
            kwargs={"on_run": lambda run: setattr(self, "run", run)},
            name="mnist-tui-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, command: Command) -> None:
        self._commands.put(command)

    def get(self, timeout: float) -> Any:
        return self._events.get(timeout=timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        self.send(Quit())
        if self._thread.is_alive():
            self._thread.join(timeout)


class ReplayTransport:
    """Engine events recorded once (``record``), played back: for screens whose tests
    are about the screen, not the training (no PyTorch run per test). Commands are
    kept in ``sent``; the events end with the recording's ``EngineStopped``."""

    def __init__(self, events: list[EngineEvent]):
        self._events = list(events)
        self.sent: list[Command] = []

    def start(self) -> None:
        pass

    def send(self, command: Command) -> None:
        self.sent.append(command)

    def get(self, timeout: float) -> EngineEvent:
        if not self._events:
            raise queue.Empty
        return self._events.pop(0)

    def alive(self) -> bool:
        return bool(self._events)

    def close(self, timeout: float = 5.0) -> None:
        self._events.clear()

    @staticmethod
    def record(spec: RunSpec, timeout: float = 300.0) -> list[EngineEvent]:
        """A whole run's events, as the dashboard would receive them, to its end."""
        events: queue.Queue = queue.Queue()
        commands: queue.Queue = queue.Queue()
        commands.put(Drawn())  # no screen to wait for
        thread = threading.Thread(target=engine_loop, args=(spec, events.put, commands),
                                  name="mnist-tui-record", daemon=True)
        thread.start()
        out: list[EngineEvent] = []
        while not out or not isinstance(out[-1], EngineStopped):
            ev = events.get(timeout=timeout)
            out.append(ev)
            if isinstance(ev, (RunFinished, EngineFailed)):
                commands.put(Quit())
        thread.join(timeout)
        return out


def _child_main(spec: RunSpec, events: Any, commands: Any, parent_pid: int) -> None:
    # The dashboard decides what Ctrl+C, a hang-up and SIGTERM do (save, then quit): a
    # signal sent to the whole process group must not kill the child before it saves.
    # The child still ends within a moment of its parent (parent_alive below).
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    # A session of its own, and so, where Linux schedules by session (autogroup, the
    # default on most distributions), a share of a busy machine's CPU of its own: the
    # dashboard's process no longer takes its CPU out of the training's share. On a busy
    # 2-core machine, beside a headless run started at the same moment (bench_tui.py
    # --together, the 8k/2k split), the dashboard trained at a median 0.80x of its speed
    # with both processes in one session and 0.97x with this. Nothing changes for
    # signals: the child ignores the terminal's (above) and ends with the dashboard
    # (_end_with_parent).
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    # Nothing the child prints may reach the dashboard's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    threading.Thread(target=_end_with_parent, args=(parent_pid,), name="mnist-tui-parent",
                     daemon=True).start()
    engine_loop(spec, events.put, commands, parent_alive=lambda: os.getppid() == parent_pid)


ORPHAN_GRACE = 10.0  # seconds the loop has, once the dashboard is gone, to end by itself


def _end_with_parent(parent_pid: int) -> None:
    """The training process never outlives the dashboard, whatever either was doing (the
    dashboard killed with SIGKILL, this process still loading the data or PyTorch).
    Between two steps the loop sees the parent gone and ends cleanly, writing its end
    row; whatever keeps it from doing so, this ends the process a moment later."""
    try:
        fd = os.pidfd_open(parent_pid)  # readable once that process has ended (Linux)
    except (AttributeError, OSError):
        fd = None
    if os.getppid() == parent_pid:
        if fd is not None:
            import select

            select.select([fd], [], [])
        else:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
    time.sleep(ORPHAN_GRACE)
    os._exit(0)


class ProcessTransport:
    """The engine loop in a child process: the screen never slows training down."""

    def __init__(self, spec: RunSpec):
        self.spec = spec
        ctx = mp.get_context("spawn")
        self._events = ctx.Queue()
        self._commands = ctx.Queue()
        self._proc = ctx.Process(target=_child_main, name="mnist-tui-engine",
                                 args=(spec, self._events, self._commands, os.getpid()),
                                 daemon=True)

    def start(self) -> None:
        self._proc.start()

    def send(self, command: Command) -> None:
        self._commands.put(command)

    def get(self, timeout: float) -> Any:
        return self._events.get(timeout=timeout)

    def alive(self) -> bool:
        return self._proc.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        if self._proc.pid is None:
            return
        if self._proc.is_alive():
            self.send(Quit())
            self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(2)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(1)
        for q in (self._events, self._commands):
            q.cancel_join_thread()
            q.close()
