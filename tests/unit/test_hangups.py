"""Headless runs on the unhappy paths of SSH: nohup, a terminal that hangs up, output
that goes away, Ctrl+C at any moment, a full or read-only disk, a run that diverges."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core import checkpoint
from core.runfolder import LAST, METRICS_JSONL, read_rows
from tests.helpers import hang_ups_at_default, write_split

ROOT = Path(__file__).resolve().parents[2]
EXE = [sys.executable, "-m", "tui.cli"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("hu-data"), 600, 200)


def start(data, run_dir, *extra, **kw):
    kw.setdefault("preexec_fn", hang_ups_at_default)
    return subprocess.Popen([*EXE, "--data-dir", str(data), "--epochs", "500", "--no-plot",
                             "--run-dir", str(run_dir), *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def wait_for(proc, prefix):
    for line in proc.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the run ended before a line starting {prefix!r}")


def last_row(run_dir):
    rows, _ = read_rows(run_dir)
    return rows[-1]


def test_under_nohup_a_hang_up_is_ignored(data, tmp_path):
    """nohup sets SIGHUP to 'ignore' before the run starts: the run keeps it so."""
    proc = start(data, tmp_path / "r",
                 preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    wait_for(proc, "Train Epoch: 2 ")
    proc.send_signal(signal.SIGHUP)
    wait_for(proc, "Train Epoch: 4 ")  # still training after the hang-up
    proc.terminate()
    assert proc.wait(60) == 143
    assert last_row(tmp_path / "r")["signal"] == "SIGTERM"


def test_a_real_hang_up_saves_and_exits_129(data, tmp_path):
    """The run's terminal goes away (the pty closes): checkpoint, exit 129, although its
    last message can no longer be written anywhere."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a headless run on the pty
        hang_ups_at_default()
        os.chdir(ROOT)
        os.execv(sys.executable, [*EXE, "--headless", "--data-dir", str(data), "--epochs", "500",
                                  "--no-plot", "--run-dir", str(tmp_path / "r")])
    seen = b""
    while b"Train Epoch: 2 " not in seen:
        select.select([fd], [], [], 60)
        seen += os.read(fd, 4096)
    os.close(fd)  # hang up: the kernel sends SIGHUP to the run
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 129
    assert last_row(tmp_path / "r") | {"step": 0} == {
        "kind": "end", "status": "interrupted", "epoch": last_row(tmp_path / "r")["epoch"],
        "step": 0, "signal": "SIGHUP"}
    assert checkpoint.load(tmp_path / "r" / LAST)["step"] > 0


def test_output_that_goes_away_saves_and_ends_quietly(data, tmp_path):
    """`mnist-tui --headless ... | head -2`: exit 141 (SIGPIPE's), no traceback."""
    proc = start(data, tmp_path / "r")
    wait_for(proc, "Train Epoch: 2 ")
    proc.stdout.close()  # the reader goes away
    assert proc.wait(60) == 141
    err = proc.stderr.read()
    assert err == "", err
    assert last_row(tmp_path / "r")["signal"] == "SIGPIPE"
    assert checkpoint.load(tmp_path / "r" / LAST)["step"] > 0


def test_a_shell_pipe_into_head(data, tmp_path):
    out = subprocess.run(f"{sys.executable} -m tui.cli --headless --data-dir {data} --epochs 50 "
                         f"--run-dir {tmp_path / 'r'} | head -2; echo \"status ${{PIPESTATUS[0]}}\"",
                         shell=True, executable="/bin/bash", cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.stdout.splitlines()[0] == f"Run folder: {tmp_path / 'r'}"
    assert out.stdout.splitlines()[-1] == "status 141" and out.stderr == ""


def test_ctrl_c_at_any_moment_is_exit_130_without_a_traceback(monkeypatch, capsys):
    """Even while PyTorch is being imported (the first half second): the import is
    interrupted here, and main answers 130."""
    import builtins

    from tui.cli import main

    real_import = builtins.__import__

    def interrupted(name, *args, **kw):
        if name == "torch" or name.startswith("torch."):
            raise KeyboardInterrupt
        return real_import(name, *args, **kw)

    # As in a fresh process: neither PyTorch nor the modules that import it are loaded
    # (monkeypatch puts them back afterwards).
    uses_torch = ("core.datasets", "core.training", "core.network", "core.inspect", "core.session")
    for mod in [m for m in sys.modules if m == "torch" or m.startswith("torch.") or m in uses_torch]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert main(["--headless", "--epochs", "1"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_the_command_line_starts_without_pytorch():
    """So that Ctrl+C and --help never wait for (or break inside) the PyTorch import."""
    code = "import sys, tui.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_a_diverged_run_exits_3(data, tmp_path, capsys):
    from tui.cli import main

    r = tmp_path / "r"
    assert main(["--headless", "--no-plot", "--data-dir", str(data), "--epochs", "1",
                 "--run-dir", str(r)]) == 0
    state = torch.load(r / LAST, weights_only=True)
    # finite weights so large that the next forward pass overflows: the loss turns NaN
    # (a checkpoint holding NaN itself is refused before training: test_refusals.py)
    state["model"]["layers.4.weight"].fill_(3e38)
    torch.save(state, r / LAST)
    capsys.readouterr()
    assert main(["--headless", "--no-plot", "--resume", str(r), "--epochs", "2"]) == 3
    assert "lower the learning rate" in capsys.readouterr().err


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "1500k"):
        pytest.skip("needs root and tmpfs to make a small disk")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_really_full_disk(data, small_disk):
    """A 1.5 MB tmpfs as run folder: a checkpoint does not fit."""
    r = small_disk / "r"
    out = subprocess.run([*EXE, "--headless", "--no-plot", "--data-dir", str(data), "--epochs",
                          "3", "--run-dir", str(r)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 74, out.stderr
    assert out.stderr.count("\n") == 1
    assert "could not write (no space left on the device)" in out.stderr
    assert "Traceback" not in out.stderr
    checkpoint.load(r / LAST)  # the one that fitted is still readable
    assert not [p for p in r.iterdir() if p.name.endswith(".tmp")]


def test_a_read_only_run_folder(data, tmp_path, small_disk, capsys):
    """In this process (the exit status of a full disk is test_a_really_full_disk's)."""
    from tui.cli import main

    r = small_disk / "r"
    src = tmp_path / "src"
    assert main(["--headless", "--no-plot", "--data-dir", str(data), "--epochs", "1",
                 "--run-dir", str(src)]) == 0
    shutil.copytree(src, r)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    capsys.readouterr()
    code = main(["--headless", "--no-plot", "--resume", str(r), "--epochs", "2"])
    err = capsys.readouterr().err
    assert code == 74 and err.count("\n") == 1, err
    assert "read-only file system" in err and "Traceback" not in err
    assert (r / METRICS_JSONL).read_bytes() == (src / METRICS_JSONL).read_bytes()
