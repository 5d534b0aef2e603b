"""Every run folder under a directory, summarised for `mnist-tui runs` (no UI here).

``scan(root)`` finds run folders recursively (restart folders ``<base>-restartN`` are
folders like any other) and summarises each from what the table needs: config.json,
metrics.jsonl (read with its train rows skipped unparsed) or, when it is still current,
the small ``summary.json`` a run writes when it ends. A folder that cannot be read is
a summary with status ``damaged`` and the reason; nothing here raises for one folder.

``load_curves(path)`` reads one run's loss and accuracy curves (for the overlay).
"""

from __future__ import annotations

import json
import re
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core import safeio, safewrite
from core.config import show_value
from core.errors import MnistTuiError
from core.events import EpochEnd, HparamsChanged, RunFinished, RunStarted, TestEnd
from core.metrics import (
    CAUSES, METRICS_JSONL, STALE_SECONDS, end_status, event_for, improves, interruption,  # noqa: F401
    parse_row, read_rows,
    train_curve,
)
from core.runfolder import CONFIG, LAST, LOCK, SUMMARY, read_config, writer_pid

SUMMARY_FORMAT = "mnist-tui-summary-2"  # (2: an end's status already mapped, its note)
MARKERS = (CONFIG, METRICS_JSONL, LAST)  # a folder holding one of these is a run folder
STATUSES = ("running", "finished", "stopped", "diverged", "pruned", "damaged")
#: the settings compared between runs, in column order
SETTINGS = ("model", "lr", "lr_step_gamma", "momentum", "batch_size", "test_batch_size",
            "epochs", "seed", "hidden", "activation", "optimizer", "limit_train", "limit_test")
#: what a run written before a setting existed ran with
_BEFORE = {"model": "mlp", "lr_step_gamma": 1.0}
_TRAIN_PREFIX = b'{"kind": "train"'
ENDED = ("finished", "stopped", "diverged")  # how a run that ended by itself (or by s) ends
DASHBOARD_OPEN = "dashboard open"  # the note of an ended run whose dashboard still holds it
@dataclass
class RunSummary:
    """One row of the table."""

    path: str
    name: str                        # relative to the scanned directory
    status: str = "damaged"          # one of STATUSES
    reason: str = ""                 # why damaged; or how it stopped (interrupted, killed)
    started: float | None = None     # when config.json was written (epoch seconds)
    updated: float | None = None     # the last write to metrics.jsonl
    dataset: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # name -> value now (None: absent)
    started_with: dict[str, Any] = field(default_factory=dict)  # edited ones: their first value
    epochs_done: int = 0
    epochs_planned: int | None = None
    best_accuracy: float | None = None  # what its `Max Accuracy is` line printed
    best_epoch: int | None = None
    last_test_loss: float | None = None
    duration: float | None = None    # seconds from the first write to the last (or now)
    size: int = 0                    # bytes on disk, like du
    pid: int | None = None           # the live writer's

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------- finding

def find_run_dirs(root: str | os.PathLike) -> list[Path]:
    """Every folder at or under ``root`` holding a run's file, sorted by path. A folder
    under ``root`` that cannot be listed (mode 000) is among them: it is shown as damaged,
    with the reason, rather than left out without a word."""
    found: list[Path] = []
    stack = [Path(root)]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError:
            if d != Path(root):
                found.append(d)
            continue
        names = set()
        for e in entries:
            names.add(e.name)
            try:
                if e.is_dir(follow_symlinks=False) and not e.name.startswith("."):
                    stack.append(Path(e.path))
            except OSError:
                continue
        if names.intersection(MARKERS):
            found.append(d)
    return sorted(found)


# ------------------------------------------------------------------------- summarising

class _Damaged(Exception):
    pass


def setting_text(run: RunSummary, name: str) -> str:
    """A setting as the table shows it: ``0.2``, ``100,50``, ``-`` (absent), and
    ``0.2→0.05`` for one edited while the run trained (``core.config.show_value``: never
    rounded to another number)."""
    if name not in run.settings:
        return "-"
    now = show_value(run.settings[name])
    if name in run.started_with:
        return f"{show_value(run.started_with[name])}→{now}"
    return now


def read_metrics(path: Path) -> dict[str, Any]:
    """What the table needs from metrics.jsonl, train rows skipped unparsed. Raises
    _Damaged naming the line for a row that is not what a run writes (a last line cut
    short by a kill is not damage)."""
    try:
        data = safeio.read_bytes(path)
    except FileNotFoundError:
        raise _Damaged(f"{METRICS_JSONL} missing") from None
    except OSError as exc:
        raise _Damaged(f"{METRICS_JSONL} unreadable ({safeio.why(exc)})") from None
    facts: dict[str, Any] = {"starts": 0, "hparams": None, "edited": [], "epochs_done": 0,
                             "epochs_planned": None, "best_accuracy": None, "best_epoch": None,
                             "last_test_loss": None, "end": None, "n_train": None,
                             "cut_short": False}
    lines = data.split(b"\n")
    last = len(lines) - 1
    for i, line in enumerate(lines):
        if not line or line.startswith(_TRAIN_PREFIX):
            continue
        row = parse_row(line)  # the format's checks, in core.runfolder
        try:
            if row is None:
                raise ValueError
            _apply(facts, row)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            if i == last and row is None:
                facts["cut_short"] = True  # written no further: killed mid-line
                continue
            raise _Damaged(f"{METRICS_JSONL} line {i + 1}: {_why(line, exc)}") from None
    if facts["starts"] == 0:
        raise _Damaged(f"{METRICS_JSONL} has no start row")
    return facts


def _why(line: bytes, exc: Exception) -> str:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return "not JSON"
    if isinstance(exc, KeyError):
        return f"not a run's row ({exc.args[0]})"
    return "not a run's row (a field missing or of the wrong type)"


def _apply(facts: dict[str, Any], row: dict[str, Any]) -> None:
    ev = event_for(row)  # the format's reading, in core.metrics
    if isinstance(ev, RunStarted):
        facts["starts"] += 1
        facts["hparams"] = dict(ev.hparams)
        facts["epochs_planned"] = int(ev.hparams["epochs"])
        facts["epochs_done"] = max(facts["epochs_done"], ev.epoch)
        facts["n_train"] = ev.n_train
        facts["end"] = None  # a resumed run: its earlier end no longer holds
    elif isinstance(ev, TestEnd):
        if improves(ev.accuracy, facts["best_accuracy"]):
            facts["best_accuracy"], facts["best_epoch"] = ev.accuracy, ev.epoch
        facts["last_test_loss"] = ev.avg_loss
    elif isinstance(ev, EpochEnd):
        facts["epochs_done"] = ev.epoch
    elif isinstance(ev, HparamsChanged):
        if ev.applied:
            for name, (_old, new) in row["changes"].items():  # as JSON: the summary keeps them
                if facts["hparams"] is not None:
                    facts["hparams"][name] = new
                if name not in facts["edited"]:
                    facts["edited"].append(name)
                if name == "epochs":
                    facts["epochs_planned"] = int(new)
    elif isinstance(ev, RunFinished):
        _status, note = end_status(row["status"], row.get("signal"))
        facts["end"] = {"status": ev.status.value, "note": note, "epoch": ev.epochs_done}
        facts["epochs_done"] = max(facts["epochs_done"], ev.epochs_done)
    # other kinds (train rows, kinds a later version adds) change nothing shown here


def _metrics_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns]


def _cached_facts(run_dir: Path, key: list[int]) -> dict[str, Any] | None:
    try:
        saved = json.loads(safeio.read_bytes(run_dir / SUMMARY, limit=safeio.SMALL))
    except (OSError, ValueError):
        return None
    if (isinstance(saved, dict) and saved.get("format") == SUMMARY_FORMAT
            and saved.get("metrics") == key and _facts_ok(saved.get("facts"))):
        return saved["facts"]
    return None  # damaged or forged: metrics.jsonl is read instead


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


#: the facts summary.json keeps, each with the check of its value
_FACTS = {
    "starts": _is_whole, "epochs_done": _is_whole, "n_train": lambda v: v is None or _is_whole(v),
    "epochs_planned": lambda v: v is None or _is_whole(v),
    "best_epoch": lambda v: v is None or _is_whole(v),
    "best_accuracy": lambda v: v is None or _is_num(v),
    "last_test_loss": lambda v: v is None or _is_num(v),
    "hparams": lambda v: v is None or isinstance(v, dict),
    "edited": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "cut_short": lambda v: isinstance(v, bool),
    "end": lambda v: v is None or (isinstance(v, dict) and isinstance(v.get("status"), str)
                                   and _is_whole(v.get("epoch"))),
}


def _facts_ok(facts: Any) -> bool:
    """summary.json's facts are those ``read_metrics`` returns, of the same types."""
    return isinstance(facts, dict) and all(k in facts and ok(facts[k]) for k, ok in _FACTS.items())


def write_summary(run_dir: str | os.PathLike) -> None:
    """Keep what the table needs in ``summary.json`` (called when a run ends), so that
    listing many runs reads a few hundred bytes per folder. It is used only while
    metrics.jsonl is exactly as it was then. Never raises."""
    d = Path(run_dir)
    try:
        key = _metrics_key((d / METRICS_JSONL).stat())
        facts = read_metrics(d / METRICS_JSONL)
        text = json.dumps({"format": SUMMARY_FORMAT, "metrics": key, "facts": facts})
        safewrite.atomic_write_bytes(d / SUMMARY, lambda f: f.write(text.encode()))
    except (_Damaged, OSError, MnistTuiError):  # WriteError: a full or read-only disk
        pass


def _disk_size(run_dir: Path) -> int:
    total = 0
    try:
        with os.scandir(run_dir) as it:
            for e in it:
                try:
                    if e.is_file(follow_symlinks=False):
                        st = e.stat(follow_symlinks=False)
                        total += getattr(st, "st_blocks", 0) * 512 or st.st_size
                except OSError:
                    continue
    except OSError:
        pass
    return total


def summarise(run_dir: str | os.PathLike, root: str | os.PathLike | None = None, *,
              now: float | None = None) -> RunSummary:
    """One folder's row. Never raises: a folder it cannot read is ``damaged``."""
    d = Path(run_dir)
    try:
        name = str(d.relative_to(root)) if root is not None else str(d)
    except ValueError:
        name = str(d)
    s = RunSummary(path=str(d), name=name if name != "." else d.name)
    try:
        s.size = _disk_size(d)
        s.pid = writer_pid(d)
        _fill(s, d, time.time() if now is None else now)
    except _Damaged as exc:
        s.status, s.reason = "damaged", str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad folder never stops the listing
        s.status, s.reason = "damaged", f"{type(exc).__name__}: {exc}".splitlines()[0]
    if s.pid is not None and s.status == "damaged":
        s.status = "running"  # a live writer: half-written is expected
        s.reason = s.reason and f"so far: {s.reason}"
    return s


def _fill(s: RunSummary, d: Path, now: float) -> None:
    try:
        config = read_config(d)  # every field checked, in core.runfolder
    except MnistTuiError as exc:
        raise _Damaged(str(exc).replace(f"{d}{os.sep}", "")) from None
    try:
        s.started = (d / CONFIG).stat().st_mtime
    except OSError as exc:
        raise _Damaged(f"{CONFIG} unreadable ({exc.strerror})") from None
    hp = config["hparams"]
    s.dataset = str(config.get("dataset", "?"))
    hp = {**_BEFORE, **hp} if isinstance(hp, dict) else hp
    s.settings = {k: hp.get(k) for k in SETTINGS if k in hp}
    s.settings["limit_train"] = config.get("limit_train")
    s.settings["limit_test"] = config.get("limit_test")
    s.epochs_planned = hp.get("epochs") if isinstance(hp.get("epochs"), int) else None

    try:
        st = (d / METRICS_JSONL).stat()
    except FileNotFoundError:
        raise _Damaged(f"{METRICS_JSONL} missing") from None
    key = _metrics_key(st)
    s.updated = st.st_mtime
    facts = _cached_facts(d, key) or read_metrics(d / METRICS_JSONL)

    final = facts["hparams"] or {}
    for k in facts["edited"]:
        if k in s.settings and k in final and final[k] != s.settings[k]:
            s.started_with[k], s.settings[k] = s.settings[k], final[k]
    s.epochs_done = int(facts["epochs_done"])
    s.epochs_planned = facts["epochs_planned"] or s.epochs_planned
    s.best_accuracy, s.best_epoch = facts["best_accuracy"], facts["best_epoch"]
    s.last_test_loss = facts["last_test_loss"]
    end = facts["end"]
    live = s.pid is not None or (
        not (d / LOCK).exists() and end is None and now - st.st_mtime < STALE_SECONDS)
    if live and end is not None and end["status"] in ENDED and not end["note"]:  # not interrupted
        # Ended, its dashboard still open: it keeps the folder (its lock) while it can
        # still write there (s saves a checkpoint), so it is not deleted from under it.
        s.status, s.reason = end["status"], DASHBOARD_OPEN
        s.duration = max(st.st_mtime - s.started, 0.0)
    elif live:
        s.status = "running"
        s.duration = max(now - s.started, 0.0)
        if s.pid is None:
            s.reason = f"no lock file; written {now - st.st_mtime:.0f} s ago"
    elif end is not None:
        s.status, s.reason = end["status"], end["note"]
        s.duration = max(st.st_mtime - s.started, 0.0)
    else:
        s.status = "stopped"
        s.reason = "no end row: quit mid-run or killed" + (
            " (last line cut short)" if facts["cut_short"] else "")
        s.duration = max(st.st_mtime - s.started, 0.0)


def scan(root: str | os.PathLike,
         previous: dict[str, RunSummary] | None = None) -> list[RunSummary]:
    """Every run folder under ``root``, summarised (sorted by path). ``previous``
    (summaries by path, from an earlier scan): those of ended runs whose config.json and
    metrics.jsonl have not changed since, and which no process writes now, are reused."""
    now = time.time()
    out = []
    for d in find_run_dirs(root):
        old = previous.get(str(d)) if previous else None
        out.append(old if old is not None and _unchanged(d, old) else summarise(d, root, now=now))
    return _name_restarts(out)


RESTARTED = interruption("restart")


def _name_restarts(runs: list[RunSummary]) -> list[RunSummary]:
    """A run restarted with r says which folder the new run went to: the first
    ``<base>-restartN`` beside it started after it (the end row names only the cause)."""
    for r in runs:
        if r.reason != RESTARTED or r.started is None:
            continue
        path = Path(r.path)
        base = re.sub(r"-restart\d+$", "", path.name)
        later = [o for o in runs if o is not r and o.started is not None and o.started >= r.started
                 and Path(o.path).parent == path.parent
                 and re.fullmatch(re.escape(base) + r"-restart\d+", Path(o.path).name)]
        if later:
            new = min(later, key=lambda o: o.started)
            r.reason = f"interrupted: restarted (r) into {Path(new.path).name}"
    return runs


def _unchanged(d: Path, old: RunSummary) -> bool:
    if old.status in ("running", "damaged") or old.pid is not None or old.updated is None:
        return False
    try:
        if ((d / METRICS_JSONL).stat().st_mtime != old.updated
                or (d / CONFIG).stat().st_mtime != old.started):
            return False
    except OSError:
        return False
    return writer_pid(d) is None


def compare_settings(runs: list[RunSummary]) -> tuple[dict[str, str], list[str]]:
    """(settings the same in every run that has them, names of those that differ),
    both in SETTINGS order; damaged folders without settings do not count. The model
    and the schedule are named only when some run is not the tutorial's MLP at a
    constant learning rate."""
    with_settings = [r for r in runs if r.settings]
    same: dict[str, str] = {}
    differ: list[str] = []
    for k in SETTINGS:
        values = {setting_text(r, k) for r in with_settings}
        if len(values) > 1:
            differ.append(k)
        elif values:
            value = values.pop()
            if k not in _BEFORE or value != show_value(_BEFORE[k]):
                same[k] = value  # (the tutorial's network, constant lr: not worth a word)
    return same, differ


def label(run: RunSummary, differ: list[str]) -> str:
    """A run named by its differing settings (``lr 0.1 relu``), else by its name."""
    parts = [f"{k} {setting_text(run, k)}" for k in differ]
    return " ".join(parts) if parts else run.name


# ------------------------------------------------------------------------- curves

@dataclass
class Curves:
    """One run's plotted data; ``x`` in examples seen, ``*_epoch`` in epochs."""

    train_seen: list[int] = field(default_factory=list)
    train_epoch: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_seen: list[int] = field(default_factory=list)
    test_epoch: list[int] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    problem: str = ""  # why there are none (or fewer than the file holds)


def load_curves(run_dir: str | os.PathLike) -> Curves:
    """A run's train losses (``core.metrics.train_curve``: the curve the dashboard and
    watch draw) and test results from metrics.jsonl; never raises."""
    c = Curves()
    try:
        rows, bad = read_rows(run_dir)
    except MnistTuiError as exc:
        c.problem = str(exc).replace(f"{Path(run_dir)}{os.sep}", "")
        return c
    if not (Path(run_dir) / METRICS_JSONL).exists():
        c.problem = f"{METRICS_JSONL}: missing"
        return c
    try:
        for p in train_curve(rows):
            c.train_seen.append(p.seen)
            c.train_loss.append(p.loss)
            c.train_epoch.append(p.epoch)
        for r in rows:
            if r["kind"] == "test":
                c.test_epoch.append(r["epoch"])
                c.test_seen.append(r["seen"])
                c.test_loss.append(float(r["loss"]))
                c.test_accuracy.append(float(r["accuracy"]))
    except (ValueError, TypeError, KeyError):
        bad += 1
    if bad:
        c.problem = f"{bad} unreadable line{'s' if bad > 1 else ''} in {METRICS_JSONL} skipped"
    return c
