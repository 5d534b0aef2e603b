"""Run folders: one writer at a time, never overwritten by accident, write failures as
one line with the previous files intact, no temporary file left behind, the umask's
permissions, and the metrics format read back as it is written."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core import checkpoint, safewrite
from core.errors import RunFolderError, WriteError
from core.runfolder import (
    BEST, CONFIG, LAST, LOCK, METRICS_JSONL, REPORT_TXT, RunFolder, parse_row, read_rows, writer_pid,
)
from tests.helpers import write_split

ROOT = Path(__file__).resolve().parents[2]
EXE = [sys.executable, "-m", "tui.cli"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("rf-data"), 600, 200)


def headless(*args, **kw):
    from tui.cli import main

    return main(["--headless", "--no-plot", *map(str, args)], **kw)


def test_a_second_writer_is_refused_naming_the_pid(tmp_path):
    first = RunFolder(tmp_path / "r")
    assert writer_pid(tmp_path / "r") == os.getpid()
    with pytest.raises(RunFolderError, match=rf"another mnist-tui process \(pid {os.getpid()}\)"):
        RunFolder(tmp_path / "r")
    first.close()
    assert writer_pid(tmp_path / "r") is None  # released: a reader sees no writer
    RunFolder(tmp_path / "r").close()


def test_two_processes_on_one_folder(data, tmp_path, capsys):
    """A headless run holds its folder: a second run there is refused, in one line."""
    proc = subprocess.Popen([*EXE, "--data-dir", str(data), "--epochs", "500", "--no-plot",
                             "--run-dir", str(tmp_path / "r")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("Train Epoch: 2 "):
                break
        assert headless("--data-dir", data, "--run-dir", tmp_path / "r", "--overwrite") == 2
        err = capsys.readouterr().err
        assert f"another mnist-tui process (pid {proc.pid}) is writing this run folder" in err
        assert err.count("\n") == 1
        assert headless("--resume", tmp_path / "r") == 2
        assert f"(pid {proc.pid})" in capsys.readouterr().err
    finally:
        proc.terminate()
        proc.wait(60)
    assert proc.returncode == 143
    assert checkpoint.load(tmp_path / "r" / LAST)["step"] > 0


def test_an_existing_run_is_not_overwritten_without_asking(data, tmp_path, capsys):
    r = tmp_path / "r"
    assert headless("--data-dir", data, "--epochs", "1", "--run-dir", r, "--report") == 0
    best = (r / BEST).read_bytes()
    config = (r / CONFIG).read_text()
    assert headless("--data-dir", data, "--epochs", "1", "--lr", "5", "--run-dir", r) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and f"--resume {r}" in err and "--overwrite" in err
    assert (r / BEST).read_bytes() == best and (r / CONFIG).read_text() == config
    # On purpose: the old run's files go, its report with them.
    assert headless("--data-dir", data, "--epochs", "1", "--lr", "0.1", "--run-dir", r, "--overwrite") == 0
    assert json.loads((r / CONFIG).read_text())["hparams"]["lr"] == 0.1
    assert not (r / REPORT_TXT).exists()


def test_default_run_folders_never_collide(tmp_path, monkeypatch):
    from core.runfolder import default_run_dir

    monkeypatch.chdir(tmp_path)
    first = default_run_dir()
    first.mkdir(parents=True)
    second = default_run_dir()
    assert second != first and second.name.startswith(first.name)


def test_resume_into_another_folder_leaves_the_first_as_it_was(data, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert headless("--data-dir", data, "--epochs", "1", "--run-dir", a) == 0
    before = {p.name: p.read_bytes() for p in a.iterdir() if p.is_file() and p.name != LOCK}
    assert headless("--resume", a, "--run-dir", b, "--epochs", "2") == 0
    assert {p.name: p.read_bytes() for p in a.iterdir() if p.is_file() and p.name != LOCK} == before
    assert checkpoint.load(b / LAST)["epoch"] == 2
    rows, skipped = read_rows(b)
    assert [r["epoch"] for r in rows if r["kind"] == "test"] == [0, 1, 2] and skipped == 0


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / LAST
    checkpoint.save({"format": "x"}, target)
    before = target.read_bytes()

    def full(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match=f"{target}: could not write \\(no space left on the device\\)"):
        safewrite.atomic_write_bytes(target, full)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [LAST]


def test_a_full_disk_mid_run_is_one_line_and_exit_74(data, tmp_path, capsys, monkeypatch):
    """ENOSPC injected at the fourth metrics row: exit 74, one line naming the file,
    the checkpoint of the last test still loadable."""
    r = tmp_path / "r"
    real_open = RunFolder._open_metrics

    class FillsUp:
        def __init__(self, f):
            self.f, self.writes = f, 0

        def write(self, text):
            self.writes += 1
            if self.writes >= 4:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(text)

        def __getattr__(self, name):
            return getattr(self.f, name)

    def open_metrics(self, **kw):
        real_open(self, **kw)
        self._jsonl = FillsUp(self._jsonl)

    monkeypatch.setattr(RunFolder, "_open_metrics", open_metrics)
    code = headless("--data-dir", data, "--epochs", "3", "--run-dir", r)
    err = capsys.readouterr().err
    assert code == 74, err
    assert err.count("\n") == 1
    assert f"{r / METRICS_JSONL}: could not write (no space left on the device)" in err
    assert checkpoint.load(r / LAST)["epoch"] in (0, 1)  # the last test's checkpoint
    assert not [p for p in r.iterdir() if p.name.endswith(".tmp")]


def test_temporaries_of_an_interrupted_write_are_removed_and_never_read(tmp_path):
    r = tmp_path / "r"
    r.mkdir()
    stale = [r / f".{LAST}.abc123.tmp", r / f".{CONFIG}.zz.tmp"]
    for p in stale:
        p.write_bytes(b"half a checkpoint")
    keep = r / ".notes.txt"
    keep.write_text("mine")
    folder = RunFolder(r)  # taking the folder changes nothing in it (a refusal may follow)
    assert all(p.exists() for p in stale)
    folder.start({"dataset": "mnist"})  # starting (or resuming) the run clears them
    folder.close()
    assert not any(p.exists() for p in stale) and keep.exists()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_file_of_a_run_folder_follows_the_umask(data, tmp_path, umask, capsys):
    old = os.umask(umask)
    try:
        r = tmp_path / "r"
        assert headless("--data-dir", data, "--epochs", "1", "--run-dir", r, "--report") == 0
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in r.iterdir()}
    assert set(modes.values()) == {0o666 & ~umask}, modes
    assert {CONFIG, LAST, BEST, METRICS_JSONL, REPORT_TXT} <= set(modes)


def test_metrics_rows_round_trip(data, tmp_path):
    """What RunFolder writes, read_rows reads back whole; damaged lines are counted."""
    r = tmp_path / "r"
    assert headless("--data-dir", data, "--epochs", "1", "--run-dir", r) == 0
    lines = (r / METRICS_JSONL).read_text().splitlines()
    rows, skipped = read_rows(r)
    assert skipped == 0 and rows == [json.loads(x) for x in lines]
    assert [x["kind"] for x in rows][:2] == ["start", "test"] and rows[-1]["kind"] == "end"
    assert parse_row(b'{"kind": "test", "epoch": 1}') is None
    assert parse_row(b"[1]") is None and parse_row(b"\xff") is None
    assert parse_row('{"kind": "future-kind", "x": 1}') == {"kind": "future-kind", "x": 1}


def test_every_way_a_run_ends_is_a_valid_end_row():
    """Each status a run can end with (a sweep's pruned trial included) reads back, so
    `runs` and `watch` see how it ended; a made-up one is skipped."""
    from core.events import RunStatus
    from core.runfolder import parse_row

    for status in [*(s.value for s in RunStatus if s not in ("ready", "running")), "interrupted"]:
        row = parse_row(json.dumps({"kind": "end", "status": status, "epoch": 1, "step": 2}))
        assert row is not None and row["status"] == status
    assert parse_row(json.dumps({"kind": "end", "status": "exploded", "epoch": 1, "step": 2})) is None
