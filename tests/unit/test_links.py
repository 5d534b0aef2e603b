"""No write, append or lock follows a link or leaves the run folder (issue 25, part 1).

A run folder is often shared, so anyone who can write into it can plant a link. Each
class of case is generated over every file a run writes (``WRITTEN``: the lock and the
run files), and each checks that the file outside (the "victim") is byte-identical or
was never created, that the refusal is one line naming the link with exit 2, and that
the folder is left exactly as it was."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from core import checkpoint, safewrite
from core.drawing import DRAWINGS, IMAGES_FILE, LABELS_FILE, save_drawing
from core.errors import UnsafeFileError, WriteError
from core.runfolder import (
    CONFIG, FIRST_WEIGHTS, LAST, LOCK, RUN_FILES, TEST_LAST, WRITTEN, RunFolder,
    remove_stale_temporaries,
)
from tests.helpers import write_split

VICTIM_BYTES = b"someone else's file\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("links-data"), 600, 200)


@pytest.fixture(scope="module")
def made(data, tmp_path_factory):
    """A finished one-epoch run, with its report (every run file there)."""
    a = tmp_path_factory.mktemp("links-made") / "a"
    assert headless("--data-dir", data, "--epochs", "1", "--run-dir", a, "--report") == 0
    assert {p.name for p in a.iterdir()} >= set(RUN_FILES)
    return a


@pytest.fixture
def run_a(made, tmp_path):
    return shutil.copytree(made, tmp_path / "a", copy_function=shutil.copy2, symlinks=True)


@pytest.fixture
def outside(tmp_path):
    d = tmp_path / "outside"
    d.mkdir()
    return d


def headless(*args, **kw):
    from tui.cli import main

    return main(["--headless", "--no-plot", *map(str, args)], **kw)


def snapshot(folder: Path) -> dict[str, object]:
    """Everything in ``folder`` (links as their targets, files as their bytes and mode)."""
    out: dict[str, object] = {}
    for p in sorted(folder.iterdir()):
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            out[p.name] = ("link", os.readlink(p))
        elif stat.S_ISREG(st.st_mode):
            out[p.name] = ("file", p.read_bytes(), stat.S_IMODE(st.st_mode))
        else:
            out[p.name] = ("other", stat.S_IFMT(st.st_mode))
    return out


def plant(path: Path, kind: str, victim: Path) -> None:
    """A link to a victim that does not exist yet ("dangling"), or to one that does
    ("victim"); or a named pipe ("fifo")."""
    if kind == "fifo":
        os.mkfifo(path)
        return
    if kind == "victim":
        victim.write_bytes(VICTIM_BYTES)
    path.symlink_to(victim)


def assert_refused(code: int, err: str, path: Path) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and str(path) in err, err
    assert "Traceback" not in err


def assert_victim_safe(kind: str, victim: Path, outside: Path) -> None:
    if kind == "victim":
        assert victim.read_bytes() == VICTIM_BYTES
    assert sorted(p.name for p in outside.iterdir()) == ([victim.name] if kind == "victim" else [])


# ---------------------------------------------------------------------- a new run

@pytest.mark.parametrize("kind", ["dangling", "victim", "fifo"])
@pytest.mark.parametrize("name", WRITTEN)
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_new_run_refuses_a_link_where_a_run_file_goes(data, tmp_path, outside, capsys,
                                                        name, kind, overwrite):
    b, victim = tmp_path / "b", outside / "victim"
    b.mkdir()
    plant(b / name, kind, victim)
    before = snapshot(b)
    code = headless("--data-dir", data, "--epochs", "1", "--run-dir", b,
                    *(["--overwrite"] if overwrite else []))
    assert_refused(code, capsys.readouterr().err, b / name)
    assert snapshot(b) == before  # nothing written before the refusal (no .lock either)
    assert_victim_safe(kind, victim, outside)


@pytest.mark.parametrize("name", WRITTEN)
def test_resume_in_place_refuses_a_link_where_a_run_file_goes(run_a, outside, capsys, name):
    """The run's own file moved out and linked back: reading through the link would
    work, yet nothing is written through it (the .lock's pid, the metrics rewritten)."""
    victim = outside / name
    shutil.move(run_a / name, victim)
    (run_a / name).symlink_to(victim)
    kept, before = victim.read_bytes(), snapshot(run_a)
    code = headless("--resume", run_a, "--epochs", "2")
    assert_refused(code, capsys.readouterr().err, run_a / name)
    assert snapshot(run_a) == before
    assert victim.read_bytes() == kept and [p.name for p in outside.iterdir()] == [name]


# ---------------------------------------------------------- --resume A --run-dir B

@pytest.mark.parametrize("kind", ["dangling", "victim"])
@pytest.mark.parametrize("name", WRITTEN)
def test_a_fork_refuses_a_link_in_the_new_folder(run_a, tmp_path, outside, capsys, name, kind):
    b, victim = tmp_path / "b", outside / "victim"
    b.mkdir()
    plant(b / name, kind, victim)
    before_a, before_b = snapshot(run_a), snapshot(b)
    code = headless("--resume", run_a, "--run-dir", b, "--epochs", "2")
    assert_refused(code, capsys.readouterr().err, b / name)
    assert snapshot(b) == before_b and snapshot(run_a) == before_a
    assert_victim_safe(kind, victim, outside)


@pytest.mark.parametrize("name", WRITTEN)
def test_a_fork_over_a_run_with_overwrite_refuses_a_link(run_a, tmp_path, outside, capsys, name):
    """B holds a run whose file is a link to an existing file outside: --overwrite
    replaces B's run, never what the link points to."""
    b, victim = shutil.copytree(run_a, tmp_path / "b"), outside / "victim"
    (b / name).unlink(missing_ok=True)
    plant(b / name, "victim", victim)
    before = snapshot(b)
    code = headless("--resume", run_a, "--run-dir", b, "--overwrite", "--epochs", "2")
    assert_refused(code, capsys.readouterr().err, b / name)
    assert snapshot(b) == before
    assert_victim_safe("victim", victim, outside)


@pytest.mark.parametrize("name", RUN_FILES)
def test_a_fork_refuses_a_link_in_the_source_before_copying(run_a, tmp_path, outside, capsys,
                                                           name):
    """A's file is a link (to a copy of itself, so that reading it works): nothing of A
    is copied into B through it, and B gets nothing at all."""
    victim = outside / name
    shutil.move(run_a / name, victim)
    (run_a / name).symlink_to(victim)
    kept = victim.read_bytes()
    code = headless("--resume", run_a, "--run-dir", tmp_path / "b", "--epochs", "2")
    assert_refused(code, capsys.readouterr().err, run_a / name)
    assert victim.read_bytes() == kept
    assert not (tmp_path / "b").exists()  # the folder it made for the run is gone again


def test_a_forked_run_takes_the_new_folders_umask(data, tmp_path, capsys):
    """A run made under umask 077, continued elsewhere under 022: every file 644."""
    a, b = tmp_path / "a", tmp_path / "b"
    old = os.umask(0o077)
    try:
        assert headless("--data-dir", data, "--epochs", "1", "--run-dir", a, "--report") == 0
    finally:
        os.umask(0o022)
    try:
        assert headless("--resume", a, "--run-dir", b, "--epochs", "2") == 0
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in a.iterdir()} == {0o600}
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in b.iterdir()}
    assert set(modes.values()) == {0o644}, modes
    assert {CONFIG, LAST, "checkpoint-best.pt", "summary.json"} <= set(modes)
    # the copy keeps its original's time (the runs table's "started")
    assert (b / CONFIG).stat().st_mtime_ns == (a / CONFIG).stat().st_mtime_ns


def test_a_fork_with_overwrite_leaves_nothing_of_the_old_run(run_a, data, tmp_path, capsys):
    """B's files that A lacks go: they were of another run (here B's latest predictions
    and first-layer weights, which `watch` would show beside A's curves)."""
    b = tmp_path / "b"
    assert headless("--data-dir", data, "--epochs", "1", "--lr", "0.05", "--run-dir", b) == 0
    for name in (TEST_LAST, FIRST_WEIGHTS):
        (run_a / name).unlink()
    assert headless("--resume", run_a, "--run-dir", b, "--overwrite") == 0  # (no test runs)
    assert not (b / TEST_LAST).exists() and not (b / FIRST_WEIGHTS).exists()
    assert checkpoint.load(b / LAST)["hparams"] == checkpoint.load(run_a / LAST)["hparams"]


# ---------------------------------------------------------- the run folder itself

def test_a_run_folder_that_is_a_link_is_refused(data, run_a, tmp_path, outside, capsys):
    link = tmp_path / "b"
    link.symlink_to(outside)
    code = headless("--data-dir", data, "--epochs", "1", "--run-dir", link)
    assert_refused(code, capsys.readouterr().err, link)
    assert list(outside.iterdir()) == []
    # --resume through a link to a real run: the run is read, but not written there
    latest = tmp_path / "latest"
    latest.symlink_to(run_a)
    before = snapshot(run_a)
    assert_refused(headless("--resume", latest, "--epochs", "2"), capsys.readouterr().err, latest)
    assert snapshot(run_a) == before


def test_the_folders_above_the_run_folder_may_be_links(data, tmp_path, outside, capsys):
    (tmp_path / "runs").symlink_to(outside)
    assert headless("--data-dir", data, "--epochs", "1", "--run-dir", tmp_path / "runs" / "r") == 0
    assert (outside / "r" / LAST).is_file()


def test_the_dashboard_refuses_before_its_screen_opens(tmp_path, outside, capsys, monkeypatch):
    from core.session import RunSpec
    from tui import bridge
    from tui.cli import _dashboard

    def no_start(spec):
        raise AssertionError("the training process was started")

    monkeypatch.setattr(bridge, "ProcessTransport", no_start)

    b = tmp_path / "b"
    b.mkdir()
    (b / LOCK).symlink_to(outside / "victim")
    code = _dashboard(RunSpec(run_dir=str(b)), argparse.Namespace(ascii=False))
    assert_refused(code, capsys.readouterr().err, b / LOCK)
    assert list(outside.iterdir()) == [] and [p.name for p in b.iterdir()] == [LOCK]


# ---------------------------------------------------------- during a run

def test_a_link_planted_during_a_run_is_refused_and_nothing_written_through_it(
        data, tmp_path, outside, capsys, monkeypatch):
    """test-last.json replaced by a link after the first test: the next test's write is
    refused (exit 2, one line); the checkpoint before it still loads."""
    r, victim = tmp_path / "r", outside / "victim"
    real_after_test = RunFolder.after_test

    def after_test(self, state, accuracy):
        real_after_test(self, state, accuracy)
        if not (self.path / TEST_LAST).is_symlink():
            (self.path / TEST_LAST).unlink()
            (self.path / TEST_LAST).symlink_to(victim)

    monkeypatch.setattr(RunFolder, "after_test", after_test)
    code = headless("--data-dir", data, "--epochs", "2", "--run-dir", r)
    assert_refused(code, capsys.readouterr().err, r / TEST_LAST)
    assert list(outside.iterdir()) == []
    assert checkpoint.load(r / LAST)["epoch"] == 0


def test_a_temporary_file_is_never_an_existing_one(tmp_path, outside, monkeypatch):
    """The temporary name is taken with O_EXCL | O_NOFOLLOW: a link planted under the
    very name drawn is skipped for another name, and nothing goes through it."""
    names = iter(["planted", "fresh"])
    monkeypatch.setattr(safewrite.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".config.json.planted.tmp").symlink_to(outside / "victim")
    safewrite.atomic_write_bytes(tmp_path / CONFIG, lambda f: f.write(b"{}"))
    assert (tmp_path / CONFIG).read_bytes() == b"{}" and list(outside.iterdir()) == []
    assert (tmp_path / ".config.json.planted.tmp").is_symlink()
    remove_stale_temporaries(tmp_path)  # stale ones go (the link, not what it names)
    assert not os.path.lexists(tmp_path / ".config.json.planted.tmp")


# ---------------------------------------------------------- the drawings store

@pytest.mark.parametrize("where", [DRAWINGS, f"{DRAWINGS}/{IMAGES_FILE}", f"{DRAWINGS}/{LABELS_FILE}"])
def test_the_drawings_store_refuses_links(tmp_path, outside, where):
    run = tmp_path / "r"
    (run / DRAWINGS).mkdir(parents=True)
    if where == DRAWINGS:
        (run / DRAWINGS).rmdir()
        (run / DRAWINGS).symlink_to(outside, target_is_directory=True)
    else:
        plant(run / where, "victim", outside / "victim")
    before = snapshot(outside)
    with pytest.raises(UnsafeFileError, match=f"^{re.escape(str(run / where))}: is a symbolic link"):
        save_drawing(run, np.zeros((28, 28), np.uint8), 3)
    assert snapshot(outside) == before


# ---------------------------------------------------------- deleting (mnist-tui runs)

def test_delete_removes_links_inside_a_run_never_what_they_name(run_a, tmp_path, outside):
    (outside / "keep").write_bytes(VICTIM_BYTES)
    (outside / "sub").mkdir()
    (outside / "sub" / "keep").write_bytes(VICTIM_BYTES)
    (run_a / "to-a-file").symlink_to(outside / "keep")
    (run_a / "to-a-folder").symlink_to(outside / "sub", target_is_directory=True)
    before = snapshot(outside)
    safewrite.remove_folder(tmp_path, run_a)
    assert not run_a.exists() and snapshot(outside) == before
    assert (outside / "sub" / "keep").read_bytes() == VICTIM_BYTES


@pytest.mark.parametrize("swapped", ["group", "group/run"])
def test_delete_refuses_a_folder_swapped_for_a_link(run_a, tmp_path, outside, swapped):
    """Listed as root/group/run, then `group` (or `run`) replaced by a link to a folder
    outside the root holding the same names: nothing outside is deleted."""
    root, listed = tmp_path / "root", tmp_path / "root" / "group" / "run"
    listed.parent.mkdir(parents=True)
    shutil.move(run_a, listed)
    decoy = outside / "group" / "run" if swapped == "group" else outside / "run"
    shutil.copytree(listed, decoy)
    shutil.rmtree(root / swapped)
    (root / swapped).symlink_to(decoy.parent if swapped == "group" else decoy,
                                target_is_directory=True)
    before = snapshot(decoy)
    with pytest.raises(UnsafeFileError, match=f"^{re.escape(str(root / swapped))}: is a symbolic link"):
        safewrite.remove_folder(root, listed)
    assert snapshot(decoy) == before


def test_writer_errors_are_write_errors(tmp_path, outside):
    """A refusal during a run is handled as any failed write (the dashboard pauses and
    says so; headless exits), with exit 2."""
    (tmp_path / CONFIG).symlink_to(outside / "victim")
    with pytest.raises(WriteError) as exc:
        safewrite.atomic_write_bytes(tmp_path / CONFIG, lambda f: f.write(b"x"))
    assert exc.value.exit_code == 2 and list(outside.iterdir()) == []


def test_a_delete_that_fails_is_one_line(tmp_path):
    with pytest.raises(WriteError, match=r"gone: not deleted \(No such file or directory\)$"):
        safewrite.remove_folder(tmp_path, tmp_path / "group" / "gone")
