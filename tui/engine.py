"""What carries core's events to the screen.

``engine_loop`` pulls events from ``core.training.Run.events()`` and hands them to an
``emit`` callback: every event as it is, except ``BatchEnd``, which is coalesced into
at most ~10 ``Tick``s a second (the screen needs no more; the training loop makes
1,000+ steps a second). Between two events it reads commands: pause (stop pulling),
resume, edit, save, stop, quit.

It runs in a child process (``ProcessEngine``): training then never competes with the
screen for the GIL — measured in bench/bench_tui.py. ``ThreadEngine`` runs the same
loop in a thread, for tests. This module imports neither Textual nor (at import time)
PyTorch, so the child starts as light as it can.
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
from typing import Any

from core.config import Hyperparameters
from core.errors import MnistTuiError

TICK_SECONDS = 0.1      # at most 10 progress updates a second
COMMAND_POLL = 0.02     # look for a key's command at least every 20 ms


@dataclass(frozen=True)
class RunSpec:
    """What to train, and on what."""

    hparams: Hyperparameters = field(default_factory=Hyperparameters)
    dataset: str = "mnist"
    data_dir: str | None = None
    device: str = "auto"
    limit_train: int | None = None
    limit_test: int | None = None
    run_dir: str | None = None
    hardest: int = 16
    allow_download: bool = True
    resume: str | None = None  # a run folder to continue (its checkpoint-last.pt)
    resume_changes: dict[str, Any] = field(default_factory=dict)  # edits made on resuming


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
    """The live network's answer to ("predict_image", request_id, 784 bytes): softmax
    probabilities, and the epochs completed and step it had reached."""

    request_id: int
    probs: tuple[float, ...]
    epoch: int
    step: int


@dataclass(frozen=True)
class EngineFailed:
    message: str        # one line for the user
    detail_file: str = ""  # where the traceback went, for an internal error


@dataclass(frozen=True)
class EngineStopped:
    """The engine loop has ended; nothing more will come."""


# ------------------------------------------------------------------------- the loop

class _Quit(Exception):
    pass


def engine_loop(spec: RunSpec, emit: Callable[[Any], None], commands: Any,
                parent_alive: Callable[[], bool] = lambda: True,
                on_run: Callable[[Any], None] | None = None) -> None:
    """Load the data, build the run and pull its events until it ends or is told to quit.
    ``on_run`` receives the ``core.training.Run`` once built (tests inspect it)."""
    try:
        _run(spec, emit, commands, parent_alive, on_run)
    except _Quit:
        pass
    except MnistTuiError as exc:
        emit(EngineFailed(str(exc)))
    except Exception as exc:  # an internal error: one line on screen, traceback in a file
        fd, path = tempfile.mkstemp(prefix="mnist-tui-error-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(traceback.format_exc())
        emit(EngineFailed(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], path))
    finally:
        emit(EngineStopped())


def _run(spec: RunSpec, emit, commands, parent_alive, on_run) -> None:
    import numpy as np

    from core import datasets
    from core.events import BatchEnd, TestEnd
    from core.network import resolve_device
    from core.training import Run, format_train

    spec_ds = datasets.get_spec(spec.dataset)
    emit(Loading(f"loading {spec_ds.title}"))
    last_dl = [0.0]

    def on_download(p: datasets.DownloadProgress) -> None:
        now = time.monotonic()
        if now - last_dl[0] >= TICK_SECONDS or (p.total and p.done >= p.total):
            last_dl[0] = now
            emit(p)

    data = datasets.load(spec.dataset, spec.data_dir, progress=on_download,
                         allow_download=spec.allow_download)
    train, test = data.train.head(spec.limit_train), data.test.head(spec.limit_test)
    emit(DataReady(spec_ds.title, spec_ds.classes, len(train), len(test),
                   test.images.numpy().tobytes(),
                   test.labels.numpy().astype(np.uint8).tobytes(),
                   str(data.files["test_images"].parent)))
    device = resolve_device(spec.device)
    hparams, state = spec.hparams, None
    if spec.resume:
        from core import checkpoint
        from core.config import Hyperparameters
        from core.runfolder import LAST as _LAST

        state = checkpoint.load(f"{spec.resume}/{_LAST}")
        hparams = Hyperparameters.from_dict(state["hparams"])
    run = Run(hparams, train, test, device=device, hardest=spec.hardest,
              classes=spec_ds.classes)
    if state is not None:
        run.load_state_dict(state)
    if on_run is not None:
        on_run(run)
    from core.runfolder import LAST, RunFolder, default_run_dir

    folder = RunFolder(spec.run_dir or spec.resume or default_run_dir(), {
        "dataset": spec.dataset, "data_dir": str(data.files["test_images"].parent),
        "device": spec.device, "limit_train": spec.limit_train, "limit_test": spec.limit_test,
        "hparams": hparams.to_dict()}, resume_step=run.step if state is not None else None)
    emit(Loading(f"run folder: {folder.path}"))
    if state is not None:
        h = run.history
        emit(Backfill(tuple(zip(h.train_seen, h.train_loss)),
                      tuple(zip(h.test_epoch, h.test_seen, h.test_loss, h.test_accuracy)),
                      tuple(e["seen"] for e in h.edits if e["applied"]),
                      f"Resumed {spec.resume} at epoch {run.epoch}, step {run.step:,}"
                      f" ({run.batch_in_epoch} steps into epoch {run.epoch + 1})"
                      if run.batch_in_epoch else
                      f"Resumed {spec.resume} at epoch {run.epoch}, step {run.step:,}"))
        run.apply(**spec.resume_changes)  # its events come out of run.events() below

    state = {"paused": False, "last_poll": 0.0}

    def handle(cmd: tuple) -> None:
        kind = cmd[0]
        if kind == "quit":
            raise _Quit
        if kind == "pause" and not state["paused"]:
            if latest is not None:
                flush_tick()  # the screen shows exactly where training stopped
            state["paused"] = True
            emit(PauseChanged(True, run.step))
        elif kind == "resume" and state["paused"]:
            state["paused"] = False
            emit(PauseChanged(False, run.step))
        elif kind == "stop":
            run.stop()
            state["paused"] = False
        elif kind == "edit":
            if run.status != "running":
                emit(EditResult(False, {"run": "the run has ended; press r to restart"}))
                return
            try:
                for ev in run.apply(**cmd[1]):
                    emit(ev)
            except MnistTuiError as exc:
                emit(EditResult(False, getattr(exc, "problems", {"edit": str(exc)})))
            else:
                emit(EditResult(True, {}))
        elif kind == "predict_image":  # a drawing: the model as it is now, training untouched
            from core.training import image_probabilities

            emit(ImagePredicted(cmd[1], image_probabilities(run.model, cmd[2]), run.epoch, run.step))
        elif kind == "save":
            target = folder.path / LAST
            try:
                folder.save(run.state_dict())
            except OSError as exc:
                emit(EngineFailed(f"{target}: could not save the checkpoint ({exc.strerror})"))
            else:
                emit(Saved(str(target)))

    def poll(block: bool) -> None:
        """Handle waiting commands; while paused, wait for the next one."""
        while True:
            if not parent_alive():
                raise _Quit
            try:
                cmd = commands.get(timeout=0.5) if (block and state["paused"]) else commands.get_nowait()
            except queue.Empty:
                if block and state["paused"]:
                    continue
                return
            handle(cmd)

    points: list[tuple[int, float]] = []
    lines: list[str] = []
    latest: BatchEnd | None = None
    last_tick = 0.0
    flushed = 0  # entries of run.history.train_loss already sent

    def flush_tick() -> None:
        nonlocal latest, flushed, last_tick
        h = run.history
        n = min(len(h.train_loss), len(h.train_seen))
        points.extend(zip(h.train_seen[flushed:n], h.train_loss[flushed:n]))
        flushed = n
        ev = latest
        emit(Tick(ev.epoch, ev.batch, ev.batches, ev.epoch_samples, ev.n_train, ev.seen,
                  ev.step, ev.samples_per_sec, tuple(points), tuple(lines)))
        points.clear()
        lines.clear()
        latest = None
        last_tick = time.monotonic()

    for ev in run.events():
        now = time.monotonic()
        folder.record(ev)
        if isinstance(ev, TestEnd):
            folder.after_test(run.state_dict(), ev.accuracy)
        if isinstance(ev, BatchEnd):
            latest = ev
            if ev.batch % 100 == 0:
                lines.append(format_train(ev))
            if now - last_tick >= TICK_SECONDS:
                flush_tick()
        else:
            if latest is not None:
                flush_tick()
            emit(ev)
        if now - state["last_poll"] >= COMMAND_POLL:
            state["last_poll"] = now
            poll(block=True)
    if latest is not None:
        flush_tick()
    # The run has ended: keep answering (save a checkpoint, quit) until told to quit.
    while True:
        state["paused"] = True
        poll(block=True)


# ------------------------------------------------------------------------ transports

class ThreadEngine:
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

    def send(self, *command: Any) -> None:
        self._commands.put(command)

    def get(self, timeout: float) -> Any:
        return self._events.get(timeout=timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        self.send("quit")
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
    engine_loop(spec, events.put, commands, parent_alive=lambda: os.getppid() == parent_pid)


class ProcessEngine:
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

    def send(self, *command: Any) -> None:
        self._commands.put(command)

    def get(self, timeout: float) -> Any:
        return self._events.get(timeout=timeout)

    def alive(self) -> bool:
        return self._proc.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        if self._proc.pid is None:
            return
        if self._proc.is_alive():
            self.send("quit")
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
