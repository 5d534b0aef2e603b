"""The run folder's metrics format (``metrics.jsonl``), written and read in this one module.

Every kind of row is made from its event here (``row_for``) and made back into its
event here (``event_for``), each row checked against ``ROW_FIELDS`` on reading
(``parse_row``, ``read_rows``). Everyone who reads a run folder's metrics goes through
it: the resumed dashboard's past, ``watch``, ``mnist-tui runs`` and its overlay. The
rules a reader needs are here too, each once: which test is the best (``improves``,
``best_test``), what an end row's status means (``end_status``), when a silent run is
stale (``STALE_SECONDS``), and the train-loss curve (``train_curve``: the loss logged
every ``LOG_INTERVAL`` steps, the points the tutorial plots).

No PyTorch, no UI: a display process reads metrics without either.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from core import safeio
from core.checkpoint import CheckpointError
from core.events import (BatchEnd, EpochEnd, HparamsChanged, LayerStat, LayerStats, RunFinished,
                         RunStarted, RunStatus, TestEnd, train_line)

METRICS_JSONL = "metrics.jsonl"
#: the tutorial prints a train line every 100 batches; the folder logs a train row then
LOG_INTERVAL = 100
#: a run whose metrics have not changed for this long may no longer be running
STALE_SECONDS = 60.0

# ------------------------------------------------------------------------ checking

#: For each kind of metrics row, its required fields and their types ("int": 0 to
#: MAX_COUNT; "number": a finite int or float, never a bool). Rows of other kinds are
#: passed through unchecked.
ROW_FIELDS: dict[str, dict[str, str]] = {
    "start": {"epoch": "int", "step": "int", "hparams": "dict", "device": "str",
              "n_train": "int", "n_test": "int", "n_params": "int", "architecture": "str",
              "classes": "list"},
    "train": {"epoch": "int", "step": "int", "seen": "int", "loss": "number"},
    "test": {"epoch": "int", "step": "int", "seen": "int", "loss": "number",
             "accuracy": "number", "correct": "int", "total": "int"},
    "epoch": {"epoch": "int", "step": "int", "seen": "int", "loss": "number"},
    "edit": {"epoch": "int", "step": "int", "seen": "int", "effect": "str", "applied": "bool",
             "changes": "dict"},
    "end": {"status": "str", "epoch": "int", "step": "int"},
    "layers": {"epoch": "int", "step": "int", "seen": "int", "layers": "list"},
}
#: Optional fields, checked when present.
ROW_OPTIONAL: dict[str, dict[str, str]] = {
    "train": {"batch": "int", "batches": "int", "batch_size": "int", "epoch_samples": "int",
              "n_train": "int", "samples_per_sec": "number"},
    "test": {"confusion": "list", "per_class_correct": "list", "per_class_total": "list"},
    "epoch": {"seconds": "number", "cpu_seconds": "number"},
    "end": {"best_accuracy": "number", "best_epoch": "int or -1", "signal": "str"},
}
#: Counts, epochs and steps beyond this are not a run's (a float holds them exactly).
MAX_COUNT = 2**53
#: How an ``end`` row may say the run ended (a sweep's pruned trial included).
END_STATUSES = (*(s.value for s in RunStatus if s not in (RunStatus.READY, RunStatus.RUNNING)),
                "interrupted")
CHECKS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_COUNT,
    "number": lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool)
                         and math.isfinite(v) and abs(v) <= MAX_COUNT),
    "int or -1": lambda v: v == -1 and not isinstance(v, bool) or CHECKS["int"](v),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
}


def row_ok(row: dict[str, Any]) -> bool:
    """Whether a decoded line is a row of its kind: fields present, of their types, and
    values a run can have (finite, in range, shapes that agree)."""
    kind = row.get("kind")
    if not isinstance(kind, str):
        return False
    for name, t in ROW_FIELDS.get(kind, {}).items():
        if name not in row or not CHECKS[t](row[name]):
            return False
    for name, t in ROW_OPTIONAL.get(kind, {}).items():
        if name in row and not CHECKS[t](row[name]):
            return False
    if kind == "train" and not 0 <= row.get("batch", 0) < row.get("batches", 1):
        return False  # a step of an epoch of at least one batch
    if kind in ("train", "test", "epoch") and (row["loss"] < 0 or row.get("seconds", 0) < 0
                                                or row.get("cpu_seconds", 0) < 0
                                                or row.get("samples_per_sec", 0) < 0):
        return False
    if kind == "test" and not _test_ok(row):
        return False
    if kind == "end" and (row["status"] not in END_STATUSES
                          or not -1 <= row.get("best_accuracy", 0) <= 100):
        return False
    if kind == "layers" and not all(_layer_ok(d) for d in row["layers"]):
        return False
    if kind == "edit" and not all(isinstance(v, list) and len(v) == 2
                                  for v in row["changes"].values()):
        return False
    if kind == "start" and "classes" in row and not all(isinstance(c, str) for c in row["classes"]):
        return False
    return True


def _test_ok(row: dict[str, Any]) -> bool:
    if not 0 <= row["correct"] <= row["total"] or not 0 <= row["accuracy"] <= 100:
        return False
    cm = row.get("confusion")
    if cm is not None and not all(
            isinstance(r, list) and len(r) == len(cm) and all(CHECKS["int"](c) for c in r)
            for r in cm):
        return False
    for key in ("per_class_correct", "per_class_total"):
        if key in row and not all(CHECKS["int"](c) for c in row[key]):
            return False
    # one class count for the matrix and the per-class lists
    return len({len(row[k]) for k in ("confusion", "per_class_correct", "per_class_total")
                if k in row}) <= 1


def _layer_ok(d: Any) -> bool:
    """One layer of a ``layers`` row. Its statistics may be NaN or infinite (a diverging
    run's weights are); None where not measured."""
    if not (isinstance(d, dict) and isinstance(d.get("name"), str)
            and isinstance(d.get("shape"), list) and len(d["shape"]) == 2
            and all(CHECKS["int"](n) and n > 0 for n in d["shape"])):
        return False
    stats = ("weight_norm", "grad_norm", "update_ratio", "activation_mean", "saturated")
    return isinstance(d.get("weight_norm"), (int, float)) and all(
        d.get(k) is None or (isinstance(d[k], (int, float)) and not isinstance(d[k], bool))
        for k in stats)


def parse_row(line: bytes | str) -> dict[str, Any] | None:
    """One metrics line as a checked row, or None for a line that is not one (cut short
    by a kill, not UTF-8, not an object, a field of the wrong type ...)."""
    try:
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        row = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return row if isinstance(row, dict) and row_ok(row) else None


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The checked rows of complete metrics lines, and how many lines were skipped."""
    rows, skipped = [], 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        row = parse_row(line)
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    return rows, skipped


def read_rows(run_dir: str | os.PathLike) -> tuple[list[dict[str, Any]], int]:
    """The checked rows of a run's metrics.jsonl and how many lines were skipped.
    A missing file is no rows; a file that cannot be read at all is ``CheckpointError``."""
    path = Path(run_dir) / METRICS_JSONL
    try:
        data = safeio.read_bytes(path)
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({safeio.why(exc)})") from None
    return parse_lines(data)


# ------------------------------------------------------------------------ events -> rows

def row_for(ev: Any, step: int = 0) -> dict[str, Any] | None:
    """The metrics row of an event, or None for an event that has none (a BatchEnd
    between two log intervals, progress ...). ``step``: the run's step, for the test
    row (a TestEnd does not carry it)."""
    if isinstance(ev, BatchEnd):
        if ev.batch % LOG_INTERVAL:
            return None
        return {"kind": "train", "epoch": ev.epoch, "step": ev.step, "seen": ev.seen,
                "loss": ev.loss, "batch": ev.batch, "batches": ev.batches,
                "batch_size": ev.batch_size, "epoch_samples": ev.epoch_samples,
                "n_train": ev.n_train, "samples_per_sec": round(ev.samples_per_sec, 1)}
    if isinstance(ev, TestEnd):
        return {"kind": "test", "epoch": ev.epoch, "step": step, "seen": ev.seen,
                "loss": ev.avg_loss, "accuracy": ev.accuracy, "correct": ev.correct,
                "total": ev.total, "confusion": [list(r) for r in ev.confusion],
                "per_class_correct": list(ev.per_class_correct),
                "per_class_total": list(ev.per_class_total)}
    if isinstance(ev, RunStarted):
        return {"kind": "start", "epoch": ev.epoch, "step": ev.step, "hparams": ev.hparams,
                "device": ev.device, "n_train": ev.n_train, "n_test": ev.n_test,
                "n_params": ev.n_params, "architecture": ev.architecture,
                "classes": list(ev.classes)}
    if isinstance(ev, EpochEnd):
        return {"kind": "epoch", "epoch": ev.epoch, "step": ev.step, "seen": ev.seen,
                "loss": ev.mean_loss, "seconds": round(ev.seconds, 3),
                "cpu_seconds": round(ev.cpu_seconds, 3)}
    if isinstance(ev, HparamsChanged):
        return {"kind": "edit", "epoch": ev.epoch, "step": ev.step, "seen": ev.seen,
                "effect": ev.effect, "applied": ev.applied,
                "changes": {k: [_plain(o), _plain(n)] for k, (o, n) in ev.changes.items()}}
    if isinstance(ev, RunFinished):
        return end_row(ev.status, epoch=ev.epochs_done, step=ev.step,
                       best_accuracy=ev.best_accuracy, best_epoch=ev.best_epoch)
    if isinstance(ev, LayerStats):  # the first layer's weights go to their own file
        return {"kind": "layers", "epoch": ev.epoch, "step": ev.step, "seen": ev.seen,
                "layers": [{"name": s.name, "shape": list(s.shape), "weight_norm": s.weight_norm,
                            "grad_norm": s.grad_norm, "update_ratio": s.update_ratio,
                            "activation_mean": s.activation_mean, "saturated": s.saturated}
                           for s in ev.layers]}
    return None


def end_row(status: str, *, epoch: int, step: int, **detail: Any) -> dict[str, Any]:
    """The run ended (finished, stopped, diverged) or was interrupted (``signal``: why)."""
    return {"kind": "end", "status": str(status), "epoch": epoch, "step": step, **detail}


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _tupled(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


# ------------------------------------------------------------------------ rows -> events

@dataclass(frozen=True)
class TrainLogged:
    """A train row read back: the step the tutorial logged (its ``Train Epoch`` line)."""

    epoch: int
    step: int
    seen: int
    loss: float
    batch: int = 0
    batches: int = 1
    batch_size: int = 0      # 0: a row written without it (no line can be made)
    epoch_samples: int = 0
    n_train: int = 0
    samples_per_sec: float = 0.0

    @property
    def line(self) -> str | None:
        """The tutorial's ``Train Epoch`` line of this step."""
        if not self.batch_size:
            return None
        return train_line(self.epoch, self.batch, self.batches, self.batch_size, self.n_train,
                          self.loss)


#: why a run was interrupted (its end row's "signal"), in words
CAUSES = {"quit": "quit mid-run (q)", "restart": "restarted (r): the new run is in a …-restartN folder",
          "SIGHUP": "hang-up (SIGHUP: the terminal or SSH session closed)",
          "SIGTERM": "terminated (SIGTERM)", "SIGINT": "Ctrl+C (SIGINT)",
          "SIGPIPE": "its output went away (SIGPIPE)",
          "the dashboard went away": "the dashboard went away"}


def interruption(cause: Any) -> str:
    """The note of an interrupted run: what interrupted it, in words."""
    if not cause:
        return "interrupted"
    return f"interrupted: {CAUSES.get(str(cause), str(cause))}"


def end_status(status: str, signal: str | None = None) -> tuple[RunStatus, str]:
    """What an end row's status means: (the run's status, a note on how it stopped).
    "interrupted" (a signal, a quit mid-run) is a stopped run; an unknown word too."""
    if status == "interrupted":
        return RunStatus.STOPPED, interruption(signal)
    try:
        return RunStatus(status), ""
    except ValueError:
        return RunStatus.STOPPED, f"ended as {status!r}"


def event_for(row: dict[str, Any], activation: str = "sigmoid") -> Any:
    """A checked row back as its event (``parse_row`` first); None for a kind this
    version does not know. A test row's event has no predictions (test-last.json keeps
    the latest), a layers row's no weights (first-layer-weights.npy); ``activation``:
    the run's, for reading a layers row's saturation. KeyError, TypeError or ValueError
    for a row that is well-formed but not what a run writes."""
    kind = row["kind"]
    if kind == "train":
        return TrainLogged(row["epoch"], row["step"], row["seen"], float(row["loss"]),
                           row.get("batch", 0), row.get("batches", 1), row.get("batch_size", 0),
                           row.get("epoch_samples", 0), row.get("n_train", 0),
                           float(row.get("samples_per_sec", 0.0)))
    if kind == "test":
        n = len(row.get("confusion", ()))
        return TestEnd(epoch=row["epoch"], seen=row["seen"], avg_loss=float(row["loss"]),
                       correct=row["correct"], total=row["total"],
                       per_class_correct=tuple(row.get("per_class_correct", (0,) * n)),
                       per_class_total=tuple(row.get("per_class_total", (0,) * n)),
                       confusion=tuple(tuple(r) for r in row.get("confusion", ())))
    if kind == "start":
        return RunStarted(row["hparams"], row["device"], row["n_train"], row["n_test"],
                          row["n_params"], row["architecture"], tuple(row["classes"]),
                          row["epoch"], row["step"])
    if kind == "epoch":
        return EpochEnd(row["epoch"], row["seen"], row["step"], float(row["loss"]),
                        float(row.get("seconds", 0.0)), float(row.get("cpu_seconds", 0.0)))
    if kind == "edit":
        changes = {k: (_tupled(o), _tupled(n)) for k, (o, n) in row["changes"].items()}
        return HparamsChanged(row["step"], row["epoch"], row["seen"], changes, row["effect"],
                              row["applied"])
    if kind == "end":
        status, _note = end_status(row["status"], row.get("signal"))
        return RunFinished(status, row["epoch"], row["step"],
                           float(row.get("best_accuracy", 0.0)), int(row.get("best_epoch", -1)))
    if kind == "layers":
        return LayerStats(row["epoch"], row["step"], row["seen"], tuple(
            LayerStat(str(d["name"]), (int(d["shape"][0]), int(d["shape"][1])),
                      float(d["weight_norm"]), _opt(d.get("grad_norm")),
                      _opt(d.get("update_ratio")), _opt(d.get("activation_mean")),
                      _opt(d.get("saturated")))
            for d in row["layers"]), activation)
    return None


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


# ------------------------------------------------------------------------ the rules

def improves(accuracy: float, best: float | None) -> bool:
    """Whether a test's accuracy is the run's new best: finite and strictly above the
    best so far (None: no test yet). The first of equal bests stays the best, as the
    tutorial's ``max`` keeps it."""
    return math.isfinite(accuracy) and (best is None or accuracy > best)


def best_test(tests: Iterable[tuple[float, int]]) -> tuple[float, int] | None:
    """(accuracy, epoch) of the best of (accuracy, epoch) tests, by ``improves``; None
    before any."""
    best: tuple[float, int] | None = None
    for accuracy, epoch in tests:
        if improves(accuracy, None if best is None else best[0]):
            best = (accuracy, epoch)
    return best


class TrainPoint(NamedTuple):
    """One point of the train-loss curve."""

    seen: int       # examples seen
    loss: float
    epoch: float    # epochs done, fractional (seen / training examples)


def train_curve(rows: Iterable[dict[str, Any]]) -> list[TrainPoint]:
    """The train-loss curve of a run: its logged train rows, in order (the loss the
    tutorial prints and plots, every LOG_INTERVAL steps). The dashboard (live and
    resumed), ``watch`` and the runs overlay all draw this one curve."""
    out = []
    for r in rows:
        if r.get("kind") == "train":
            seen, n_train = int(r["seen"]), int(r.get("n_train") or 0)
            out.append(TrainPoint(seen, float(r["loss"]),
                                  seen / n_train if n_train else float(r["epoch"])))
    return out
