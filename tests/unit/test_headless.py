"""Headless runs: the tutorial's lines, exit codes, the run folder, resume, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core import checkpoint
from tests.helpers import hang_ups_at_default, write_split

EXE = [sys.executable, "-m", "tui.cli"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("hl"), 1000, 300)


def run(*args, **kw):
    """``mnist-tui ARGS`` as a process of its own: for what only a process shows (its exit
    status, its signals, what reaches a pipe)."""
    return subprocess.run([*EXE, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, **kw)


def cli(capsys, *args) -> tuple[int, str, str]:
    """``mnist-tui ARGS`` in this process (the command's ``main``, whose return value
    the process exits with): (exit code, stdout, stderr)."""
    from tui.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def one_epoch(data, tmp_path_factory):
    """A finished one-epoch run (lr 0.2, 20 steps), made once; tests resume copies of it."""
    from tui.cli import main

    folder = tmp_path_factory.mktemp("hl-run") / "r"
    assert main(["--data-dir", str(data), "--epochs", "1", "--no-plot", "--run-dir", str(folder)]) == 0
    return folder


@pytest.fixture
def finished(one_epoch, tmp_path):
    import shutil

    return Path(shutil.copytree(one_epoch, tmp_path / "r"))


def test_headless_lines_folder_and_exit_code(data, tmp_path):
    out = run("--data-dir", str(data), "--epochs", "2", "--run-dir", str(tmp_path / "r"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"Run folder: {tmp_path / 'r'}"
    tests = [ln for ln in lines if ln.startswith("Test set: Avg. loss: ")]
    assert len(tests) == 3 and all(ln.endswith("%)") and "/300 (" in ln for ln in tests)
    assert "Train Epoch: 1 [0/1000 (0%)]\tLoss: " in out.stdout
    assert "Total epochs: 2" in lines and any(ln.startswith("Max Accuracy is: ") for ln in lines)
    assert "\r" not in out.stdout and "\x1b" not in out.stdout
    assert "number of training examples seen" in out.stdout  # the text plot
    r = tmp_path / "r"
    assert {p.name for p in r.iterdir()} >= {"config.json", "metrics.csv", "metrics.jsonl",
                                              "checkpoint-last.pt", "checkpoint-best.pt"}
    config = json.loads((r / "config.json").read_text())
    assert config["hparams"]["epochs"] == 2 and config["dataset"] == "mnist"
    rows = [json.loads(x) for x in (r / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in rows if x["kind"] == "test"] == [0, 1, 2]
    assert (r / "metrics.csv").read_text().startswith("kind,epoch,step,seen,loss,accuracy")
    state = checkpoint.load(r / "checkpoint-last.pt")
    assert state["epoch"] == 2 and len(state["history"]["test_accuracy"]) == 3


def test_no_plot_and_bad_flags(data, tmp_path):
    out = run("--data-dir", str(data), "--epochs", "1", "--no-plot", "--run-dir", str(tmp_path / "r"))
    assert out.returncode == 0 and "number of training examples seen" not in out.stdout
    bad = run("--lr", "-1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--lr: must be greater than 0" in bad.stderr and "Traceback" not in bad.stderr
    bad = run("--hidden", "10,x")
    assert bad.returncode == 2 and "--hidden" in bad.stderr


def test_bad_data_exits_2_with_one_line(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (d / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    code, _, err = cli(capsys, "--data-dir", d, "--headless", "--run-dir", tmp_path / "r")
    assert code == 2
    assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1
    assert "train-images-idx3-ubyte.gz" in err and "truncated" in err


def test_damaged_run_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    code, _, err = cli(capsys, "--headless", "--resume", tmp_path / "r")
    assert code == 2 and "config.json: missing" in err
    (tmp_path / "r" / "config.json").write_text('{"format": "mnist-tui-run"}')
    code, _, err = cli(capsys, "--headless", "--resume", tmp_path / "r")
    assert code == 2 and "config.json: dataset: must be one of" in err
    (tmp_path / "r" / "config.json").write_text(
        '{"format": "mnist-tui-run", "dataset": "mnist", "hparams": {}}')
    (tmp_path / "r" / "checkpoint-last.pt").write_bytes(b"garbage")
    code, _, err = cli(capsys, "--headless", "--resume", tmp_path / "r")
    assert code == 2 and "not a readable checkpoint" in err
    assert err.count("\n") == 1


def _start(data, run_dir, epochs=6):
    return subprocess.Popen([*EXE, "--data-dir", str(data), "--epochs", str(epochs), "--no-plot",
                             "--run-dir", str(run_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=hang_ups_at_default)


def _wait_for_line(proc, prefix):
    for line in proc.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"no line starting with {prefix!r}")


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signals_save_a_checkpoint_and_exit(data, tmp_path, sig, code):
    proc = _start(data, tmp_path / "r", epochs=200)
    _wait_for_line(proc, "Train Epoch: 2 ")
    proc.send_signal(sig)
    proc.wait(60)
    assert proc.returncode == code
    err = proc.stderr.read()
    assert "checkpoint saved" in err and "Traceback" not in err
    state = checkpoint.load(tmp_path / "r" / "checkpoint-last.pt")
    assert state["step"] > 20


def test_kill_9_leaves_a_loadable_checkpoint(data, tmp_path):
    proc = _start(data, tmp_path / "r", epochs=200)
    _wait_for_line(proc, "Train Epoch: 3 ")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    state = checkpoint.load(tmp_path / "r" / "checkpoint-last.pt")
    assert state["epoch"] >= 1
    leftovers = [p.name for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [] or all(p.startswith(".") for p in leftovers)


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(data, tmp_path, capsys):
    """Interrupted by a real SIGTERM (a process of its own), resumed in this process."""
    code, _, _ = cli(capsys, "--data-dir", data, "--epochs", "4", "--no-plot", "--run-dir", tmp_path / "a")
    assert code == 0
    proc = _start(data, tmp_path / "b", epochs=4)
    _wait_for_line(proc, "Train Epoch: 3 ")
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    assert proc.returncode == 143
    code, _, err = cli(capsys, "--headless", "--no-plot", "--resume", tmp_path / "b")
    assert code == 0, err
    a = checkpoint.load(tmp_path / "a" / "checkpoint-last.pt")["history"]
    b = checkpoint.load(tmp_path / "b" / "checkpoint-last.pt")["history"]
    assert a["train_loss"] == b["train_loss"]
    assert a["test_accuracy"] == b["test_accuracy"] and a["test_loss"] == b["test_loss"]
    rows = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in rows if x["kind"] == "test"] == [0, 1, 2, 3, 4]


def test_a_download_is_a_few_plain_lines():
    import io

    from core.datasets import DownloadProgress
    from tui.headless import Output, _DownloadLines

    out = io.StringIO()
    lines = _DownloadLines(Output(out))
    for done in range(0, 10_001, 100):
        lines(DownloadProgress("train-images-idx3-ubyte.gz", "http://x/", done, 10_000, 1, 4))
    text = out.getvalue()
    assert text.splitlines() == [
        f"Downloading train-images-idx3-ubyte.gz (1/4): {p}% of 10,000 bytes" for p in (0, 25, 50, 75, 100)]
    assert "\r" not in text


def test_resume_with_more_epochs_extends_a_finished_run(finished, capsys):
    code, out, err = cli(capsys, "--headless", "--no-plot", "--resume", finished, "--epochs", "2",
                         "--lr", "0.1")
    assert code == 0, err
    assert "Applied at step 20 (epoch 1): lr 0.2 → 0.1, epochs 1 → 2" in out
    tests = [ln for ln in out.splitlines() if ln.startswith("Test set:")]
    assert len(tests) == 1 and "Total epochs: 2" in out  # only the new epoch ran
    state = checkpoint.load(finished / "checkpoint-last.pt")
    assert state["epoch"] == 2 and state["hparams"]["lr"] == 0.1
    assert state["history"]["edits"][-1]["step"] == 20
    rows = [json.loads(x) for x in (finished / "metrics.jsonl").read_text().splitlines()]
    assert [r["changes"] for r in rows if r["kind"] == "edit"] == [{"lr": [0.2, 0.1], "epochs": [1, 2]}]


@pytest.mark.parametrize("flags, problem", [
    (["--hidden", "10"], "--hidden: a resumed run keeps it"),
    (["--epochs", "0"], "--epochs: "),
    (["--seed", "3"], "--seed: a resumed run keeps it"),
])
def test_resume_refuses_what_a_run_cannot_change(finished, capsys, flags, problem):
    code, _, err = cli(capsys, "--headless", "--resume", finished, *flags)
    assert code == 2 and problem in err and err.count("\n") == 1


def test_the_text_plot_tells_train_from_test_without_colour(data, tmp_path, capsys):
    """A braille line and x marks, named in the title (no legend over the data); each
    point on the row nearest its value."""
    from core.runs import load_curves
    from tests.plotcheck import assert_points_on_nearest_rows

    code, out, _ = cli(capsys, "--data-dir", data, "--epochs", "2", "--run-dir", tmp_path / "r")
    assert code == 0 and "Loss (⣀ train, x test)" in out, out
    plot = out[out.index("Loss (⣀"):]
    c = load_curves(tmp_path / "r")
    lines = plot.splitlines()
    cut = next(line for line in lines if "┐" in line).index("┐") + 1  # where the second plot starts
    loss = "\n".join(line[:cut] for line in lines)
    acc = "\n".join(line[cut:] for line in lines)
    assert_points_on_nearest_rows(loss, c.test_loss, "x")
    assert_points_on_nearest_rows(acc, c.test_accuracy, "x")
    assert not any(w in line for line in loss.splitlines()[2:-3] for w in ("train", "test"))
