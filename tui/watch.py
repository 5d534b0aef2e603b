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
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np

from core.config import Hyperparameters, hidden_activation
from core.errors import MnistTuiError
from core.events import (
    EpochEnd, EpochStarted, HparamsChanged, LayerStats, Prediction, RunFinished, RunStarted,
    TestEnd, train_line,
)
from core.runfolder import CONFIG, LOCK, METRICS_JSONL, TEST_LAST, parse_row, read_config
from tui.bridge import (
    DataReady, EngineFailed, EngineStopped, Loading, Notice, Quit, ReadProgress, Tick,
)

POLL_SECONDS = 0.25
READ_CHUNK = 1 << 20  # a backlog is read a megabyte at a time, with a progress bar
STALE_SECONDS = 60.0


def waits_for_run(run_dir: Path) -> bool:
    """True while ``run_dir`` may still become a run folder: it does not exist yet, or
    it is empty or held by a starting run (a lock, no config.json yet)."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return True
    if not run_dir.is_dir() or (run_dir / CONFIG).exists():
        return False
    return all(p.name == LOCK or p.name.startswith(".") for p in run_dir.iterdir())


class WatchReset:
    """The run folder was rewritten (the run was resumed): start the picture over."""


class FolderTransport:
    """Follows a run folder; read-only: every command but quit is refused."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self._events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="mnist-tui-watch", daemon=True)
        self.skipped = 0  # damaged metrics lines passed over

    # the engine interface
    def start(self) -> None:
        self._thread.start()

    def send(self, command: Any) -> None:
        if isinstance(command, Quit):
            self._stop.set()

    def get(self, timeout: float) -> Any:
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
                size = path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size < offset:  # rewritten: a resume truncated it
                offset, buffer = 0, b""
                state = _Translator(self.run_dir, config)
                emit(WatchReset())
                emit(Loading("the run folder was rewritten (the run was resumed): reading it again"))
            if size > offset:
                try:
                    with open(path, "rb") as f:
                        f.seek(offset)
                        chunk = f.read(min(size - offset, READ_CHUNK))
                except OSError as exc:
                    raise MnistTuiError(f"{path}: cannot be read ({exc.strerror or exc})") from None
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
    """metrics.jsonl rows -> the dashboard's events. Consecutive train rows become one
    Tick, so a long backlog is read in a few messages."""

    def __init__(self, run_dir: Path, config: dict[str, Any]):
        self.run_dir = run_dir
        self.epochs = int(config.get("hparams", {}).get("epochs", 0))
        hp = config.get("hparams", {})
        self.activation = hidden_activation(hp.get("model"), hp.get("activation"))
        self.epoch = 0
        self.ended = False
        self.bad = 0
        self._previous_kind = ""

    def translate(self, rows: list[dict[str, Any]]):
        points: list[tuple[int, float]] = []
        lines: list[str] = []
        last: dict[str, Any] | None = None

        def tick():
            nonlocal points, lines, last
            r = last
            ev = Tick(r["epoch"], r.get("batch", 0), r.get("batches", 1),
                      r.get("epoch_samples", 0), r.get("n_train", 0), r["seen"], r["step"],
                      r.get("samples_per_sec", 0.0), tuple(points), tuple(lines))
            points, lines, last = [], [], None
            return ev

        for r in rows:
            try:
                kind = r.get("kind")
                if kind == "train":
                    if r["epoch"] != self.epoch:
                        if last is not None:
                            yield tick()
                        self.epoch = r["epoch"]
                        yield EpochStarted(r["epoch"], self.epochs, r.get("batches", 1),
                                           r.get("batch_size", 0), r.get("n_train", 0))
                    points.append((r["seen"], r["loss"]))
                    if "batch_size" in r:
                        lines.append(train_line(r["epoch"], r["batch"], r["batches"],
                                                r["batch_size"], r["n_train"], r["loss"]))
                    last = r
                    continue
                if last is not None:
                    yield tick()
                if kind == "start":
                    self.ended = False
                    self.epochs = Hyperparameters.from_dict(r["hparams"]).epochs
                    yield RunStarted(r["hparams"], r["device"], r["n_train"], r["n_test"],
                                     r["n_params"], r["architecture"], tuple(r["classes"]),
                                     r["epoch"], r["step"])
                elif kind == "test":
                    yield self._test(r)
                elif kind == "edit":
                    changes = {k: (tuple(o) if isinstance(o, list) else o,
                                   tuple(n) if isinstance(n, list) else n)
                               for k, (o, n) in r["changes"].items()}
                    if r["applied"] and "epochs" in changes:
                        self.epochs = Hyperparameters().with_changes(epochs=changes["epochs"][1]).epochs
                    yield HparamsChanged(r["step"], r["epoch"], r["seen"], changes, r["effect"],
                                         r["applied"])
                elif kind == "layers":  # per-layer statistics, for "Inside the network"
                    ev = LayerStats.from_row(r, self.activation)
                    if self._previous_kind == "test":  # after a test: the weights' tiles too
                        ev = self._with_weights(ev)
                    yield ev
                elif kind == "epoch":
                    yield EpochEnd(r["epoch"], r["seen"], r["step"], r["loss"], r.get("seconds", 0.0))
                elif kind == "end":
                    self.ended = True
                    status = r["status"] if r["status"] != "interrupted" else "stopped"
                    yield RunFinished(status, r["epoch"], r["step"], r.get("best_accuracy", 0.0),
                                      r.get("best_epoch", -1))
            except (KeyError, TypeError, ValueError, IndexError, AttributeError, MnistTuiError):
                self.bad += 1  # well-formed but not what a run writes: skipped, counted
            finally:
                self._previous_kind = r.get("kind")
        if last is not None:
            yield tick()

    def _with_weights(self, ev: LayerStats) -> LayerStats:
        from dataclasses import replace

        from core.runfolder import read_first_weights

        weights = read_first_weights(self.run_dir)
        if weights is None:
            return ev
        return replace(ev, after_test=True, first_weights=weights.tobytes(),
                       first_shape=(int(weights.shape[0]), int(weights.shape[1])))

    def _test(self, r: dict[str, Any]) -> TestEnd:
        preds: dict[str, Any] = {}
        try:
            saved = json.loads((self.run_dir / TEST_LAST).read_text())
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
        if len(predictions) != r["total"] or len(confidences) != len(predictions):
            predictions, confidences = (), ()
        n = len(r.get("confusion", ()))
        return TestEnd(
            epoch=r["epoch"], seen=r["seen"], avg_loss=r["loss"], correct=r["correct"],
            total=r["total"],
            per_class_correct=tuple(r.get("per_class_correct", (0,) * n)),
            per_class_total=tuple(r.get("per_class_total", (0,) * n)),
            confusion=tuple(tuple(row) for row in r.get("confusion", ())),
            hardest=hardest, predictions=predictions, confidences=confidences)

