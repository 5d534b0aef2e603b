"""`mnist-tui watch RUN_DIR`: follow a run that another process is writing.

``FolderTransport`` has the engine interface the dashboard already speaks (start / send /
get / alive / close) but, instead of training, it follows the run folder like
``tail -F``: each new line of metrics.jsonl becomes the event the dashboard would have
received from a live run (start -> RunStarted, train -> Tick, test -> TestEnd with the
predictions kept in test-last.json, edit -> HparamsChanged, epoch -> EpochEnd,
end -> RunFinished). It never writes to the folder. A file has no "changed" event that
works everywhere, so the folder is looked at a few times a second.
"""

from __future__ import annotations

import json
import os
import stat
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np

from core import safeio
from core.config import Hyperparameters, hidden_activation
from core.errors import MnistTuiError
from core.events import EpochStarted, HparamsChanged, LayerStats, Prediction, RunFinished, RunStarted, TestEnd
from core.metrics import (
    METRICS_JSONL, STALE_SECONDS, TrainLogged, event_for, parse_row, train_curve,
)
from core.runfolder import CONFIG, LOCK, TEST_LAST, read_config
from tui.engine.protocol import (
    Command, DataReady, EngineEvent, EngineFailed, EngineStopped, Loading, Notice, Quit,
    ReadProgress, Tick, WatchReset,
)

POLL_SECONDS = 0.25
READ_CHUNK = 1 << 20  # a backlog is read a megabyte at a time, with a progress bar


def waits_for_run(run_dir: Path) -> bool:
    """True while ``run_dir`` may still become a run folder: it does not exist yet, or
    it is empty or held by a starting run (a lock, no config.json yet)."""
    run_dir = Path(run_dir)
    if not os.path.lexists(run_dir):
        return True
    if not os.path.isdir(run_dir) or os.path.lexists(run_dir / CONFIG):
        return False
    try:
        return all(p.name == LOCK or p.name.startswith(".") for p in run_dir.iterdir())
    except OSError:  # a folder that cannot be listed: read_config says why
        return False


class FolderTransport:
    """Follows a run folder; read-only: every command but quit is refused."""

    def __init__(self, run_dir: str | Path, config: dict[str, Any] | None = None):
        """``config``: the folder's config.json, when the command line has read (and
        checked) it already; else it is read once the folder holds a run."""
        self.run_dir = Path(run_dir)
        self._config = config
        self._events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="mnist-tui-watch", daemon=True)
        self.skipped = 0  # damaged metrics lines passed over

    # the engine interface
    def start(self) -> None:
        self._thread.start()

    def send(self, command: Command) -> None:
        if isinstance(command, Quit):
            self._stop.set()

    def get(self, timeout: float) -> EngineEvent:
        return self._events.get(timeout=timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # following
    def _follow(self) -> None:
        emit = self._events.put
        try:
            config = self._wait_for_config(emit)
            if config is None:
                return
            emit(Loading(f"watching {self.run_dir} (read-only: the run is trained by another process)"))
            self._load_digits(config, emit)
            self._tail(config, emit)
        except MnistTuiError as exc:
            emit(EngineFailed(str(exc)))
        except Exception as exc:  # an internal error: one line, never a traceback on screen
            emit(EngineFailed(f"watch: {type(exc).__name__}: {exc}".splitlines()[0]))
        finally:
            emit(EngineStopped())

    def _wait_for_config(self, emit) -> dict[str, Any] | None:
        """The run's config.json; while the folder does not exist yet, or is being set
        up by its run (the data still loading), wait for it and say so."""
        if self._config is not None:
            return self._config
        said = False
        while not self._stop.is_set():
            if not waits_for_run(self.run_dir):
                return read_config(self.run_dir)
            if not said:
                emit(Loading(f"waiting for the run folder {self.run_dir} to appear "
                             f"(a run creates it when it starts) ..."))
                said = True
            self._stop.wait(POLL_SECONDS)
        return None

    def _load_digits(self, config: dict[str, Any], emit) -> None:
        from core.datafiles import get_spec, test_arrays

        spec = get_spec(config.get("dataset", "mnist"))
        try:
            images, labels, source = test_arrays(spec.name, config.get("data_dir"))
        except MnistTuiError as exc:
            emit(Loading(f"no digits to draw: {exc}"))
            return
        n = config.get("limit_test") or len(labels)
        images, labels = images[:n], labels[:n]
        emit(DataReady(spec.title, spec.classes, 0, len(labels),
                       np.ascontiguousarray(images).reshape(len(labels), 784).tobytes(),
                       labels.astype(np.uint8).tobytes(), str(source)))

    def _tail(self, config: dict[str, Any], emit) -> None:
        import time

        path = self.run_dir / METRICS_JSONL
        state = _Translator(self.run_dir, config)
        offset, buffer = 0, b""
        last_change = time.monotonic()
        warned = False
        while not self._stop.is_set():
            try:
                st = path.stat()
                size = st.st_size
            except FileNotFoundError:
                size = 0
            except OSError as exc:
                raise MnistTuiError(f"{path}: cannot be read ({safeio.why(exc)})") from None
            else:
                if not stat.S_ISREG(st.st_mode):  # a named pipe would never grow: say so
                    raise MnistTuiError(f"{path}: cannot be read "
                                        f"({safeio.kind_of(st.st_mode)}, not a regular file)")
            if size < offset:  # rewritten: a resume truncated it
                offset, buffer = 0, b""
                state = _Translator(self.run_dir, config)
                emit(WatchReset())
                emit(Loading("the run folder was rewritten (the run was resumed): reading it again"))
            if size > offset:
                try:
                    with safeio.open_regular(path) as f:
                        f.seek(offset)
                        chunk = f.read(min(size - offset, READ_CHUNK))
                except OSError as exc:
                    raise MnistTuiError(f"{path}: cannot be read ({safeio.why(exc)})") from None
                offset += len(chunk)
                if size > READ_CHUNK:  # a long run's backlog: say how far the reading is
                    emit(ReadProgress(METRICS_JSONL, offset, size))
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                rows = []
                bad = 0
                for line in complete:
                    row = parse_row(line) if line.strip() else None
                    if row is not None:
                        rows.append(row)
                    elif line.strip():
                        bad += 1  # damaged, or cut short by a kill: skipped, counted
                before = state.bad
                events = list(state.translate(rows))
                bad += state.bad - before
                if bad:  # said before the events, so that it is in the log when they show
                    self.skipped += bad
                    emit(Notice(f"skipped {self.skipped:,} damaged line"
                                f"{'s' if self.skipped > 1 else ''} of {METRICS_JSONL}",
                                severity="warning"))
                for ev in events:
                    emit(ev)
                last_change, warned = time.monotonic(), False
                if offset < size:
                    continue  # more of the backlog: no pause between chunks
            elif (not warned and not state.ended
                  and time.monotonic() - last_change > STALE_SECONDS):
                warned = True
                emit(Loading(f"no new metrics for {STALE_SECONDS:.0f} s: is the run still going?"))
            self._stop.wait(POLL_SECONDS)


class _Translator:
    """metrics.jsonl rows -> the dashboard's events, each row read by
    ``core.metrics.event_for``. Consecutive train rows become one Tick (their points:
    ``core.metrics.train_curve``), so a long backlog is read in a few messages."""

    def __init__(self, run_dir: Path, config: dict[str, Any]):
        self.run_dir = run_dir
        self.epochs = int(config.get("hparams", {}).get("epochs", 0))
        hp = config.get("hparams", {})
        self.activation = hidden_activation(hp.get("model"), hp.get("activation"))
        self.epoch = 0
        self.ended = False
        self.bad = 0
        self.classes = 0  # the run's class count (its start row's), which a test's rows match
        self._previous_kind = ""

    def translate(self, rows: list[dict[str, Any]]):
        train: list[dict[str, Any]] = []   # train rows since the last Tick
        logged: list[TrainLogged] = []

        def tick() -> Tick:
            last = logged[-1]
            ev = Tick(last.epoch, last.batch, last.batches, last.epoch_samples, last.n_train,
                      last.seen, last.step, last.samples_per_sec,
                      tuple((p.seen, p.loss) for p in train_curve(train)),
                      tuple(t.line for t in logged if t.line is not None))
            train.clear()
            logged.clear()
            return ev

        for r in rows:
            try:
                ev = event_for(r, self.activation)
                if isinstance(ev, TrainLogged):
                    if ev.epoch != self.epoch:
                        if logged:
                            yield tick()
                        self.epoch = ev.epoch
                        yield EpochStarted(ev.epoch, self.epochs, ev.batches, ev.batch_size,
                                           ev.n_train)
                    ev.line  # its Train Epoch line can be made (a row no run writes: skipped)
                    train.append(r)
                    logged.append(ev)
                    continue
                if logged:
                    yield tick()
                if isinstance(ev, RunStarted):
                    self.ended = False
                    self.epochs = Hyperparameters.from_dict(ev.hparams).epochs
                    self.classes = len(ev.classes)
                elif isinstance(ev, TestEnd):
                    ev = self._with_predictions(ev, r)
                elif isinstance(ev, HparamsChanged):
                    # values a run can hold, or ConfigError: the row is skipped
                    Hyperparameters().with_changes(**{k: n for k, (_, n) in ev.changes.items()})
                    if ev.applied and "epochs" in ev.changes:
                        self.epochs = Hyperparameters().with_changes(
                            epochs=ev.changes["epochs"][1]).epochs
                elif isinstance(ev, LayerStats) and self._previous_kind == "test":
                    ev = self._with_weights(ev)  # after a test: the weights' tiles too
                elif isinstance(ev, RunFinished):
                    self.ended = True
                if ev is not None:
                    yield ev
            except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError,
                    MnistTuiError):
                self.bad += 1  # well-formed but not what a run writes: skipped, counted
            finally:
                self._previous_kind = r.get("kind")
        if logged:
            yield tick()

    def _with_weights(self, ev: LayerStats) -> LayerStats:
        from dataclasses import replace

        from core.runfolder import read_first_weights

        weights = read_first_weights(self.run_dir)
        if weights is None:
            return ev
        return replace(ev, after_test=True, first_weights=weights.tobytes(),
                       first_shape=(int(weights.shape[0]), int(weights.shape[1])))

    def _with_predictions(self, ev: TestEnd, r: dict[str, Any]) -> TestEnd:
        """The test's predictions, when test-last.json still holds this test's."""
        from dataclasses import replace

        preds: dict[str, Any] = {}
        try:
            saved = json.loads(safeio.read_bytes(self.run_dir / TEST_LAST, limit=safeio.MEDIUM))
            if saved.get("epoch") == r["epoch"] and saved.get("step") == r["step"]:
                preds = saved
        except (OSError, ValueError):
            pass
        try:
            hardest = tuple(Prediction(int(h["index"]), int(h["label"]), int(h["pred"]),
                                       float(h["confidence"]), tuple(map(float, h["probs"])),
                                       float(h["loss"])) for h in preds.get("hardest", ()))
            predictions = tuple(int(p) for p in preds.get("predictions", ()))
            confidences = tuple(float(c) for c in preds.get("confidences", ()))
        except (KeyError, TypeError, ValueError, AttributeError):
            hardest, predictions, confidences = (), (), ()  # a damaged test-last.json
        if len(predictions) != ev.total or len(confidences) != len(predictions):
            predictions, confidences = (), ()
        n = len(ev.confusion)
        if self.classes and n not in (0, self.classes):
            raise ValueError(f"a test of {n} classes in a run of {self.classes}")
        return replace(ev, hardest=hardest, predictions=predictions, confidences=confidences)
