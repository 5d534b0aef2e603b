"""A run's folder: its configuration, its metrics (CSV and JSON Lines) and its
checkpoints (last and best).

The rules, each in one place here:
- one writer per folder: the writer holds ``.lock`` (``fcntl.flock``) for its whole
  life, and ``writer_pid`` tells anyone else who that is; readers (``watch``, ``runs``)
  take no lock;
- a folder that already holds a run is never overwritten by accident (``--overwrite``
  says so on purpose);
- every file is written so that a kill at any moment leaves what was there readable
  (whole files: temporary file, fsync, rename; metrics: appended lines, a cut last line
  is skipped on reading), with the umask's permissions; temporary files left by a kill
  are removed the next time the folder is opened for writing, and never read;
- no write follows a link (``core.safewrite``): a link, or anything but a regular file,
  where a run file or the lock should be, or a link in place of the run folder itself,
  is refused in one line before anything is written (``check_folder``);
- the metrics rows are made and read back by ``core.metrics`` (the format's one
  module); ``RunFolder.record`` appends them.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import json
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

from core import checkpoint, safeio, safewrite
from core.checkpoint import CheckpointError
from core.errors import RunFolderError, WriteError
from core.events import BatchEnd, LayerStats, RunFinished, RunStarted, TestEnd
from core.metrics import (  # noqa: F401  (the format's names, re-exported)
    CHECKS, LOG_INTERVAL, METRICS_JSONL, end_row, improves, parse_row, read_rows, row_for,
)
from core.safewrite import write_error

CONFIG = "config.json"
METRICS_CSV = "metrics.csv"
LAST = "checkpoint-last.pt"
BEST = "checkpoint-best.pt"
TEST_LAST = "test-last.json"  # every prediction of the latest test: for `mnist-tui watch`
REPORT_TXT = "report.txt"
REPORT_JSON = "report.json"
FIRST_WEIGHTS = "first-layer-weights.npy"  # the first layer's weights after the latest test
SUMMARY = "summary.json"  # what `mnist-tui runs` lists: core.runs writes it as a run ends
LOCK = ".lock"
#: The files that make a folder hold a run (and that --overwrite replaces).
RUN_FILES = (CONFIG, METRICS_JSONL, METRICS_CSV, LAST, BEST, TEST_LAST, REPORT_TXT, REPORT_JSON,
             FIRST_WEIGHTS, SUMMARY)
#: Everything a run writes in its folder: each must be absent or a regular file.
WRITTEN = (LOCK, *RUN_FILES)
CSV_FIELDS = ("kind", "epoch", "step", "seen", "loss", "accuracy", "correct", "total", "detail")
RUN_FORMAT = "mnist-tui-run"


def default_run_dir(root: str | os.PathLike = "runs") -> Path:
    """``runs/<date>-<time>``, with a suffix when that name is taken (two runs started
    in the same second)."""
    base = Path(root) / datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = base, 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}")
    return path


def _atomic_text(path: Path, text: str) -> None:
    safewrite.atomic_write_bytes(path, lambda f: f.write(text.encode()))


def _atomic_npy(path: Path, data: bytes, shape: tuple[int, int]) -> None:
    import numpy as np

    arr = np.frombuffer(data, dtype=np.float32).reshape(shape)
    safewrite.atomic_write_bytes(path, lambda f: np.save(f, arr, allow_pickle=False))


def read_first_weights(run_dir: str | os.PathLike):
    """The first layer's weights saved after the latest test (a float32 array, units x
    inputs: 784 for the MLP, 9 for the CNN's 3x3 filters), or None when there are none
    or they cannot be read."""
    import math

    import numpy as np

    try:
        with safeio.open_regular(Path(run_dir) / FIRST_WEIGHTS, limit=safeio.LARGE) as f:
            arr = np.load(f, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if (arr.ndim != 2 or arr.dtype != np.float32 or arr.shape[1] < 1
            or math.isqrt(arr.shape[1]) ** 2 != arr.shape[1]):  # each unit a square tile
        return None
    return arr


# ------------------------------------------------------------------------ reading

def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """A run folder's config.json, every field checked; ``CheckpointError`` naming the
    file and the field otherwise."""
    from core.config import ConfigError, Hyperparameters
    from core.datafiles import REGISTRY

    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    try:
        if not stat.S_ISDIR(os.stat(run_dir).st_mode):
            raise CheckpointError(f"{run_dir}: not a folder")
    except FileNotFoundError:
        raise CheckpointError(f"{run_dir}: no such run folder") from None
    except OSError as exc:
        raise CheckpointError(f"{run_dir}: cannot be read ({safeio.why(exc)})") from None
    try:
        data = safeio.read_bytes(path, limit=safeio.SMALL)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; is {run_dir} an mnist-tui run folder?") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({safeio.why(exc)})") from None
    try:
        config = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: not readable JSON ({str(exc)[:100]})") from None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        raise CheckpointError(f"{path}: not an mnist-tui run configuration")

    def bad(name: str, why: str) -> CheckpointError:
        return CheckpointError(f"{path}: {name}: {why}")

    if config.get("dataset") not in REGISTRY:
        raise bad("dataset", f"must be one of {', '.join(REGISTRY)}, found {config.get('dataset')!r}")
    for key in ("limit_train", "limit_test"):
        v = config.get(key)
        if v is not None and (not CHECKS["int"](v) or v < 1):
            raise bad(key, f"must be a whole number 1 or more, or null; found {v!r}")
    for key in ("data_dir", "device"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise bad(key, f"must be a string, found {config[key]!r}")
    if not isinstance(config.get("hparams"), dict):
        raise bad("hparams", "missing or not a table")
    try:
        Hyperparameters.from_dict(config["hparams"])
    except ConfigError as exc:
        raise bad("hparams", str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise bad("hparams", str(exc).splitlines()[0]) from None
    return config


def holds_run(path: str | os.PathLike) -> list[str]:
    """The run files in ``path`` (empty: no run there)."""
    p = Path(path)
    return [name for name in RUN_FILES if (p / name).exists()] if p.is_dir() else []


def writer_pid(run_dir: str | os.PathLike) -> int | None:
    """The pid of the live process writing ``run_dir`` (0 if it cannot be read), or
    None when no process holds the folder's lock."""
    try:  # a link or a named pipe planted there is no writer's lock
        fd = os.open(Path(run_dir) / LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            try:
                return int(os.pread(fd, 32, 0).decode().strip() or 0)
            except (OSError, ValueError):
                return 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Temporary files of interrupted writes (".<name>.<random>.tmp"): removed."""
    return safewrite.remove_temporaries(run_dir, RUN_FILES)


def check_folder(path: str | os.PathLike) -> None:
    """Refuse (``UnsafeFileError``, one line naming it) a run folder that is a link, or
    that holds a link or anything but a regular file where a file of the run goes.
    ``RunFolder`` asks this before its first write; the dashboard, before it starts."""
    if os.path.lexists(path):
        safewrite.refuse_unsafe(path, WRITTEN)


# ------------------------------------------------------------------------ writing

class RunFolder:
    """Writes one run's folder as its events go by; holds the folder's lock.

    ``RunFolder(path)`` takes the lock (a second writer: ``RunFolderError`` naming the
    pid that holds it) and clears interrupted writes; then ``start(config)`` for a new
    run (refused where a run is already, unless ``overwrite``) or ``resume(step)``.
    Every write failure is ``WriteError`` (one line: the file and the cause).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.best_accuracy: float | None = None  # of the tests so far
        self.step = 0
        self._jsonl = self._csv_file = None
        self._csv: csv.DictWriter | None = None
        self._lock_fd = None
        check_folder(self.path)
        os.close(safewrite.open_folder(self.path, create=True))
        self._lock_fd = self._lock()  # (temporaries are cleared by start or resume: a
        # folder refused before its run starts is left as it was)

    def _lock(self) -> int:
        lock = self.path / LOCK
        try:
            fd = safewrite.open_regular(lock, os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise write_error(lock, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = writer_pid(self.path)
            os.close(fd)
            who = f"pid {pid}" if pid else "another process"
            raise RunFolderError(
                f"{self.path}: another mnist-tui process ({who}) is writing this run folder; "
                f"follow it with `mnist-tui watch {self.path}` or choose another --run-dir"
            ) from None
        try:
            st = os.fstat(fd)
            # Never into another name's file (a hard link); and only into a new lock
            # file: an earlier writer's pid is overwritten with the run's first write.
            if st.st_nlink == 1 and st.st_size == 0:
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        return fd

    def _write_pid(self) -> None:
        """Our pid in the lock file, for others' messages (a new lock file has it
        already): written over an earlier writer's with the run's first write (``start``
        / ``resume``), so that a resume refused after the folder was taken leaves even
        the lock file as it was."""
        try:
            if os.fstat(self._lock_fd).st_nlink == 1:  # never into another name's file
                os.ftruncate(self._lock_fd, 0)
                os.pwrite(self._lock_fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the lock itself is what matters; the pid is for messages

    def start(self, config: dict[str, Any], *, overwrite: bool = False) -> None:
        """A new run: refuse a folder holding one (``overwrite`` replaces it)."""
        existing = holds_run(self.path)
        if existing and not overwrite:
            self.close()
            raise RunFolderError(
                f"{self.path}: already holds a run ({', '.join(existing)}); continue it with "
                f"--resume {self.path}, choose another --run-dir, or pass --overwrite to replace it")
        self._write_pid()
        remove_stale_temporaries(self.path)
        for name in existing:
            safewrite.remove(self.path / name)
        _atomic_text(self.path / CONFIG, json.dumps({"format": RUN_FORMAT, **config}, indent=2))
        self._open_metrics(new=True)

    def fork(self, source: str | os.PathLike) -> None:
        """--resume SOURCE --run-dir this folder: SOURCE's run files copied here (new
        files, with this folder's umask and SOURCE's times), those it lacks removed;
        SOURCE stays as it was. Then ``resume``."""
        safewrite.refuse_unsafe(source, RUN_FILES)  # before the first copy
        for name in RUN_FILES:
            if not safewrite.copy_file(Path(source) / name, self.path / name):
                safewrite.remove(self.path / name)

    def resume(self, step: int, best_accuracy: float | None = None, *,
               rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Continue a run: drop metrics logged after the checkpoint (they come again).
        ``rows``: the folder's metrics rows, when the caller has read them already
        (``core.session.read_resume``). Returns the rows kept: the run's past."""
        self.step = step
        self.best_accuracy = best_accuracy
        self._write_pid()
        remove_stale_temporaries(self.path)
        if rows is None:
            rows, _ = read_rows(self.path)
        rows = [r for r in rows if r.get("step", 0) <= step]
        _atomic_text(self.path / METRICS_JSONL, "".join(json.dumps(r) + "\n" for r in rows))
        out = io.StringIO()
        w = csv.DictWriter(out, CSV_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow(_csv_row(r))
        _atomic_text(self.path / METRICS_CSV, out.getvalue())
        # A report of the run before it was resumed would describe another state of it.
        for name in (REPORT_TXT, REPORT_JSON):
            safewrite.remove(self.path / name)
        self._open_metrics(new=False)
        return rows

    def _open_metrics(self, *, new: bool) -> None:
        """Open the metrics for appending: ``new`` files (a new run; created, never an
        existing file), else the ones ``resume`` has just written."""
        self._jsonl = safewrite.open_append(self.path / METRICS_JSONL, new=new)
        self._csv_file = safewrite.open_append(self.path / METRICS_CSV, new=new)
        self._csv = csv.DictWriter(self._csv_file, CSV_FIELDS)
        if new:
            self._guard(METRICS_CSV, self._csv.writeheader)

    def _guard(self, name: str, fn) -> None:
        try:
            fn()
        except OSError as exc:
            raise write_error(self.path / name, exc) from None

    def _write(self, row: dict[str, Any]) -> None:
        line = json.dumps(row) + "\n"

        def jsonl():
            self._jsonl.write(line)
            self._jsonl.flush()

        def csv_row():
            self._csv.writerow(_csv_row(row))
            self._csv_file.flush()

        self._guard(METRICS_JSONL, jsonl)
        if row["kind"] != "layers":  # (the CSV has no columns for them)
            self._guard(METRICS_CSV, csv_row)

    def record(self, ev: Any) -> dict[str, Any] | None:
        """Log an event: its metrics row (``core.metrics.row_for``), and beside them the
        latest test's predictions and first-layer weights, for `mnist-tui watch`.
        Returns the row written (None: the event has none)."""
        if isinstance(ev, (BatchEnd, RunStarted)):
            self.step = ev.step
        row = row_for(ev, self.step)
        if isinstance(ev, RunFinished) and row is not None:
            row["step"] = self.step
        if row is not None:
            self._write(row)
        if isinstance(ev, TestEnd) and ev.predictions:
            _atomic_text(self.path / TEST_LAST, json.dumps({
                "epoch": ev.epoch, "step": self.step, "seen": ev.seen,
                "predictions": list(ev.predictions),
                "confidences": [round(c, 4) for c in ev.confidences],
                "hardest": [{"index": p.index, "label": p.label, "pred": p.pred,
                             "confidence": p.confidence, "probs": list(p.probs),
                             "loss": p.loss} for p in ev.hardest]}))
        elif isinstance(ev, LayerStats) and ev.after_test and ev.first_weights:
            _atomic_npy(self.path / FIRST_WEIGHTS, ev.first_weights, ev.first_shape)
        return row

    def end(self, status: str, *, epoch: int, **detail: Any) -> None:
        """The run ended (finished, stopped, diverged) or was interrupted by a signal."""
        self._write(end_row(status, epoch=epoch, step=self.step, **detail))

    def save(self, state: dict[str, Any], *, best: bool = False) -> Path:
        path = checkpoint.save(state, self.path / LAST)
        if best:
            checkpoint.save(state, self.path / BEST)
        return path

    def write_report(self, text: str, data: dict[str, Any]) -> tuple[Path, Path]:
        _atomic_text(self.path / REPORT_TXT, text + "\n")
        _atomic_text(self.path / REPORT_JSON, json.dumps(data, indent=1) + "\n")
        return self.path / REPORT_TXT, self.path / REPORT_JSON

    def after_test(self, state: dict[str, Any], accuracy: float) -> None:
        """Checkpoint after each test: always the last, and the best when it improved."""
        best = improves(accuracy, self.best_accuracy)
        self.save(state, best=best)
        if best:
            self.best_accuracy = accuracy

    def discard_if_empty(self) -> None:
        """Remove the folder when it holds nothing but its lock (a run that never
        started); after ``close``."""
        try:
            if all(p.name == LOCK for p in self.path.iterdir()):
                (self.path / LOCK).unlink(missing_ok=True)
                self.path.rmdir()
        except OSError:
            pass

    def close(self) -> None:
        for f in (self._jsonl, self._csv_file):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass  # a full disk: what was flushed is there
        self._jsonl = self._csv_file = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None


def _csv_row(r: dict[str, Any]) -> dict[str, Any]:
    row = {k: r.get(k) for k in CSV_FIELDS if k != "detail"}
    if r.get("kind") in ("start", "end"):
        row["detail"] = json.dumps({k: v for k, v in r.items() if k not in CSV_FIELDS})
    if r.get("kind") == "edit":
        row["detail"] = json.dumps({"effect": r["effect"], "applied": r["applied"],
                                    "changes": r["changes"]})
    return row


__all__ = ["RunFolder", "RunFolderError", "WriteError", "CheckpointError", "read_config",
           "read_rows", "parse_row", "writer_pid", "holds_run", "default_run_dir"]
