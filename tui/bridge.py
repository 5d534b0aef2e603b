"""The bridge between core's events and the screen.

Data flows one way: ``core.session.Session.events()`` -> ``TrainingLoop`` (in the
training process) -> a ``Transport`` -> the app's one worker -> a Textual message per
kind of event (``tui.messages``) -> the widget or screen that shows it. Edits flow back
the other way as typed commands (``Pause``, ``Resume``, ``Edit``, ``Save``, ``Stop``,
``Quit``), applied between two events.

``TrainingLoop`` hands every event on as it is, except ``BatchEnd``, coalesced into at
most ~10 ``Tick``s a second (the screen needs no more; training makes 1,000+ steps a
second). The loop runs in a child process (``ProcessTransport``): training then never
competes with the screen for the GIL (bench/bench_tui.py). ``ThreadTransport`` runs the
same loop in a thread, for tests; ``tui.watch.FolderTransport`` follows a run folder
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
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import MnistTuiError, WriteError
from core.session import RunSpec

TICK_SECONDS = 0.1      # at most 10 progress updates a second
COMMAND_POLL = 0.02     # look for a key's command at least every 20 ms
PAUSED_WAIT = 0.5       # while paused, how long one wait for a command lasts


# ------------------------------------------------------------------ screen -> engine

@dataclass(frozen=True)
class Pause:
    """Stop pulling events (the screen shows exactly where training stopped)."""


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Edit:
    """A hyperparameter edit: answered by the edit's HparamsChanged and an EditResult."""

    changes: dict[str, Any]


@dataclass(frozen=True)
class Save:
    """Write checkpoint-last.pt now: answered by Saved (or a Notice when it fails)."""


@dataclass(frozen=True)
class Stop:
    """End the run at the next event; the loop then waits for Save or Quit."""


@dataclass(frozen=True)
class Quit:
    """Leave. A run still in progress gets an end row saying why (``reason``: what the
    user did, e.g. "quit", "SIGTERM")."""

    reason: str = "quit"


@dataclass(frozen=True)
class Trace:
    """"Inside the network": send test digit ``index`` through the model (a DigitTrace)."""

    index: int


@dataclass(frozen=True)
class PredictImage:
    """A drawing (784 bytes, 28x28 uint8): answered by ImagePredicted, from the model as it
    is now; training is untouched (eval mode, no gradients)."""

    request_id: int
    image: bytes


Command = Pause | Resume | Edit | Save | Stop | Quit | Trace | PredictImage


class Transport(Protocol):
    """What the app drives: the training process, a thread, or a followed run folder."""

    def start(self) -> None: ...
    def send(self, command: Command) -> None: ...
    def get(self, timeout: float) -> Any: ...
    def alive(self) -> bool: ...
    def close(self, timeout: float = 5.0) -> None: ...


# ------------------------------------------------------------- engine -> screen messages

@dataclass(frozen=True)
class Loading:
    text: str


@dataclass(frozen=True)
class DataReady:
    title: str
    classes: tuple[str, ...]
    n_train: int
    n_test: int
    test_images: bytes  # n_test x 784 uint8, for drawing digits
    test_labels: bytes  # n_test uint8
    source: str         # the folder the files came from


@dataclass(frozen=True)
class Tick:
    """The latest training step, plus what happened since the previous tick."""

    epoch: int
    batch: int
    batches: int
    epoch_samples: int
    n_train: int
    seen: int
    step: int
    samples_per_sec: float
    points: tuple[tuple[int, float], ...]  # (examples seen, train loss) since last tick
    lines: tuple[str, ...]                 # the tutorial's "Train Epoch" lines since last tick


@dataclass(frozen=True)
class Backfill:
    """A resumed run's past, so the plots and log start where the run stopped."""

    train_points: tuple[tuple[int, float], ...]      # (examples seen, loss)
    tests: tuple[tuple[int, int, float, float], ...]  # (epoch, seen, loss, accuracy %)
    marks: tuple[int, ...]                            # examples seen at each applied edit
    text: str


@dataclass(frozen=True)
class EditResult:
    ok: bool
    problems: dict[str, str]


@dataclass(frozen=True)
class Saved:
    path: str


@dataclass(frozen=True)
class PauseChanged:
    paused: bool
    step: int


@dataclass(frozen=True)
class ImagePredicted:
    """The live network's answer to a PredictImage (request_id, 784 bytes): softmax
    probabilities, and the epochs completed and step it had reached."""

    request_id: int
    probs: tuple[float, ...]
    epoch: int
    step: int


@dataclass(frozen=True)
class EngineFailed:
    message: str        # one line for the user
    detail_file: str = ""  # where the traceback went, for an internal error
    searched: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """Something the user must know that does not end the run (a failed write: the run
    is paused, nothing is lost)."""

    message: str
    severity: str = "error"


@dataclass(frozen=True)
class ReadProgress:
    """`watch` reading a long run's backlog: ``done`` of ``total`` bytes of ``name``."""

    name: str
    done: int
    total: int


@dataclass(frozen=True)
class FirstWeights:
    """The first layer's weights as they are now (sent on pausing: "Inside the network"
    shows the exact weights training stopped at)."""

    epoch: int
    step: int
    weights: bytes  # float32, shape
    shape: tuple[int, int]


@dataclass(frozen=True)
class EngineStopped:
    """The engine loop has ended; nothing more will come."""


# ------------------------------------------------------------------------- the loop

class _Quit(Exception):
    def __init__(self, reason: str = "quit"):
        super().__init__(reason)
        self.reason = reason


def engine_loop(spec: RunSpec, emit: Callable[[Any], None], commands: Any,
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

    def __init__(self, spec: RunSpec, emit: Callable[[Any], None], commands: Any,
                 parent_alive: Callable[[], bool], on_run: Callable[[Any], None] | None):
        self.spec, self.emit, self.commands = spec, emit, commands
        self.parent_alive, self.on_run = parent_alive, on_run
        self.session: Any = None
        self.paused = False
        self._last_poll = 0.0
        self._last_tick = 0.0
        self._latest: Any = None             # the newest BatchEnd not yet in a Tick
        self._losses: list[Any] = []         # its loss tensors since the last Tick
        self._seen: list[int] = []
        self._lines: list[str] = []

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
        run = self.session.run
        if run.status != "running":
            return  # finished, stopped or diverged: its end row is written already
        try:
            self.session.end("interrupted", signal=reason)
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
            self.emit(backfill(run, self.spec.resume))
        for ev in session.apply(**session.pending_edits):
            self.emit(ev)

    def _train(self) -> None:
        from core.events import BatchEnd

        for ev in self.session.events():
            try:
                self.session.record(ev)
            except WriteError as exc:
                self._write_failed(exc)
            now = time.monotonic()
            if isinstance(ev, BatchEnd):
                self._batch(ev)
                if now - self._last_tick >= TICK_SECONDS:
                    self._flush_tick()
            else:
                self._flush_tick()
                self.emit(ev)
            if now - self._last_poll >= COMMAND_POLL:
                self._last_poll = now
                self._poll()
        self._flush_tick()

    def _wait_after_the_end(self) -> None:
        """The run has ended: keep answering (save a checkpoint, quit) until told to quit."""
        while True:
            self.paused = True
            self._poll()

    # -------------------------------------------------------------- ticks
    def _batch(self, ev: Any) -> None:
        from core.runfolder import LOG_INTERVAL
        from core.training import format_train

        self._latest = ev
        self._losses.append(ev.loss_tensor)
        self._seen.append(ev.seen)
        if ev.batch % LOG_INTERVAL == 0:
            self._lines.append(format_train(ev))

    def _flush_tick(self) -> None:
        """The steps since the last Tick, as one Tick (one device sync for their losses)."""
        ev = self._latest
        if ev is None:
            return
        import torch

        losses = torch.stack(self._losses).tolist() if len(self._losses) > 1 else [
            float(self._losses[0])]
        self.emit(Tick(ev.epoch, ev.batch, ev.batches, ev.epoch_samples, ev.n_train, ev.seen,
                       ev.step, ev.samples_per_sec, tuple(zip(self._seen, losses)),
                       tuple(self._lines)))
        self._latest = None
        self._losses, self._seen, self._lines = [], [], []
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


def backfill(run: Any, resumed_from: str | None) -> Backfill:
    """A resumed run's past, for the plots and the log."""
    h = run.history
    where = f"Resumed {resumed_from} at epoch {run.epoch}, step {run.step:,}"
    if run.batch_in_epoch:
        where += f" ({run.batch_in_epoch} steps into epoch {run.epoch + 1})"
    return Backfill(tuple(zip(h.train_seen, h.train_loss)),
                    tuple(zip(h.test_epoch, h.test_seen, h.test_loss, h.test_accuracy)),
                    tuple(e["seen"] for e in h.edits if e["applied"]), where)


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


def _child_main(spec: RunSpec, events: Any, commands: Any, parent_pid: int) -> None:
    # The dashboard decides what Ctrl+C, a hang-up and SIGTERM do (save, then quit): a
    # signal sent to the whole process group must not kill the child before it saves.
    # The child still ends within a moment of its parent (parent_alive below).
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
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
