"""A run's folder: its configuration, its metrics (CSV and JSON Lines) and its
checkpoints (last and best), all written so that a kill at any moment leaves what was
there before readable."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from core import checkpoint
from core.checkpoint import CheckpointError
from core.events import BatchEnd, EpochEnd, HparamsChanged, RunFinished, RunStarted, TestEnd

CONFIG = "config.json"
METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
LAST = "checkpoint-last.pt"
BEST = "checkpoint-best.pt"
TEST_LAST = "test-last.json"  # every prediction of the latest test: for `mnist-tui watch`
REPORT_TXT = "report.txt"
REPORT_JSON = "report.json"
CSV_FIELDS = ("kind", "epoch", "step", "seen", "loss", "accuracy", "correct", "total", "detail")
LOG_INTERVAL = 100


def default_run_dir() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def _atomic_text(path: Path, text: str) -> None:
    checkpoint.atomic_write_bytes(path, lambda f: f.write(text.encode()))


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    if not Path(run_dir).is_dir():
        raise CheckpointError(f"{run_dir}: no such run folder")
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; is {run_dir} an mnist-tui run folder?") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != "mnist-tui-run":
        raise CheckpointError(f"{path}: not an mnist-tui run configuration")
    return config


class RunFolder:
    """Writes one run's folder as its events go by."""

    def __init__(self, path: str | os.PathLike, config: dict[str, Any], *, resume_step: int | None = None):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"{self.path}: cannot create the run folder ({exc.strerror})") from None
        self.best_accuracy = -1.0
        self.step = resume_step or 0
        if resume_step is None:
            _atomic_text(self.path / CONFIG, json.dumps({"format": "mnist-tui-run", **config}, indent=2))
            for name in (METRICS_JSONL, METRICS_CSV):
                (self.path / name).unlink(missing_ok=True)
        else:
            self._truncate_after(resume_step)
        new_csv = not (self.path / METRICS_CSV).exists()
        self._jsonl = open(self.path / METRICS_JSONL, "a", encoding="utf-8")
        self._csv_file = open(self.path / METRICS_CSV, "a", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._csv_file, CSV_FIELDS)
        if new_csv:
            self._csv.writeheader()

    def _truncate_after(self, step: int) -> None:
        """On resume: drop metrics logged after the checkpoint (they will come again)."""
        src = self.path / METRICS_JSONL
        rows = []
        if src.exists():
            for line in src.read_text().splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill
                if row.get("step", 0) <= step:
                    rows.append(row)
        for row in rows:
            if row.get("kind") == "test":
                self.best_accuracy = max(self.best_accuracy, row["accuracy"])
        _atomic_text(src, "".join(json.dumps(r) + "\n" for r in rows))
        out = io.StringIO()
        w = csv.DictWriter(out, CSV_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow(_csv_row(r))
        _atomic_text(self.path / METRICS_CSV, out.getvalue())

    def _write(self, row: dict[str, Any]) -> None:
        self._jsonl.write(json.dumps(row) + "\n")
        self._jsonl.flush()
        self._csv.writerow(_csv_row(row))
        self._csv_file.flush()

    def record(self, ev: Any) -> None:
        """Log an event. Besides the metrics, rows of kind start / epoch / end (and the
        extra fields of train and test rows) let `mnist-tui watch` follow the run."""
        if isinstance(ev, BatchEnd):
            self.step = ev.step
            if ev.batch % LOG_INTERVAL == 0:
                self._write({"kind": "train", "epoch": ev.epoch, "step": ev.step,
                             "seen": ev.seen, "loss": ev.loss, "batch": ev.batch,
                             "batches": ev.batches, "batch_size": ev.batch_size,
                             "epoch_samples": ev.epoch_samples, "n_train": ev.n_train,
                             "samples_per_sec": round(ev.samples_per_sec, 1)})
        elif isinstance(ev, TestEnd):
            self._write({"kind": "test", "epoch": ev.epoch, "step": self.step, "seen": ev.seen,
                         "loss": ev.avg_loss, "accuracy": ev.accuracy, "correct": ev.correct,
                         "total": ev.total, "confusion": [list(r) for r in ev.confusion],
                         "per_class_correct": list(ev.per_class_correct),
                         "per_class_total": list(ev.per_class_total)})
            if ev.predictions:
                _atomic_text(self.path / TEST_LAST, json.dumps({
                    "epoch": ev.epoch, "step": self.step, "seen": ev.seen,
                    "predictions": list(ev.predictions),
                    "confidences": [round(c, 4) for c in ev.confidences],
                    "hardest": [{"index": p.index, "label": p.label, "pred": p.pred,
                                 "confidence": p.confidence, "probs": list(p.probs),
                                 "loss": p.loss} for p in ev.hardest]}))
        elif isinstance(ev, RunStarted):
            self.step = ev.step
            self._write({"kind": "start", "epoch": ev.epoch, "step": ev.step,
                         "hparams": ev.hparams, "device": ev.device, "n_train": ev.n_train,
                         "n_test": ev.n_test, "n_params": ev.n_params,
                         "architecture": ev.architecture, "classes": list(ev.classes)})
        elif isinstance(ev, EpochEnd):
            self._write({"kind": "epoch", "epoch": ev.epoch, "step": ev.step, "seen": ev.seen,
                         "loss": ev.mean_loss, "seconds": round(ev.seconds, 3)})
        elif isinstance(ev, RunFinished):
            self.end(ev.status, epoch=ev.epochs_done, best_accuracy=ev.best_accuracy,
                     best_epoch=ev.best_epoch)
        elif isinstance(ev, HparamsChanged):
            self._write({"kind": "edit", "epoch": ev.epoch, "step": ev.step, "seen": ev.seen,
                         "effect": ev.effect, "applied": ev.applied,
                         "changes": {k: [_plain(o), _plain(n)] for k, (o, n) in ev.changes.items()}})

    def end(self, status: str, *, epoch: int, **detail: Any) -> None:
        """The run ended (finished, stopped, diverged) or was interrupted by a signal."""
        self._write({"kind": "end", "status": status, "epoch": epoch, "step": self.step, **detail})
        from core.runs import write_summary  # for `mnist-tui runs`; never raises

        write_summary(self.path)

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
        best = accuracy > self.best_accuracy
        if best:
            self.best_accuracy = accuracy
        self.save(state, best=best)

    def close(self) -> None:
        self._jsonl.close()
        self._csv_file.close()


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _csv_row(r: dict[str, Any]) -> dict[str, Any]:
    row = {k: r.get(k) for k in CSV_FIELDS if k != "detail"}
    if r.get("kind") in ("start", "end"):
        row["detail"] = json.dumps({k: v for k, v in r.items() if k not in CSV_FIELDS})
    if r.get("kind") == "edit":
        row["detail"] = json.dumps({"effect": r["effect"], "applied": r["applied"],
                                    "changes": r["changes"]})
    return row
