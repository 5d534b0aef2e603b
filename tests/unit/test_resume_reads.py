"""`mnist-tui --resume RUN --headless`, from the command line to the first epoch,
reads each file of the run once and checks the checkpoint once: what the resume
learned is passed along (``core.session.Resumed``), never read again."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from core.runfolder import CONFIG, LAST, METRICS_JSONL
from tests.reads import ReadCounter
from tests.run_folders import real_run


class _FirstEpoch(io.StringIO):
    """stdout: the counts as they were when the resumed run printed its first Train
    Epoch line (the summary at the run's end reads the metrics again, for `runs`)."""

    def __init__(self, counter: ReadCounter):
        super().__init__()
        self.counter, self.at_first_epoch = counter, None

    def write(self, text: str) -> int:
        if self.at_first_epoch is None and "Train Epoch: " in text:
            self.at_first_epoch = (self.counter.run_files(), self.counter.checks)
        return super().write(text)


def test_headless_resume_reads_each_file_once(tiny_data, tmp_path, monkeypatch):
    from tui import cli

    run = tmp_path / "r"
    real_run(run, tiny_data, epochs=1)
    counter = ReadCounter(monkeypatch, run)
    out = _FirstEpoch(counter)
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(["--resume", str(run), "--headless", "--no-plot", "--epochs", "2"]) == 0
    assert "Test set: " in out.getvalue()  # it trained, from the checkpoint
    assert out.at_first_epoch == ({CONFIG: 1, LAST: 1, METRICS_JSONL: 1}, 1)


def test_the_dashboards_resume_reads_the_checkpoint_without_pytorch(tiny_data, tmp_path):
    """The dashboard's process never imports PyTorch: what it learns of the run it
    resumes (the hyperparameters it shows from its first frame) comes from
    ``checkpoint.peek``, the same values ``load`` gives, with nothing imported or called."""
    import subprocess

    from core import checkpoint

    run = tmp_path / "r"
    real_run(run, tiny_data, epochs=1)
    real_run(run, tiny_data, resume=True, lr=0.05, epochs=2)
    code = ("import sys; from tui import cli\n"
            f"args = cli.build_parser().parse_args(['--resume', {str(run)!r}])\n"
            "spec = cli.spec_from_args(args, cli.hparams_from_args(args), in_this_process=False)\n"
            "assert 'torch' not in sys.modules, 'PyTorch imported'\n"
            "print(spec.hparams.lr, spec.resumed.epoch, spec.resumed.state is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0.05", "2", "True"]
    last = run / LAST
    peeked, loaded = checkpoint.peek(last), checkpoint.load(last)
    assert checkpoint.check_plain(peeked, last) == checkpoint.check(loaded, last)
    assert [peeked[k] for k in ("epoch", "step", "seen", "history")] == \
        [loaded[k] for k in ("epoch", "step", "seen", "history")]


def test_a_checkpoint_whose_data_cannot_be_read_is_one_line(tmp_path):
    """A whole archive whose pickle is damaged: ``peek`` refuses it, naming the file."""
    import zipfile

    import pytest

    from core.checkpoint import CheckpointError, peek

    path = tmp_path / LAST
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00(X\x01")  # cut short
    with pytest.raises(CheckpointError, match=f"^{path}: not a readable checkpoint"):
        peek(path)
