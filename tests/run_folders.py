"""Run folders for the `mnist-tui runs` tests: real short headless runs, and hand-made
damaged or half-written ones."""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from core.config import Hyperparameters
from core.runfolder import CONFIG, METRICS_JSONL

REAL = {  # name -> hyperparameters of a real run (500 train, 200 test digits)
    "base": {"epochs": 2},
    "lr-0.05": {"epochs": 2, "lr": 0.05},
    "relu": {"epochs": 3, "activation": "relu", "lr": 0.05},
}
#: when the made runs "started" and how long they took, for fixed times on screen
T0 = 1_700_000_000.0


def real_run(run_dir: Path, data: Path, *, resume: bool = False, out=None, **hp) -> None:
    """A headless run in this process (500 train, 200 test digits); ``resume``: continue
    the run in ``run_dir`` with ``hp`` as edits (``epochs=2``: train it further)."""
    from core.session import RunSpec
    from tui.headless import run_headless

    spec = RunSpec(hparams=Hyperparameters(**({} if resume else hp)), dataset="mnist",
                   data_dir=str(data), device="cpu", limit_train=500, limit_test=200,
                   run_dir=str(run_dir), allow_download=False,
                   resume=str(run_dir) if resume else None, resume_changes=hp if resume else {})
    code = run_headless(spec, plot=False, out=out or io.StringIO())
    assert code == 0


def make_runs(root: Path, data: Path) -> Path:
    """root/: three finished real runs (one of them with a restart beside it, in a
    sub-folder), a diverged one, a killed one and three damaged ones."""
    for name, hp in REAL.items():
        real_run(root / name, data, **hp)
    shutil.copytree(root / "base", root / "group" / "base-restart1")
    # diverged: a real folder whose end row says so
    shutil.copytree(root / "base", root / "diverged")
    rewrite_end(root / "diverged", status="diverged")
    # killed mid-run: no end row, the last line cut short
    shutil.copytree(root / "lr-0.05", root / "killed")
    p = root / "killed" / METRICS_JSONL
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:-2]) + "\n" + lines[-2][:25])
    (root / "killed" / "summary.json").unlink()
    # damaged
    (root / "bad-config").mkdir()
    (root / "bad-config" / CONFIG).write_text("{not json")
    shutil.copytree(root / "base", root / "no-metrics")
    (root / "no-metrics" / METRICS_JSONL).unlink()
    shutil.copytree(root / "base", root / "bad-line")
    p = root / "bad-line" / METRICS_JSONL
    lines = p.read_text().splitlines()
    lines.insert(2, "garbage")
    p.write_text("\n".join(lines) + "\n")
    (root / "not-a-run").mkdir()  # no run file: not listed
    (root / "not-a-run" / "notes.txt").write_text("hello")
    fix_times(root)  # long ago: a folder without a lock written just now would count as running
    return root


def rewrite_end(run_dir: Path, **fields) -> None:
    p = run_dir / METRICS_JSONL
    rows = [json.loads(x) for x in p.read_text().splitlines()]
    rows[-1].update(fields)
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))


def fix_times(root: Path) -> None:
    """Every run started at T0 + i minutes and took 65 s (for snapshots)."""
    for i, d in enumerate(sorted(p.parent for p in root.rglob(CONFIG))):
        start = T0 + 60 * i
        os.utime(d / CONFIG, (start, start))
        if (d / METRICS_JSONL).exists():
            os.utime(d / METRICS_JSONL, (start + 65, start + 65))


@contextmanager
def live_writer(run_dir: Path):
    """Hold the run folder's lock as a writing process does (its pid inside)."""
    fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield os.getpid()
    finally:
        os.close(fd)
